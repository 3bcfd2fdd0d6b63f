import Foundation
import Testing
import _TestSupport

/// `--debug-collectives` and the collective watchdog under a real `mpirun`.
@Suite("Collective guards (mpirun)", .serialized)
struct GuardTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    @Test("every collective passes with both guards on", arguments: [1, 2, 4])
    func noFalseAlarms(ranks: Int) throws {
        let path = try #require(Self.runner)
        let checks = try #require(MPIJob.collectiveChecks[ranks])
        let result = try MPIJob(executable: path, arguments: ["collectives-guarded"], ranks: ranks, timeout: 180).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("a rank issuing a different collective is reported and the job ends", arguments: [(2, 1), (4, 3)])
    func mismatch(ranks: Int, odd: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["mismatch", "\(odd)"], ranks: ranks, timeout: 30).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(result.standardError.contains("ranks of 'world' issue different collectives"), "\(result)")
        #expect(result.standardError.contains("allGather(float32, \(3 * ranks) elements)"), "\(result)")
        #expect(result.standardError.contains("allReduce(float32, 1024 elements)"), "\(result)")
        #expect(!result.standardOutput.contains("unexpected"), "\(result)")
    }

    @Test("a stalled rank is named by the watchdog and the job ends", arguments: [(2, 1), (4, 2)])
    func stall(ranks: Int, stalled: Int) throws {
        let path = try #require(Self.runner)
        let result = try MPIJob(executable: path, arguments: ["stall", "\(stalled)", "60"], ranks: ranks, timeout: 45).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(result.seconds < 30, "\(result)")
        #expect(result.standardError.contains("collective allReduce on 'world' did not complete within 2.0 s"), "\(result)")
        #expect(result.standardError.contains("ranks that did not arrive: [\(stalled)]"), "\(result)")
    }

    @Test("a frozen rank (SIGSTOP) is named by every live rank and the job ends within the timeout",
          arguments: [(2, 1), (4, 2)])
    func frozen(ranks: Int, frozen: Int) throws {
        let path = try #require(Self.runner)
        // The bound counts from the freeze, not from the launch: under the full suite's load, starting
        // 4 ranks alone took seconds (a CI run ended 17.1 s after its launch). It allows 20 s: the
        // watchdog names the rank after 2 s, but under that load mpirun once took 21 s more to act on
        // the ranks' MPI_Abort (it had resumed the frozen rank, and every rank finished the
        // collective, before it ended them); `MPIRuntime.abort`'s backstop now ends an aborting rank
        // 5 s after its MPI_Abort. A hang runs into the job's 45 s timeout.
        nonisolated(unsafe) var frozenAt: Date?
        let result = try MPIJob(executable: path, arguments: ["freeze", "\(frozen)"], ranks: ranks, timeout: 45).run { output in
            if frozenAt == nil, output.contains("FROZEN rank \(frozen)") { frozenAt = Date() }
        }
        let ended = Date()
        #expect(result.standardOutput.contains("FROZEN rank \(frozen)"), "\(result)")
        #expect(!result.timedOut && result.status != 0, "\(result)")
        let afterFreeze = frozenAt.map { ended.timeIntervalSince($0) } ?? result.seconds
        #expect(afterFreeze < 20, "timeout 2 s: ended \(afterFreeze) s after the freeze was seen: \(result)")
        for rank in 0..<ranks where rank != frozen {
            #expect(result.standardError.contains("[rank \(rank)/\(ranks)] error: collective watchdog: collective timeout: "
                                                  + "unresponsive ranks [\(frozen)]"), "\(result)")
        }
        // The frozen rank, resumed by the abort, must not accuse the ranks that waited for it.
        #expect(!result.standardError.contains("[rank \(frozen)/\(ranks)] error"), "\(result)")
    }
}
