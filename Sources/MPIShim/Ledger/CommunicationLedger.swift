import Synchronization

/// Totals of one group of collectives (same operation, communicator and element type).
public struct LedgerTotals: Sendable, Hashable, Codable {
    /// Collectives recorded.
    public var calls: Int = 0
    /// Elements they moved (each collective's element count).
    public var elements: Int = 0
    /// Bytes this rank sent under the ring model (`RingCost`).
    public var bytesSent: Int = 0
    /// Bytes this rank received under the ring model.
    public var bytesReceived: Int = 0
    /// Wall time inside the collectives.
    public var nanoseconds: UInt64 = 0
    /// Modelled time, when an observer (a simulated network) stamps the records.
    public var simulatedSeconds: Double = 0

    /// Zero totals.
    public init() {}

    mutating func add(_ other: LedgerTotals) {
        calls += other.calls
        elements += other.elements
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        nanoseconds &+= other.nanoseconds
        simulatedSeconds += other.simulatedSeconds
    }

    /// Wall time in seconds.
    public var seconds: Double { Double(nanoseconds) * 1e-9 }
}

/// The key of a summary row.
public struct LedgerKey: Sendable, Hashable, Codable, Comparable {
    public var operation: CollectiveOperation
    public var communicator: String
    public var datatype: MPIDatatype

    public static func < (a: LedgerKey, b: LedgerKey) -> Bool {
        (a.communicator, a.operation.rawValue, a.datatype.rawValue) < (b.communicator, b.operation.rawValue, b.datatype.rawValue)
    }
}

/// Counts every byte that crosses: each collective of a `Communicator` appends a record here
/// (op, communicator label, type, count, ring-model bytes, wall time).
///
/// Recording is on by default and built to cost well under the collective it records: the
/// hot path is two time-stamp-counter reads, a spin lock and a 64-byte store into a
/// preallocated ring. Totals are folded lazily; at most `recordCapacity` individual records
/// are kept for traces and JSON Lines (older ones are folded into the totals and counted in
/// `droppedRecords`), while totals always cover everything. All methods are thread-safe.
public final class CommunicationLedger: Sendable {
    /// The process-wide ledger that communicators use unless given another one.
    public static let shared = CommunicationLedger()

    let ring: LedgerRing
    let labels = Mutex<(names: [String], ids: [String: UInt16])>(([], [:]))
    let enabledFlag = Atomic<Bool>(true)
    let observerBox = Mutex<(@Sendable (inout CollectiveRecord) -> Void)?>(nil)
    let hasObserver = Atomic<Bool>(false)
    let blockedTicks = Atomic<UInt64>(0)
    let calibration = TickCalibration.process
    /// Records kept in memory before the oldest half is folded away.
    public let recordCapacity: Int
    /// Nanoseconds to add to a record's monotonic start to get Unix time.
    public let wallOffsetNanoseconds: Int64

    /// Creates an empty ledger keeping at most `recordCapacity` individual records.
    public init(recordCapacity: Int = 1 << 18) {
        self.recordCapacity = Swift.max(1, recordCapacity)
        self.ring = LedgerRing(capacity: self.recordCapacity)
        self.wallOffsetNanoseconds = MonotonicClock.wallOffsetNanoseconds()
    }

    /// Whether collectives are recorded. Turning it off removes all ledger work from the
    /// collective's path (the bytes still move, they are just not counted).
    public var isEnabled: Bool {
        get { enabledFlag.load(ordering: .relaxed) }
        set { enabledFlag.store(newValue, ordering: .relaxed) }
    }

    /// Attaches a function called on every record before it is stored (e.g. a simulated
    /// network that fills `simulatedSeconds`). `nil` removes it.
    public func setObserver(_ observer: (@Sendable (inout CollectiveRecord) -> Void)?) {
        observerBox.withLock { $0 = observer }
        hasObserver.store(observer != nil, ordering: .releasing)
    }

    /// The small integer under which `label` is stored (interned once per communicator).
    func labelID(for label: String) -> UInt16 {
        labels.withLock { table in
            if let id = table.ids[label] { return id }
            let id = UInt16(truncatingIfNeeded: table.names.count)
            table.names.append(label)
            table.ids[label] = id
            return id
        }
    }

    func label(_ id: UInt16) -> String {
        labels.withLock { Int(id) < $0.names.count ? $0.names[Int(id)] : "?" }
    }

