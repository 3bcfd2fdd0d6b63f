import ClusterModel
import Foundation
import Sharding
import Testing
import _TestSupport

/// `dion simulate` (the step plans priced by `ClusterModel`, no MPI) against the ledger of real
/// runs: `dion bench comm --model dion-train` under `mpirun` on R, F, T, R×F and F×T meshes must send
/// exactly the bytes `dion simulate --model dion-train --json` predicts for the same mesh, for Dion
/// at two rank fractions, Muon and AdamW.
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
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID()).json")
        let simulated = FileManager.default.temporaryDirectory.appendingPathComponent("simulate-\(UUID()).json")
        defer {
            try? FileManager.default.removeItem(at: json)
            try? FileManager.default.removeItem(at: simulated)
        }
        let optimizers = "dion:0.25,dion:1/16,muon,adamw"
        let result = try MPIJob(executable: dion, arguments: ["bench", "comm", "--mesh", mesh, "--model", "dion-train",
                                                             "--optimizers", optimizers, "--steps", "1", "--json", json.path],
                                ranks: ranks, timeout: 300).run()
        #expect(result.status == 0, "\(result)")
        let records = try JSONDecoder().decode([Record].self, from: Data(contentsOf: json))
        #expect(records.count == 4)
        let simulate = try MPIJob.runCommand([dion, "simulate", "--model", "dion-train", "--mesh", mesh, "--optimizers",
                                              optimizers, "--json", simulated.path])
        #expect(simulate.status == 0, "\(simulate)")
        let report = try JSONDecoder().decode(SimulationReport.self, from: Data(contentsOf: simulated))
        #expect(report.records.count == 4)
        for (record, predicted) in zip(records, report.records) {
            #expect(record.optimizer == predicted.optimizer)
            #expect(predicted.implemented.bytes_sent_per_rank == record.bytes_sent_per_rank,
                    "\(mesh) \(record.optimizer) \(record.rank_fraction): simulate \(predicted.implemented.bytes_by_axis), measured \(record.bytes_sent_per_rank)")
        }
    }
}
