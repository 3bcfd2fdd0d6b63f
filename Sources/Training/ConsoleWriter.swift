import Checkpointing
import Foundation

/// Rank 0's standard output, written by a thread of its own so that a slow reader never holds up
/// a training step.
///
/// Under `mpirun` a rank's standard output is a pseudo-terminal that the launcher drains; when it
/// falls behind, `write` blocks. On the emulated cluster, printing a line per 1 ms step, rank 0
/// sat seconds at a time in the terminal write while every other rank waited for it inside a
/// collective, until the watchdog ended the job (issue #17's flaky `hostKilled` test). Here the
/// step only appends the line to a queue. Progress lines are droppable: with `backlogLimit` lines
/// already waiting, a new one is counted instead of queued, and a note saying how many were left
/// out precedes the next line that is queued. Every other line (checkpoints, the summary) is
/// always written, in order.
final class ConsoleWriter: @unchecked Sendable {
    /// Lines waiting before progress lines are left out.
    static let backlogLimit = 256

    private let descriptor: CInt
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var queue: [String] = []
    private var leftOut = 0
    private var busy = false
    private var closing = false
    private var finished = false
    private var leftOutInAll = 0

    /// Starts the writer thread for `descriptor` (standard output unless a test says otherwise).
    init(descriptor: CInt = STDOUT_FILENO) {
        self.descriptor = descriptor
        let thread = Thread { [self] in self.run() }
        thread.name = "console-writer"
        thread.start()
    }

    /// Queues `line`; a `droppable` line is left out when `backlogLimit` lines are waiting.
    func enqueue(_ line: String, droppable: Bool) {
        condition.lock()
        defer { condition.unlock() }
        guard !closing else { return }
        if droppable && queue.count >= Self.backlogLimit {
            leftOut += 1
            leftOutInAll += 1
            return
        }
        if leftOut > 0 {
            queue.append("(\(leftOut) progress line\(leftOut == 1 ? "" : "s") not shown: standard output fell behind)")
            leftOut = 0
        }
        queue.append(line)
        condition.broadcast()
    }

    /// Progress lines left out so far.
    var totalLeftOut: Int {
        condition.lock()
        defer { condition.unlock() }
        return leftOutInAll
    }

    /// Blocks until every queued line is written, or `timeout` seconds passed; returns whether
    /// everything was written.
    @discardableResult
    func drain(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return waitLocked(seconds: timeout) { self.queue.isEmpty && !self.busy }
    }

    /// Lets the thread write what is queued and stop; later lines are ignored. Waits at most
    /// `timeout` seconds and returns whether the thread stopped: a reader that never reads must
    /// not keep a failing run from reporting its error and exiting (the thread then stays blocked
    /// in its write until the process ends). The thread holds the writer until it stops: its
    /// owner must call this (`TrainingOutput` does in its `deinit`).
    @discardableResult
    func close(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        closing = true
        condition.broadcast()
        return waitLocked(seconds: timeout) { self.finished }
    }

    /// With `condition` locked: waits until `done()` holds or `seconds` passed; returns `done()`.
    private func waitLocked(seconds: Double, until done: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !done() {
            if !condition.wait(until: deadline) { return done() }
        }
        return true
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !closing { condition.wait() }
            if queue.isEmpty { break }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            busy = true
            condition.unlock()
            // One write per line, as a line-buffered `print` would do: mpirun forwards what it reads
            // from each rank's terminal as it comes, and a batch written at once reached it in
            // pieces that other ranks' lines split (a test looking for another rank's "PID rank 1"
            // line found it after half a progress line). Best effort: a closed or full standard
            // output must not end the run.
            for line in batch { _ = DurableFile.writeAll(Array((line + "\n").utf8), to: descriptor) }
            condition.lock()
            busy = false
            condition.broadcast()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
