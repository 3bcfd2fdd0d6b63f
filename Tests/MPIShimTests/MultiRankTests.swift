import Foundation
import Testing
import _TestSupport

/// The collectives under a real `mpirun` with 1, 2, 3 and 4 processes: the runner checks every
/// collective, type, uneven count, split, overlap and the ledger's bytes, and prints one PASS
/// line per rank.
@Suite("Multi-rank (mpirun)", .serialized)
struct MultiRankTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    @Test("every collective on every rank", arguments: [1, 2, 3, 4])
    func collectives(ranks: Int) throws {
        let checks = try #require(MPIJob.collectiveChecks[ranks])
        let path = try #require(Self.runner, "_MPITestRunner was not built next to the tests")
        let result = try MPIJob(executable: path, arguments: ["collectives"], ranks: ranks, timeout: 180).run()
        #expect(!result.timedOut, "\(result)")
        #expect(result.status == 0, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: checks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    /// A 4 MiB nonblocking all-reduce left alone: not completed after 200 ms without the progress
    /// thread (Open MPI moves it only inside MPI calls), completed after 2 s with it; the job then
    /// finalizes cleanly (the thread stops first).
    @Test("the progress thread moves a nonblocking collective nobody polls", arguments: [1, 2, 4])
    func progressThread(ranks: Int) throws {
        let path = try #require(Self.runner, "_MPITestRunner was not built next to the tests")
        let result = try MPIJob(executable: path, arguments: ["progress-thread"], ranks: ranks, timeout: 60).run()
        #expect(!result.timedOut, "\(result)")
        #expect(result.status == 0, "\(result)")
        #expect(result.ranChecks(ranks: ranks, total: 11 * ranks), "checks per rank \(result.checkCounts(ranks: ranks)): \(result)")
    }

    @Test("a rank that throws ends the whole job quickly, with its message", arguments: [(2, 1), (4, 2), (4, 0)])
    func throwingRankAbortsJob(ranks: Int, failing: Int) throws {
        let path = try #require(Self.runner, "_MPITestRunner was not built next to the tests")
        let result = try MPIJob(executable: path, arguments: ["throw-on-rank", "\(failing)"], ranks: ranks,
                                timeout: 30).run()
        #expect(!result.timedOut, "the job hung: \(result)")
        #expect(result.status != 0, "\(result)")
        #expect(result.seconds < 15, "\(result)")
        #expect(result.standardError.contains("[rank \(failing)/\(ranks)] error: injected failure on rank \(failing)"),
                "\(result)")
        #expect(!result.standardOutput.contains("unexpected"), "\(result)")
    }
}

/// A rank killed with SIGKILL in the middle of collectives ends the whole job, non-zero,
/// within 30 seconds (Open MPI's launcher notices the lost process and tears the job down).
@Suite("Killed rank (mpirun)", .serialized)
struct KilledRankTests {
    @Test("SIGKILL of one rank ends the job within 30 s", arguments: [(2, 1), (4, 2)])
    func sigkill(ranks: Int, victim: Int) throws {
        let path = try #require(MPIJob.builtProduct("_MPITestRunner"))
        nonisolated(unsafe) var killed = false
        let result = try MPIJob(executable: path, arguments: ["wait-for-kill"], ranks: ranks, timeout: 50).run { output in
            guard !killed, let pid = MPIJob.pid(ofRank: victim, in: output) else { return }
            killed = kill(pid, SIGKILL) == 0
        }
        #expect(killed, "the victim's pid never appeared: \(result)")
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(result.seconds < 30, "\(result)")
        #expect(!result.standardOutput.contains("unexpected"), "\(result)")
    }
}
