import ClusterModel
import MPIShim
import Sharding
import Testing
@testable import Training

@Suite("Simulated clock: modelled time of a recorded collective")
struct SimulatedNetworkTests {
    @Test("a recorded collective gets its modelled time on the chosen cluster")
    func clock() throws {
        let mesh = try MeshShape(replicate: 2, fsdp: 8)
        let network = SimulatedNetwork(preset: try NetworkPreset.named("h100-nvlink-ib400"), mesh: mesh)
        let record = CollectiveRecord(operation: .allReduce, communicator: "fsdp", communicatorSize: 8, rank: 0,
                                      datatype: .float32, elementCount: 1_000_000, bytesSent: 0, bytesReceived: 0,
                                      startNanoseconds: 0, durationNanoseconds: 0, simulatedSeconds: nil)
        // fsdp × tp = 8 fits a node: NVLink, 2·3 log steps·5 µs + 2·7/8·4 MB / 450 GB/s.
        let latencyPart: Double = 2 * 3 * 5e-6
        let bandwidthPart: Double = 2 * 0.875 * 4e6 / 450e9
        let fsdpSeconds = network.seconds(for: record)
        #expect(abs(fsdpSeconds - (latencyPart + bandwidthPart)) < 1e-12)
        var dp = record
        dp.communicator = "dp"
        dp.communicatorSize = 2
        // dp spans 16 devices, more than a node: InfiniBand, 2·1·10 µs + 2·½·4 MB / 50 GB/s.
        let dpExpected: Double = 2 * 10e-6 + 4e6 / 50e9
        let dpSeconds = network.seconds(for: dp)
        #expect(abs(dpSeconds - dpExpected) < 1e-12)
    }
}
