import CMPI
import CMPIShim
public func _probe() -> Int32 { var r: Int32 = 0; _ = CMPIShim_COMM_WORLD(); return r }
