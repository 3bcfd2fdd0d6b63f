import ClusterModel
import Foundation
import Sharding
import Testing
import _TestSupport

/// The cluster model's schedule of this implementation (`ImplementedSchedule`) against the ledger
/// of real runs: `dion bench comm --model dion-train` under `mpirun` on R, F, T, R×F and F×T meshes
/// (and the uneven shapes of a custom list) must send exactly the bytes the model predicts, for
/// Dion at two rank fractions, Muon and AdamW.
@Suite("cluster model bytes vs measured runs (mpirun)", .serialized)
struct ImplementedScheduleTests {
    struct Record: Decodable {
        let optimizer: String
        let rank_fraction: Double
        let bytes_sent_per_rank: Int
    }

    @Test("predicted bytes per rank per step equal the ledger's, exactly",
          arguments: [(2, "dp=2"), (4, "dp=4"), (4, "fsdp=4"), (4, "tp=4"), (4, "dp=2,fsdp=2"), (4, "fsdp=2,tp=2"),
                      (2, "fsdp=2"), (2, "tp=2")])
    func modelEqualsLedger(ranks: Int, mesh: String) throws {
        let dion = try #require(TrainMultiRankTests.dion)
        let model = try ModelDescription.named("dion-train")
        let matrices = model.matrices.filter { !$0.scalarOptimizer }
            .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let result = try MPIJob(executable: dion, arguments: ["bench", "comm", "--mesh", mesh, "--model", "dion-train",
                                                             "--optimizers", "dion:0.25,dion:1/16,muon,adamw", "--steps", "1",
                                                             "--json", json.path],
                                ranks: ranks, timeout: 300).run()
        #expect(result.status == 0, "\(result)")
        let records = try JSONDecoder().decode([Record].self, from: Data(contentsOf: json))
        #expect(records.count == 4)
        let shape = try MeshShape(parsing: mesh)
        for record in records {
            let optimizer: SimulatedOptimizer = switch record.optimizer {
            case "dion": .dion(rankFraction: record.rank_fraction)
            case "muon": .muon
            default: .adamw
            }
            let predicted = try ImplementedSchedule.bytesSent(optimizer, matrices: matrices, mesh: shape)
            #expect(predicted.total == record.bytes_sent_per_rank,
                    "\(mesh) \(record.optimizer) \(record.rank_fraction): model \(predicted.total) (\(predicted.byAxis)), measured \(record.bytes_sent_per_rank)")
        }
    }
}
