import Testing
import _TestSupport

/// Device meshes and layouts under a real `mpirun` with 1, 2 and 4 processes.
@Suite("Sharding (mpirun)", .serialized)
struct ShardingMultiRankTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    @Test("scatter, gather and redistribute every layout on every mesh",
          arguments: [(1, "dp=1", 1793), (2, "dp=2", 3586), (2, "fsdp=2", 3052), (2, "tp=2", 3052), (4, "dp=4", 7172),
                      (4, "fsdp=4", 5568), (4, "tp=4", 5568), (4, "dp=2,fsdp=2", 6104), (4, "fsdp=2,tp=2", 5036),
                      (4, "dp=2,tp=2", 6104)])
    func layouts(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["sharding", mesh], ranks: ranks, timeout: 180).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("a block gathered and reduce-scattered as one message (AxisBatch) equals the per-matrix collectives",
          arguments: [(1, "dp=1", 144), (2, "fsdp=2", 288), (4, "fsdp=4", 576), (4, "fsdp=2,tp=2", 576),
                      (4, "dp=2,fsdp=2", 576)])
    func axisBatch(ranks: Int, mesh: String, checks: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["axis-batch", mesh], ranks: ranks, timeout: 180).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("a mesh that does not match the processes is rejected on every rank",
          arguments: [(2, ["fsdp=4"]), (4, ["dp=3"]), (4, ["fsdp=4", "dp=4"]), (4, ["dp=2,tp=2", "tp=4"])])
    func rejected(ranks: Int, meshes: [String]) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["mesh"] + meshes, ranks: ranks, timeout: 60).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        for rank in 0..<ranks {
            #expect(result.standardOutput.contains("REJECTED rank \(rank): mesh does not match the processes"),
                    "\(result)")
        }
    }
}
