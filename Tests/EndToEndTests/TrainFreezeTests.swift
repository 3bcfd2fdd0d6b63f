import Foundation
import Testing
import _TestSupport

/// A training rank frozen with SIGSTOP (as a hung node or a paused VM would be) must not hang the
/// job: every live rank names it and the job exits non-zero within about the collective timeout.
@Suite("dion train with a frozen rank (mpirun)", .serialized)
struct TrainFreezeTests {
    @Test("SIGSTOP of one training rank ends the job within the timeout, named by every live rank",
          arguments: [(2, "dp=2", 1), (4, "fsdp=2,tp=2", 2)])
    func frozenRank(ranks: Int, mesh: String, frozen: Int) throws {
        let timeout = 4.0
        nonisolated(unsafe) var stoppedAt: Date?
        let result = try TrainFaultTests.run(ranks: ranks, mesh: mesh,
                                             ["--steps", "100000", "--debug-print-pids", "--collective-timeout", "\(timeout)"],
                                             timeout: 90) { output in
            guard stoppedAt == nil, output.contains("/100000 | loss"),
                  let pid = MPIJob.pid(ofRank: frozen, in: output), kill(pid, SIGSTOP) == 0 else { return }
            stoppedAt = Date()
        }
        let stopped = try #require(stoppedAt, "rank \(frozen)'s pid never appeared: \(result)")
        let afterStop = Date().timeIntervalSince(stopped)
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(afterStop < timeout + 8, "ended \(afterStop) s after the SIGSTOP: \(result)")
        for rank in 0..<ranks where rank != frozen {
            #expect(result.standardError.contains("[rank \(rank)/\(ranks)] error: collective watchdog: collective timeout: "
                                                  + "unresponsive ranks [\(frozen)]"), "\(result)")
        }
    }
}
