import Foundation
import Testing
import _TestSupport

/// Distributed Dion2, NorDion2 and NorMuon under a real `mpirun` (`_MPITestRunner dion2-equivalence`):
/// on every mesh with 1, 2 and 4 ranks, a batch of uneven shapes (130×70, 70×130, 3×5 with empty
/// shards) stepped three times per layout and selection mode must select what one process selects
/// (`exact`, `global`), match its weights within 1e-5 of the update (`local`: the single-process
/// evaluation of the per-shard rule), send exactly the bytes of `StepPlan.selective` on every axis,
/// and with `exact` move no more than the selected slices plus one fp64 score per slice. The totals
/// of checks over ranks are asserted, so a rank that skips checks fails the test.
@Suite("Distributed Dion2, NorDion2, NorMuon (mpirun)", .serialized)
struct DistributedDion2Tests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    @Test("distributed steps equal single-process steps, bytes equal the plan",
          arguments: [(1, "dp=1", 463), (2, "dp=2", 926), (2, "fsdp=2", 502), (2, "tp=2", 1350), (4, "dp=4", 1852),
                      (4, "fsdp=4", 1004), (4, "tp=4", 2700), (4, "dp=2,fsdp=2", 1004), (4, "fsdp=2,tp=2", 3164),
                      (4, "dp=2,tp=2", 2700)])
    func equivalence(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["dion2-equivalence", mesh], ranks: ranks, timeout: 300).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    /// `_MPITestRunner wire`: one step with `--wire bf16` against `--wire fp32` for Muon, Dion2
    /// (exact, global, local), NorDion2 and NorMuon on every layout of the mesh. The update may differ
    /// by no more than bf16 rounding of O allows — per element u·|d| (Muon, Dion2) or 6u·|d| (the
    /// normalized two), u = 2⁻⁸, plus 4 ulp — the ledger equals the plan on every axis, and the fp32
    /// step sends exactly twice the bf16 step's wire bytes (half the bytes with bf16).
    @Test("bf16 wire: update within bf16 rounding of fp32's, half the bytes, bytes equal the plan",
          arguments: [(1, "dp=1", 171), (2, "dp=2", 342), (2, "fsdp=2", 172), (2, "tp=2", 512), (4, "dp=4", 684),
                      (4, "fsdp=4", 344), (4, "tp=4", 1024), (4, "dp=2,fsdp=2", 344), (4, "fsdp=2,tp=2", 1160),
                      (4, "dp=2,tp=2", 1024)])
    func wire(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["wire", mesh], ranks: ranks, timeout: 300).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("bad input is refused on every rank with a clear error, not hung",
          arguments: [("fraction", 2, "dp=2", "fraction α must be in (0, 1], got 0.0"),
                      ("local", 2, "tp=2", "selection local picks the top-k of each shard"),
                      ("layout", 4, "fsdp=4", "replicates the matrix over fsdp ranks"),
                      ("layout", 2, "dp=2", "selection local picks the top-k of each shard")])
    func badInput(what: String, ranks: Int, mesh: String, message: String) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["dion2-refuse", what, mesh], ranks: ranks, timeout: 60).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(!result.standardOutput.contains("unexpected"), "\(result)")
        for rank in 0..<ranks {
            #expect(result.standardError.contains("[rank \(rank)/\(ranks)] error:"), "\(result)")
        }
        #expect(result.standardError.components(separatedBy: message).count - 1 == ranks, "\(result)")
    }
}