    @inline(__always)
    func append(_ record: RawRecord) {
        var record = record
        if hasObserver.load(ordering: .acquiring), let observer = observerBox.withLock({ $0 }) {
            var visible = publicRecord(record, rate: calibration.initialTicksPerNanosecond)
            observer(&visible)
            record.simulatedSeconds = visible.simulatedSeconds ?? .nan
        }
        ring.withLock { ring.appendLocked(record) }
    }

    func publicRecord(_ r: RawRecord, rate: Double) -> CollectiveRecord {
        CollectiveRecord(
            operation: CollectiveOperation.allCases[Int(r.operation)], communicator: label(r.labelID),
            communicatorSize: Int(r.communicatorSize), rank: Int(r.rank),
            datatype: MPIDatatype.allCases[Int(r.datatype)], elementCount: r.elementCount, bytesSent: r.bytesSent,
            bytesReceived: r.bytesReceived, startNanoseconds: calibration.nanoseconds(atTicks: r.startTicks, rate: rate),
            durationNanoseconds: UInt64(Double(r.durationTicks) / rate),
            simulatedSeconds: r.simulatedSeconds.isNaN ? nil : r.simulatedSeconds)
    }

    /// Every record still held, oldest first.
    public var records: [CollectiveRecord] {
        let raw = ring.withLock { ring.retainedLocked() }
        let rate = calibration.ticksPerNanosecond()
        return raw.map { publicRecord($0, rate: rate) }
    }

    /// Records folded away because more than `recordCapacity` were made.
    public var droppedRecords: Int { ring.withLock { ring.firstRetained } }

    /// Number of collectives recorded since creation or the last `reset()`.
    public var recordCount: Int { ring.withLock { ring.appended } }

    /// Totals per (operation, communicator, type), over every record since the last reset.
    public func totals() -> [LedgerKey: LedgerTotals] {
        let raw = foldedTotals().totals
        let rate = calibration.ticksPerNanosecond()
        var result: [LedgerKey: LedgerTotals] = [:]
        for (key, value) in raw {
            var totals = LedgerTotals()
            totals.calls = value.calls
            totals.elements = value.elements
            totals.bytesSent = value.bytesSent
            totals.bytesReceived = value.bytesReceived
            totals.nanoseconds = UInt64(Double(value.ticks) / rate)
            totals.simulatedSeconds = value.simulatedSeconds
            result[LedgerKey(operation: CollectiveOperation.allCases[Int(key.operation)], communicator: label(key.labelID),
                             datatype: MPIDatatype.allCases[Int(key.datatype)]), default: LedgerTotals()].add(totals)
        }
        return result
    }

    /// Every record folded into the raw totals, returned with the ledger's resets so far (one lock).
    func foldedTotals() -> (totals: [RawKey: RawTotals], generation: Int) {
        ring.withLock { () -> ([RawKey: RawTotals], Int) in
            ring.foldLocked()
            return (ring.totals, ring.generation)
        }
    }

    /// Totals per communicator label (all operations and types together).
    public func totalsByCommunicator() -> [String: LedgerTotals] {
        var result: [String: LedgerTotals] = [:]
        for (key, value) in totals() { result[key.communicator, default: LedgerTotals()].add(value) }
        return result
    }

    /// The sum over everything recorded.
    public func grandTotal() -> LedgerTotals {
        var result = LedgerTotals()
        for value in totals().values { result.add(value) }
        return result
    }

    /// Adds time this process spent blocked in MPI for a collective: a blocking collective's
    /// whole duration, or the time inside a nonblocking request's `wait()` or `test()`.
    @inline(__always)
    func addBlocked(ticks: UInt64) {
        guard isEnabled else { return }
        blockedTicks.add(ticks, ordering: .relaxed)
    }

    /// Wall time this process spent blocked in collectives since creation or the last `reset()`:
    /// the exposed communication. Nonblocking collectives count only the time in `wait()` and
    /// `test()`, so what ran behind compute is not included (compare with the records' total
    /// durations, which run from start to completion).
    public func blockedNanoseconds() -> UInt64 {
        UInt64(Double(blockedTicks.load(ordering: .relaxed)) / calibration.ticksPerNanosecond())
    }

    /// Forgets every record and total (the ring's memory is kept for reuse).
    public func reset() {
        ring.withLock { ring.resetLocked() }
        blockedTicks.store(0, ordering: .relaxed)
    }
}
