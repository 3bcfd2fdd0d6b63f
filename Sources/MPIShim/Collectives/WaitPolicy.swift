import Foundation

/// How `Request.wait()` waits for a nonblocking collective.
///
/// `MPI_Wait` spins in Open MPI's progress loop, yielding the core only through `sched_yield`.
/// On a machine shared with other jobs, with more ranks than free cores, a spinning waiter takes
/// CPU time from the very ranks it waits for. `poll` spins for a short while and then tests the
/// request with a sleep between tests, giving the core away. Measured side by side (4 ranks on 2
/// cores, `dion train --mesh dp=4`, AdamW; docs/benchmarks.md, "Waiting for nonblocking
/// collectives"): with two other busy processes the step fell from 130 to 116 ms, on an otherwise
/// idle machine it rose from 54 to 56.5 ms. So `block` is the default and `poll` is chosen with
/// `DION_WAIT_SLEEP_US`.
///
/// Blocking collectives (`allReduce`, …) are not affected: they stay the MPI library's own calls.
public enum WaitPolicy: Sendable, Equatable, CustomStringConvertible {
    /// `MPI_Wait`.
    case block
    /// `MPI_Test` in a loop for `spinMicroseconds`, then `MPI_Test` with a sleep of
    /// `sleepMicroseconds` between tests, until the request completes.
    case poll(spinMicroseconds: UInt32, sleepMicroseconds: UInt32)

    /// How long `poll` spins before it sleeps: waits shorter than this cost no sleep latency.
    public static let spinMicroseconds: UInt32 = 1000

    /// The environment variable that chooses `poll`: a sleep in microseconds, 1 to 1,000,000
    /// (`0`, an invalid value or none: `block`).
    public static let variable = "DION_WAIT_SLEEP_US"

    /// The policy `value` of `DION_WAIT_SLEEP_US` selects.
    public static func decide(_ value: String?) -> WaitPolicy {
        guard let value, let microseconds = UInt32(value.trimmingCharacters(in: .whitespaces)),
              (1...1_000_000).contains(microseconds) else { return .block }
        return .poll(spinMicroseconds: spinMicroseconds, sleepMicroseconds: microseconds)
    }

    /// This process's policy, read once from `DION_WAIT_SLEEP_US`.
    public static let current: WaitPolicy = decide(ProcessInfo.processInfo.environment[variable])

    public var description: String {
        switch self {
        case .block: "MPI_Wait"
        case .poll(let spin, let sleep): "MPI_Test for \(spin) µs, then every \(sleep) µs"
        }
    }
}
