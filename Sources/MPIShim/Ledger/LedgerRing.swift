import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A collective as stored on the hot path: plain bits, 64 bytes, no reference counting.
struct RawRecord {
    var labelID: UInt16
    var operation: UInt8
    var datatype: UInt8
    var communicatorSize: Int32
    var rank: Int32
    var elementCount: Int
    var bytesSent: Int
    var bytesReceived: Int
    var startTicks: UInt64
    var durationTicks: UInt64
    /// Seconds on a simulated network, NaN when no simulation is attached.
    var simulatedSeconds: Double
}

/// Key of the folded totals, before labels and enums are resolved.
struct RawKey: Hashable {
    var labelID: UInt16
    var operation: UInt8
    var datatype: UInt8
}

/// Totals accumulated in ticks.
struct RawTotals {
    var calls = 0
    var elements = 0
    var bytesSent = 0
    var bytesReceived = 0
    var ticks: UInt64 = 0
    var simulatedSeconds: Double = 0

    mutating func add(_ r: RawRecord) {
        calls += 1
        elements += r.elementCount
        bytesSent += r.bytesSent
        bytesReceived += r.bytesReceived
        ticks &+= r.durationTicks
        if !r.simulatedSeconds.isNaN { simulatedSeconds += r.simulatedSeconds }
    }

    /// Adds another group's totals (a communicator's operations and types together).
    mutating func merge(_ other: RawTotals) {
        calls += other.calls
        elements += other.elements
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        ticks &+= other.ticks
        simulatedSeconds += other.simulatedSeconds
    }
}

/// The ledger's storage: a ring of `capacity` raw records and the totals of everything ever
/// appended, guarded by a test-and-set spin lock. The critical sections are a 64-byte store or
/// a fold, so a spin lock (one compare-exchange, one release store) is several times cheaper
/// here than a futex mutex, which matters because every collective takes it.
///
/// `@unchecked Sendable`: every `var` below is read and written only inside `withLock`.
final class LedgerRing: @unchecked Sendable {
    private let lockFlag = Atomic<Bool>(false)
    let capacity: Int
    private let slots: UnsafeMutablePointer<RawRecord>
    /// Records appended since the last reset (the next sequence number).
    var appended = 0
    /// Sequence number of the oldest record still in the ring.
    var firstRetained = 0
    /// Records `..<folded` are included in `totals`.
    var folded = 0
    /// Slot of the next append (`appended % capacity`, kept without a division).
    var nextSlot = 0
    var totals: [RawKey: RawTotals] = [:]
    /// Resets so far (a snapshot taken before one does not apply after it).
    var generation = 0

    init(capacity: Int) {
        self.capacity = capacity
        // Virtual memory only: pages are touched as records arrive.
        slots = UnsafeMutablePointer<RawRecord>.allocate(capacity: capacity)
    }

    deinit { slots.deallocate() }

    @inline(__always)
    func withLock<R>(_ body: () -> R) -> R {
        while !lockFlag.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            sched_yield()
        }
        defer { lockFlag.store(false, ordering: .releasing) }
        return body()
    }

    /// Appends under the lock held by the caller. When the ring is full, folds everything into
    /// the totals and forgets the older half.
    @inline(__always)
    func appendLocked(_ record: RawRecord) {
        if appended - firstRetained == capacity {
            foldLocked()
            firstRetained += capacity / 2 == 0 ? 1 : capacity / 2
        }
        (slots + nextSlot).initialize(to: record)
        nextSlot = nextSlot + 1 == capacity ? 0 : nextSlot + 1
        appended += 1
    }

    func foldLocked() {
        while folded < appended {
            let r = slots[folded % capacity]
            totals[RawKey(labelID: r.labelID, operation: r.operation, datatype: r.datatype), default: RawTotals()].add(r)
            folded += 1
        }
    }

    /// The retained records, oldest first (call under the lock).
    func retainedLocked() -> [RawRecord] {
        (firstRetained..<appended).map { slots[$0 % capacity] }
    }

    func resetLocked() {
        appended = 0
        nextSlot = 0
        firstRetained = 0
        folded = 0
        totals = [:]
        generation += 1
    }
}
