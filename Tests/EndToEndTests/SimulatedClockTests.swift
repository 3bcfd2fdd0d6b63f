import Foundation
import Testing
import _TestSupport

/// The simulated cluster clock in real runs under `mpirun`: `dion train --simulate-network` reports
/// a modelled communication time per step that follows the preset's bandwidth, and
/// `dion bench collectives --simulate-network` reports the α–β model's time for each measured point.
@Suite("simulated clock in real runs (mpirun)", .serialized)
struct SimulatedClockTests {
    struct StepRecord: Decodable {
        let type: String
        let comm_bytes: Int?
        let simulated_comm_seconds: Double?
    }

    static func simulatedTrain(network: String) throws -> (result: MPIJob.Result, records: [StepRecord]) {
        try TrainMultiRankTests.runTrain(["--mesh", "dp=2,fsdp=2", "--simulate-network", network] + TrainMultiRankTests.model,
                                         ranks: 4, timeout: 120, as: StepRecord.self)
    }

    @Test("dion train --simulate-network reports modelled communication time that follows the preset")
    func trainClock() throws {
        let fast = try Self.simulatedTrain(network: "h100-nvlink-ib400")
        let slow = try Self.simulatedTrain(network: "ethernet-100g")
        for run in [fast, slow] {
            #expect(run.result.status == 0, "\(run.result)")
            #expect(run.result.standardOutput.contains("(simulated ") && run.result.standardOutput.contains("simulated comm time"),
                    "\(run.result)")
        }
        let fastSteps = fast.records.filter { $0.type == "step" }, slowSteps = slow.records.filter { $0.type == "step" }
        #expect(fastSteps.count == 2 && slowSteps.count == 2)
        for (a, b) in zip(fastSteps, slowSteps) {
            // Same collectives, same bytes; 4 ranks fit in one node, whose link is 450 GB/s on the
            // H100 preset and 300 GB/s on the Ethernet one (same 5 µs latency): slower, but < 1.5×.
            #expect(a.comm_bytes == b.comm_bytes && (a.comm_bytes ?? 0) > 0)
            let (x, y) = (a.simulated_comm_seconds ?? 0, b.simulated_comm_seconds ?? 0)
            #expect(x > 0 && y > x && y < 1.5 * x, "simulated \(x) s on H100, \(y) s on Ethernet")
        }
    }

    struct CollectivePoint: Decodable {
        let op: String
        let ranks: Int
        let bytes: Int
        let seconds: Double
        let model_seconds: Double
    }

    @Test("dion bench collectives --simulate-network gives each point the α–β time of the preset")
    func collectivesModel() throws {
        let dion = try #require(TrainMultiRankTests.dion)
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("coll-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let result = try MPIJob(executable: dion, arguments: ["bench", "collectives", "--simulate-network", "local-shm",
                                                             "--max-bytes", "65536", "--seconds-per-point", "0.005",
                                                             "--repeats", "1", "--json", json.path],
                                ranks: 2, timeout: 120).run()
        #expect(result.status == 0 && result.standardOutput.contains("model/best"), "\(result)")
        let points = try JSONDecoder().decode([CollectivePoint].self, from: Data(contentsOf: json))
        #expect(points.count == 9)
        for point in points {
            // local-shm: α = 2 µs, β = 5 GB/s; 2 ranks: one step; all-reduce twice the others.
            let oneWay = 2e-6 + 0.5 * Double(point.bytes) / 5e9
            let expected = point.op == "allreduce" ? 2 * oneWay : oneWay
            #expect(abs(point.model_seconds - expected) <= 1e-12, "\(point.op) \(point.bytes) B: \(point.model_seconds) vs \(expected)")
        }
    }
}
