import Foundation
import Testing
import _TestSupport

/// Distributed Dion, Muon, AdamW and Lion under a real `mpirun`: the equivalence oracle against their single-process versions on
/// every mesh with 1, 2 and 4 ranks (replicated, FSDP, tensor-parallel and FSDP × TP layouts, uneven
/// and empty shards), the "only rank-r factors cross fsdp and tp" property, and a clear refusal of
/// a mesh that does not match the processes.
@Suite("Distributed Dion (mpirun)", .serialized)
struct DistributedDionTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    @Test("five distributed steps equal five single-process steps",
          arguments: [(1, "dp=1", 711), (2, "dp=2", 1662), (2, "fsdp=2", 1168), (2, "tp=2", 3270), (4, "dp=4", 3324),
                       (4, "fsdp=4", 2336), (4, "tp=4", 6540), (4, "dp=2,fsdp=2", 2576), (4, "fsdp=2,tp=2", 8648),
                       (4, "dp=2,tp=2", 7020)])
    func equivalence(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["dion-equivalence", mesh], ranks: ranks, timeout: 300).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("Dion's backward stage equals the batched step (bit for bit with two fsdp ranks) and sends its bytes",
          arguments: [(1, "fsdp=1", 2), (2, "fsdp=2", 76), (3, "fsdp=3", 168), (4, "fsdp=4", 224), (4, "fsdp=2,tp=2", 432),
                      (4, "dp=2,fsdp=2", 8)])
    func backwardStage(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["dion-backward-stage", mesh], ranks: ranks, timeout: 300).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("a mesh that does not match the process count is refused on every rank, not hung")
    func meshMismatchRefused() throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["dion-equivalence", "dp=3"], ranks: 2, timeout: 60).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        for rank in 0..<2 {
            #expect(result.standardError.contains("[rank \(rank)/2] error: mesh does not match the processes"), "\(result)")
        }
    }
}
