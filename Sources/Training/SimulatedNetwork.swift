import ClusterModel
import MPIShim
import Sharding

/// The simulated clock for real runs: every collective a communicator records also gets the time
/// it would take on a chosen cluster (`CollectiveRecord.simulatedSeconds`), from its operation,
/// element count and type, communicator size and the link its axis would run on.
public struct SimulatedNetwork: Sendable {
    public let preset: NetworkPreset
    public let mesh: MeshShape

    public init(preset: NetworkPreset, mesh: MeshShape) {
        self.preset = preset
        self.mesh = mesh
    }

    /// Modelled seconds of one recorded collective. The communicator label names the axis
    /// (`dp`, `fsdp`, `tp`); any other label is treated as spanning the whole mesh.
    public func seconds(for record: CollectiveRecord) -> Double {
        let axis: MeshAxis? = MeshAxis.allCases.first { $0.label == record.communicator }
        let (bandwidth, latency) = preset.link(axis, mesh: mesh)
        let bytes = Double(record.elementCount * record.datatype.size)
        let g = record.communicatorSize
        switch record.operation {
        case .allReduce, .iAllReduce:
            return CollectiveTime.seconds(.allReduce, bytes: bytes, ranks: g, bandwidth: bandwidth, latency: latency)
        case .reduceScatter, .iReduceScatter:
            return CollectiveTime.seconds(.reduceScatter, bytes: bytes, ranks: g, bandwidth: bandwidth, latency: latency)
        case .allGather, .iAllGather, .broadcast:
            return CollectiveTime.seconds(.allGather, bytes: bytes, ranks: g, bandwidth: bandwidth, latency: latency)
        case .allToAll:
            return CollectiveTime.seconds(.allToAll, bytes: bytes, ranks: g, bandwidth: bandwidth, latency: latency)
        case .barrier:
            return g > 1 ? Double(Int.bitWidth - (g - 1).leadingZeroBitCount) * latency : 0
        }
    }

    /// Installs the clock on `ledger`: from now on every record carries its simulated time.
    public func attach(to ledger: CommunicationLedger) {
        let network = self
        ledger.setObserver { record in record.simulatedSeconds = network.seconds(for: record) }
    }
}
