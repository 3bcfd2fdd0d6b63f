import Foundation
import Testing
import _TestSupport

/// `dion train --overlap on|off` under a real `mpirun`: running the FSDP all-gathers and
/// reduce-scatters and the dp gradient buckets behind compute changes only when the ranks wait,
/// never what they compute or send. Losses must be bit-identical and every step's ledger bytes
/// (per axis) and collective count identical.
@Suite("dion train --overlap (mpirun)", .serialized)
struct TrainOverlapTests {
    struct Record: Decodable {
        let type: String
        let step: Int?
        let train_loss: Double?
        let val_loss: Double?
        let bytes_by_axis: [String: Int]?
        let collectives: Int?
        let comm_seconds: Double?
        let exposed_comm_seconds: Double?
    }

    static func train(mesh: String, overlap: String, extra: [String]) throws -> [Record] {
        let (result, records) = try TrainMultiRankTests.runTrain(["--mesh", mesh, "--overlap", overlap]
                                                                 + TrainMultiRankTests.model + extra, ranks: 4, as: Record.self)
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        return records
    }

    @Test("overlap on and off: bit-identical losses, identical bytes per axis and collectives per step",
          arguments: [("dp=4", ["--optimizer", "dion"]), ("fsdp=4", ["--optimizer", "dion"]),
                      ("dp=2,fsdp=2", ["--optimizer", "dion", "--grad-accum", "2"]),
                      ("dp=2,fsdp=2", ["--optimizer", "adamw", "--grad-clip", "0.5"]),
                      ("fsdp=2,tp=2", ["--optimizer", "dion"]), ("dp=4", ["--optimizer", "dion", "--sync", "compressed", "--rank-fraction", "1/8"]),
                      // The progress thread on (4 ranks on this machine's cores leave it off by default).
                      ("dp=2,fsdp=2", ["--optimizer", "adamw", "--progress-interval", "100"])])
    func identical(mesh: String, extra: [String]) throws {
        let on = try Self.train(mesh: mesh, overlap: "on", extra: extra)
        let off = try Self.train(mesh: mesh, overlap: "off", extra: extra)
        let (onSteps, offSteps) = (on.filter { $0.type == "step" }, off.filter { $0.type == "step" })
        let (onEvals, offEvals) = (on.filter { $0.type == "eval" }, off.filter { $0.type == "eval" })
        // Two steps, each evaluated: the comparison below ran on 2 + 2 records, not on none.
        #expect(onSteps.count == 2 && offSteps.count == 2 && onEvals.count == 2 && offEvals.count == 2,
                "\(mesh): \(onSteps.count) + \(onEvals.count) records with overlap, \(offSteps.count) + \(offEvals.count) without")
        var checks = 0
        for (a, b) in zip(onSteps, offSteps) {
            let loss = try #require(a.train_loss)
            #expect(loss.isFinite && loss.bitPattern == b.train_loss?.bitPattern, "\(mesh) step \(a.step ?? 0): \(loss) vs \(String(describing: b.train_loss))")
            let (bytesOn, bytesOff) = (a.bytes_by_axis ?? [:], b.bytes_by_axis ?? [:])
            #expect(bytesOn == bytesOff && a.collectives == b.collectives,
                    "\(mesh) step \(a.step ?? 0): \(bytesOn) \(a.collectives ?? 0) vs \(bytesOff) \(b.collectives ?? 0)")
            #expect((a.bytes_by_axis?.values.reduce(0, +) ?? 0) > 0, "\(mesh): nothing was sent")
            let (comm, exposed) = (try #require(a.comm_seconds), try #require(a.exposed_comm_seconds))
            #expect(exposed >= 0 && comm >= 0)
            checks += 1
        }
        for (a, b) in zip(onEvals, offEvals) {
            let loss = try #require(a.val_loss)
            #expect(loss.bitPattern == b.val_loss?.bitPattern, "\(mesh) eval: \(loss) vs \(String(describing: b.val_loss))")
            checks += 1
        }
        #expect(checks == 4, "\(mesh): \(checks) comparisons")
    }
}
