import Synchronization

/// Totals of one group of collectives (same operation, communicator and element type).
public struct LedgerTotals: Sendable, Hashable, Codable {
    public var calls: Int = 0
    public var elements: Int = 0
    public var bytesSent: Int = 0
    public var bytesReceived: Int = 0
    public var nanoseconds: UInt64 = 0
    public var simulatedSeconds: Double = 0

    public init() {}

    mutating func add(_ record: CollectiveRecord) {
        calls += 1
        elements += record.elementCount
        bytesSent += record.bytesSent
        bytesReceived += record.bytesReceived
        nanoseconds &+= record.durationNanoseconds
        simulatedSeconds += record.simulatedSeconds ?? 0
    }

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

/// Counts every byte that crosses: each collective of a `Communicator` appends a
/// `CollectiveRecord` here (op, communicator label, type, count, ring-model bytes, wall time).
///
/// Recording is on by default. The hot path is one lock, two clock reads and an append; the
/// per-group totals are folded lazily. At most `recordCapacity` records are kept for traces
/// and JSON Lines; older ones are folded into the totals and counted in `droppedRecords`.
/// All methods are thread-safe.
public final class CommunicationLedger: Sendable {
    /// The process-wide ledger that communicators use unless given another one.
    public static let shared = CommunicationLedger()

    struct Storage {
        var records: [CollectiveRecord] = []
        /// `records[..<folded]` are already in `totals`.
        var folded = 0
        var totals: [LedgerKey: LedgerTotals] = [:]
        var droppedRecords = 0
        var sequence = 0

        mutating func fold() {
            while folded < records.count {
                let r = records[folded]
                totals[LedgerKey(operation: r.operation, communicator: r.communicator, datatype: r.datatype),
                       default: LedgerTotals()].add(r)
                folded += 1
            }
        }
    }

    let storage = Mutex(Storage())
    let enabledFlag = Atomic<Bool>(true)
    let observerBox = Mutex<(@Sendable (inout CollectiveRecord) -> Void)?>(nil)
    let hasObserver = Atomic<Bool>(false)
    /// Records kept in memory before the oldest are folded away.
    public let recordCapacity: Int
    /// Nanoseconds to add to a record's monotonic start to get Unix time.
    public let wallOffsetNanoseconds: Int64

    /// Creates an empty ledger keeping at most `recordCapacity` individual records.
    public init(recordCapacity: Int = 1 << 18) {
        self.recordCapacity = Swift.max(1, recordCapacity)
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

    func append(_ record: CollectiveRecord) {
        var record = record
        if hasObserver.load(ordering: .acquiring), let observer = observerBox.withLock({ $0 }) {
            observer(&record)
        }
        storage.withLock { s in
            if s.records.count >= recordCapacity {
                s.fold()
                let drop = s.records.count / 2
                s.records.removeFirst(drop)
                s.folded -= drop
                s.droppedRecords += drop
            }
            s.records.append(record)
            s.sequence += 1
        }
    }

    /// Every record still held, oldest first.
    public var records: [CollectiveRecord] { storage.withLock { $0.records } }

    /// Records folded away because more than `recordCapacity` were made.
    public var droppedRecords: Int { storage.withLock { $0.droppedRecords } }

    /// Number of collectives recorded since creation or the last `reset()`.
    public var recordCount: Int { storage.withLock { $0.sequence } }

    /// Totals per (operation, communicator, type), over every record since the last reset.
    public func totals() -> [LedgerKey: LedgerTotals] {
        storage.withLock { s in
            s.fold()
            return s.totals
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

    /// Forgets every record and total.
    public func reset() {
        storage.withLock { $0 = Storage() }
    }
}
