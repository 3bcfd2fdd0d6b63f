import CMPI
import Dispatch
import Synchronization

/// Process-wide switches and state for the two collective guards and the injected failure. All
/// are off by default; every collective pays one relaxed atomic load for each.
enum CollectiveGuards {
    static let debugChecks = Atomic<Bool>(false)
    static let watching = Atomic<Bool>(false)
    /// The next collective throws (`MPIRuntime.failNextCollective`).
    static let failNext = Atomic<Bool>(false)

    /// What this process is doing, for the watchdog: inside a collective or not, which one,
    /// since when, and how many it has completed.
    static let inCollective = Atomic<Bool>(false)
    static let completed = Atomic<Int>(0)
    static let current = Mutex<(operation: CollectiveOperation, label: String, startNanoseconds: UInt64)>(
        (.barrier, "", 0))

    /// Set by `MPIRuntime.finalize()`: watchdogs stop at the first heartbeat where every rank has
    /// asked to stop (a heartbeat is collective, so they must stop at the same one).
    static let stopRequested = Atomic<Bool>(false)
    /// Signalled by the watchdog thread when it has stopped.
    static let watchdogStopped = DispatchSemaphore(value: 0)

    @inline(__always)
    static var anyActive: Bool {
        debugChecks.load(ordering: .relaxed) || watching.load(ordering: .relaxed) || failNext.load(ordering: .relaxed)
    }
}

/// One collective as the debug check compares it across ranks.
struct CollectiveFingerprint: Equatable, CustomStringConvertible {
    var operation: CollectiveOperation
    var datatype: MPIDatatype
    /// The element count every rank must agree on, or −1 when ranks may differ (all-to-all-v).
    var count: Int64
    /// The root of a broadcast, −1 otherwise.
    var root: Int64

    var encoded: [Int64] { [Int64(operation.code), Int64(datatype.code), count, root] }

    init(operation: CollectiveOperation, datatype: MPIDatatype, count: Int64, root: Int64) {
        self.operation = operation
        self.datatype = datatype
        self.count = count
        self.root = root
    }

    init?(decoding values: ArraySlice<Int64>) {
        let v = Array(values)
        guard v.count == 4, CollectiveOperation.allCases.indices.contains(Int(v[0])),
              MPIDatatype.allCases.indices.contains(Int(v[1])) else { return nil }
        self.init(operation: CollectiveOperation.allCases[Int(v[0])], datatype: MPIDatatype.allCases[Int(v[1])],
                  count: v[2], root: v[3])
    }

    var description: String {
        let count = self.count < 0 ? "per-rank counts" : "\(self.count) elements"
        return "\(operation.rawValue)(\(datatype.rawValue), \(count)\(root >= 0 ? ", root \(root)" : ""))"
    }
}

extension Communicator {
    /// Runs the enabled guards before a collective: the cross-rank agreement check
    /// (`--debug-collectives`) and the watchdog's bookkeeping.
    @inline(never)
    func enterGuards(_ operation: CollectiveOperation, _ datatype: MPIDatatype, count: Int64, root: Int64) throws(MPIError) {
        guard !isGuardShadow else { return }
        try throwInjectedFailure(operation)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) {
            try verifyAgreement(CollectiveFingerprint(operation: operation, datatype: datatype, count: count, root: root))
        }
        if CollectiveGuards.watching.load(ordering: .relaxed) {
            let label = self.label
            CollectiveGuards.current.withLock { $0 = (operation, label, MonotonicClock.nanoseconds()) }
            CollectiveGuards.inCollective.store(true, ordering: .releasing)
        }
    }

    @inline(never)
    func leaveGuards() {
        guard !isGuardShadow, CollectiveGuards.watching.load(ordering: .relaxed) else { return }
        CollectiveGuards.inCollective.store(false, ordering: .releasing)
        CollectiveGuards.completed.add(1, ordering: .relaxed)
    }

    /// All-gathers this rank's fingerprint on a shadow communicator and throws, on every
    /// rank, at the first rank whose call differs, naming both calls.
    func verifyAgreement(_ mine: CollectiveFingerprint) throws(MPIError) {
        let shadow = try guardShadow()
        let all = try shadow.allGather(mine.encoded)
        for other in 0..<size {
            guard let theirs = CollectiveFingerprint(decoding: all[(4 * other)..<(4 * other + 4)]) else { continue }
            let sameCount = theirs.count == mine.count || theirs.count < 0 || mine.count < 0
            if theirs.operation != mine.operation || theirs.datatype != mine.datatype || !sameCount || theirs.root != mine.root {
                throw MPIError(code: .collectiveMismatch,
                               message: "ranks of '\(label)' issue different collectives: rank \(rank) calls \(mine), "
                                   + "rank \(other) calls \(theirs)",
                               function: "--debug-collectives")
            }
        }
    }

    /// A duplicate of this communicator for the guards' own traffic (not recorded, not
    /// guarded), made on first use. Collective, like the collective that triggers it.
    func guardShadow() throws(MPIError) -> Communicator {
        try shadowBox.withLock { (box: inout Communicator?) throws(MPIError) -> Communicator in
            if let shadow = box { return shadow }
            let quiet = CommunicationLedger(recordCapacity: 1)
            quiet.isEnabled = false
            var newComm: MPI_Comm? = mpiCommNull
            try check(mpi_comm_dup(handle.raw, &newComm), "MPI_Comm_dup")
            let shadow = try Communicator(adopting: CommHandle(raw: newComm), label: "\(label)/guard", ledger: quiet,
                                          owned: true, isGuardShadow: true)
            box = shadow
            return shadow
        }
    }
}
