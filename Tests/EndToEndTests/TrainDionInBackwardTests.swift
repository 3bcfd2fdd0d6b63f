import Foundation
import Testing
import _TestSupport

/// `dion train --dion-in-backward on|off` under a real `mpirun`: starting Dion's fsdp reductions
/// and gathers during the backward (`DistributedDion.BackwardStage`) changes when bytes cross, not
/// what is computed or sent. With two fsdp ranks the losses are bit-identical (every reduction is
/// one sum of two terms), with more they agree within fp32 reassociation of the P₀ sums; the
/// bytes per axis are equal, and the stage issues its collectives per block (more of them), which
/// shows it ran (a skipped step has sent them before the vote).
/// Where it does not apply (dp, clipping) the two runs are the same run.
@Suite("dion train --dion-in-backward (mpirun)", .serialized)
struct TrainDionInBackwardTests {
    struct Record: Decodable {
        let type: String
        let step: Int?
        let train_loss: Double?
        let val_loss: Double?
        let skipped: Bool?
        let bytes_by_axis: [String: Int]?
        let collectives: Int?
    }

    /// Three steps, each evaluated (so the third's losses carry two updates, the second with a
    /// non-zero momentum).
    static func records(mesh: String, ranks: Int, stage: String, extra: [String]) throws -> [Record] {
        let (result, records) = try TrainMultiRankTests.runTrain(["--mesh", mesh, "--optimizer", "dion", "--dion-in-backward", stage]
                                                                 + TrainMultiRankTests.model + ["--steps", "3"] + extra,
                                                                 ranks: ranks, as: Record.self)
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        return records
    }

    @Test("on and off: the same losses and bytes per axis; the stage ran where it applies",
          arguments: [(2, "fsdp=2", [String](), true), (2, "fsdp=2", ["--grad-accum", "2", "--debug-nan-steps", "2"], true),
                      (2, "fsdp=2", ["--overlap", "off"], true), (4, "fsdp=2,tp=2", [], true), (4, "fsdp=4", [], true),
                      (3, "fsdp=3", ["--batch-size", "6"], true), (4, "dp=2,fsdp=2", [], false),
                      (2, "fsdp=2", ["--grad-clip", "1"], false), (2, "fsdp=2", ["--debug-collectives"], false),
                      // Per-call checks turn overlap off: dp buckets issued at points MPI's timing picks hung them.
                      (4, "dp=2,fsdp=2", ["--debug-collectives"], false)])
    func sameRun(ranks: Int, mesh: String, extra: [String], applies: Bool) throws {
        let onRecords = try Self.records(mesh: mesh, ranks: ranks, stage: "on", extra: extra)
        let offRecords = try Self.records(mesh: mesh, ranks: ranks, stage: "off", extra: extra)
        let (on, off) = (onRecords.filter { $0.type == "step" }, offRecords.filter { $0.type == "step" })
        let (onEvals, offEvals) = (onRecords.compactMap(\.val_loss), offRecords.compactMap(\.val_loss))
        #expect(on.count == 3 && off.count == 3, "\(mesh) \(extra): \(on.count) and \(off.count) steps")
        #expect(onEvals.count >= 3 && onEvals.count == offEvals.count, "\(mesh) \(extra): \(onEvals.count) and \(offEvals.count) evaluations")
        let skips = extra.contains("--debug-nan-steps") ? 1 : 0
        #expect(on.filter { $0.skipped == true }.count == skips && off.filter { $0.skipped == true }.count == skips,
                "\(mesh) \(extra): skipped steps")
        let bitwise = !mesh.contains("fsdp=4") && !mesh.contains("fsdp=3")
        var compared = 0
        for (a, b) in zip(on, off) {
            #expect(a.skipped == b.skipped, "\(mesh) step \(a.step ?? 0): skipped \(String(describing: a.skipped)) vs \(String(describing: b.skipped))")
            if a.skipped == true {
                #expect(a.train_loss == nil && b.train_loss == nil)
            } else {
                let (x, y) = (try #require(a.train_loss), try #require(b.train_loss))
                if bitwise {
                    #expect(x.isFinite && x.bitPattern == y.bitPattern, "\(mesh) step \(a.step ?? 0): \(x) vs \(y)")
                } else {
                    #expect(x.isFinite && abs(x - y) <= 1e-5 * abs(y), "\(mesh) step \(a.step ?? 0): \(x) vs \(y)")
                }
            }
            if a.skipped == true && applies {
                // The stage's reductions crossed during the backward before the vote skipped the step.
                #expect((a.bytes_by_axis?["fsdp"] ?? 0) > (b.bytes_by_axis?["fsdp"] ?? 0), "\(mesh) skipped step: \(a.bytes_by_axis ?? [:]) vs \(b.bytes_by_axis ?? [:])")
            } else {
                #expect(a.bytes_by_axis == b.bytes_by_axis, "\(mesh) step \(a.step ?? 0): \(a.bytes_by_axis ?? [:]) vs \(b.bytes_by_axis ?? [:])")
            }
            let (countOn, countOff) = (try #require(a.collectives), try #require(b.collectives))
            if applies {
                #expect(countOn > countOff, "\(mesh) step \(a.step ?? 0): \(countOn) collectives with the stage, \(countOff) without")
            } else {
                #expect(countOn == countOff, "\(mesh) step \(a.step ?? 0): \(countOn) vs \(countOff) collectives where the stage does not apply")
            }
            compared += 1
        }
        for (x, y) in zip(onEvals, offEvals) {
            if bitwise {
                #expect(x.isFinite && x.bitPattern == y.bitPattern, "\(mesh) validation: \(x) vs \(y)")
            } else {
                #expect(x.isFinite && abs(x - y) <= 1e-5 * abs(y), "\(mesh) validation: \(x) vs \(y)")
            }
            compared += 1
        }
        #expect(compared == 3 + onEvals.count)
    }
}
