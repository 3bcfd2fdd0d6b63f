#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanosecond clocks for the ledger: `CLOCK_MONOTONIC` for durations (one vDSO call, no
/// allocation) and the offset that turns it into wall time for traces.
enum MonotonicClock {
    @inline(__always)
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Wall-clock time minus monotonic time, in nanoseconds, so that
    /// `monotonic + offset` is nanoseconds since the Unix epoch. Processes on one host share it
    /// up to the microsecond, so traces from several ranks line up.
    static func wallOffsetNanoseconds() -> Int64 {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let mono = nanoseconds()
        return (Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec)) - Int64(bitPattern: mono)
    }
}
