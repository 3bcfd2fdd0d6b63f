import CMPIShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Clocks for the ledger. Collectives are stamped with raw ticks (`CMPIShim_ticks`, the TSC
/// on x86-64: ~10 ns against ~25 ns for `clock_gettime` here); ticks become nanoseconds only
/// when records are read, with a tick rate calibrated against `CLOCK_MONOTONIC`.
enum MonotonicClock {
    @inline(__always)
    static func ticks() -> UInt64 { CMPIShim_ticks() }

    /// Ticks from `start` to `end`, 0 when `end` reads earlier (the counters of two cores can
    /// disagree slightly after a process moves between them; a wrapped difference read as
    /// 18,446,744,097 s of communication in a summary).
    @inline(__always)
    static func elapsed(from start: UInt64, to end: UInt64) -> UInt64 { end > start ? end - start : 0 }

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

/// Converts ticks to monotonic nanoseconds: a reference pair (ticks, ns) taken at creation,
/// and a rate measured over a 2 ms window then refined over the whole life of the process
/// (the longer the interval, the smaller the error).
struct TickCalibration: Sendable {
    let originTicks: UInt64
    let originNanoseconds: UInt64
    let initialTicksPerNanosecond: Double

    static let process = TickCalibration()

    init() {
        let t0 = MonotonicClock.ticks()
        let n0 = MonotonicClock.nanoseconds()
        var t1 = t0, n1 = n0
        while n1 - n0 < 2_000_000 {
            t1 = MonotonicClock.ticks()
            n1 = MonotonicClock.nanoseconds()
        }
        originTicks = t0
        originNanoseconds = n0
        initialTicksPerNanosecond = n1 > n0 && t1 > t0 ? Double(t1 - t0) / Double(n1 - n0) : 1
    }

    /// The current best tick rate.
    func ticksPerNanosecond() -> Double {
        let t = MonotonicClock.ticks(), n = MonotonicClock.nanoseconds()
        guard n > originNanoseconds + 200_000_000, t > originTicks else { return initialTicksPerNanosecond }
        return Double(t - originTicks) / Double(n - originNanoseconds)
    }

    /// Monotonic nanoseconds at `ticks`, for a given rate.
    func nanoseconds(atTicks ticks: UInt64, rate: Double) -> UInt64 {
        let delta = (Double(ticks) - Double(originTicks)) / rate
        return UInt64(Swift.max(0, Double(originNanoseconds) + delta))
    }
}
