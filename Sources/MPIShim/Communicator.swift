import CMPI
import Synchronization

/// A group of processes that run collectives together: an owned `MPI_Comm` with
/// `MPI_ERRORS_RETURN` set, a label for the ledger, and the ledger it records into.
///
/// Methods follow mpi4py's "methods on the communicator" and torch's in-place default
/// (`allReduce(&buffer)`). Each collective is available on Swift arrays and on unsafe
/// buffer pointers (for matrices that own their storage). A communicator made by `split` or
/// `duplicate` is freed (`MPI_Comm_free`) when its last reference goes away.
public final class Communicator: Sendable, CustomStringConvertible {
    let handle: CommHandle
    /// This process's rank in the communicator, in `0..<size`.
    public let rank: Int
    /// Number of processes in the communicator.
    public let size: Int
    /// The name under which this communicator's collectives appear in the ledger.
    public let label: String
    /// The ledger its collectives are recorded in.
    public let ledger: CommunicationLedger
    let labelID: UInt16
    let owned: Bool
    /// Whether this is a guard's private duplicate (its collectives skip the guards).
    let isGuardShadow: Bool
    /// The duplicate the guards use for their own traffic, made on first use.
    let shadowBox = Mutex<Communicator?>(nil)
    /// How many nonblocking reductions this rank started here (`nextExchangeTag`).
    let exchangeSequence = Atomic<UInt32>(0)

    init(adopting handle: CommHandle, label: String, ledger: CommunicationLedger, owned: Bool,
         isGuardShadow: Bool = false) throws(MPIError) {
        try check(mpi_comm_set_errhandler_return(handle.raw), "MPI_Comm_set_errhandler")
        var rank: CInt = 0
        var size: CInt = 0
        try check(mpi_comm_rank(handle.raw, &rank), "MPI_Comm_rank")
        try check(mpi_comm_size(handle.raw, &size), "MPI_Comm_size")
        self.handle = handle
        self.rank = Int(rank)
        self.size = Int(size)
        self.label = label
        self.ledger = ledger
        self.labelID = ledger.labelID(for: label)
        self.owned = owned
        self.isGuardShadow = isGuardShadow
    }

    deinit {
        if owned && mpi_initialized() && !mpi_finalized() {
            var raw: MPI_Comm? = handle.raw
            _ = mpi_comm_free(&raw)
        }
    }

    public var description: String { "Communicator(\(label), rank \(rank) of \(size))" }

    /// The first of two tags for one nonblocking reduction's point-to-point rounds
    /// (`DirectReduction`), from a count every rank advances in the same order, since all start
    /// their collectives in the same order. Tags stay below 32767, the least `MPI_TAG_UB` MPI allows;
    /// they repeat only after 15,000 reductions.
    func nextExchangeTag() -> CInt {
        let n = exchangeSequence.wrappingAdd(1, ordering: .relaxed).oldValue
        return CInt(1024 + 2 * (n % 15_000))
    }

    /// Splits the communicator: processes that pass the same `color` form one new
    /// communicator, ordered by `key` (ties by rank here). Collective over this communicator.
    ///
    /// - Parameters:
    ///   - color: The group to join, ≥ 0; `nil` takes no part (`MPI_UNDEFINED`) and gets `nil`.
    ///   - key: The order inside the new group.
    ///   - label: Ledger label of the new communicator; defaults to `"<label>/<color>"`.
    ///   - ledger: The new communicator's ledger; defaults to this one's.
    /// - Returns: The new communicator, or `nil` when `color` is `nil`.
    ///
    /// The corresponding MPI function is `MPI_Comm_split`.
    public func split(color: Int?, key: Int = 0, label: String? = nil,
                      ledger: CommunicationLedger? = nil) throws(MPIError) -> Communicator? {
        try ensureActive("Communicator.split")
        if let color, color < 0 || color > Int(Int32.max) {
            throw .invalidArgument("color must be in 0...\(Int32.max) or nil, got \(color)", in: "Communicator.split")
        }
        let cKey = try cCount(key, "key", "Communicator.split", allowNegative: true)
        var newComm: MPI_Comm? = mpiCommNull
        try check(mpi_comm_split(handle.raw, color.map { CInt($0) } ?? mpiUndefined, cKey, &newComm), "MPI_Comm_split")
        guard let color, let newComm, newComm != mpiCommNull else { return nil }
        return try Communicator(adopting: CommHandle(raw: newComm), label: label ?? "\(self.label)/\(color)",
                                ledger: ledger ?? self.ledger, owned: true)
    }

    /// A new communicator over the same processes, with its own message space. Collective.
    ///
    /// The corresponding MPI function is `MPI_Comm_dup`.
    public func duplicate(label: String? = nil, ledger: CommunicationLedger? = nil) throws(MPIError) -> Communicator {
        try ensureActive("Communicator.duplicate")
        var newComm: MPI_Comm? = mpiCommNull
        try check(mpi_comm_dup(handle.raw, &newComm), "MPI_Comm_dup")
        return try Communicator(adopting: CommHandle(raw: newComm), label: label ?? self.label,
                                ledger: ledger ?? self.ledger, owned: true)
    }

    /// How many processes of this communicator share this process's node (its shared-memory
    /// group). Collective: every process must call it.
    ///
    /// The corresponding MPI function is `MPI_Comm_split_type` with `MPI_COMM_TYPE_SHARED`.
    public func nodeLocalSize() throws(MPIError) -> Int {
        try ensureActive("Communicator.nodeLocalSize")
        var local: MPI_Comm? = mpiCommNull
        try check(mpi_comm_split_shared(handle.raw, CInt(rank), &local), "MPI_Comm_split_type")
        var size: CInt = 0
        let rc = mpi_comm_size(local, &size)
        _ = mpi_comm_free(&local)
        try check(rc, "MPI_Comm_size")
        return Int(size)
    }

    /// Blocks until every process of the communicator has called it.
    ///
    /// The corresponding MPI function is `MPI_Barrier`.
    public func barrier() throws(MPIError) {
        try ensureActive("Communicator.barrier")
        try recorded(.barrier, .uint8, count: 0, volume: { TransferVolume(sent: 0, received: 0) }) { () throws(MPIError) in
            try check(mpi_barrier(handle.raw), "MPI_Barrier")
        }
    }

    // MARK: - Shared helpers of the collective extensions

    @inline(__always)
    func ensureActive(_ function: String) throws(MPIError) {
        if MPIRuntime.finalizedFlag.load(ordering: .relaxed) {
            throw MPIError(code: .alreadyFinalized, message: "MPI was finalized; no collective can run", function: function)
        }
    }

    /// Runs `body` and, when the ledger is on, appends its record.
    @inline(__always)
    func recorded<R>(_ operation: CollectiveOperation, _ datatype: MPIDatatype, count: Int, agreedCount: Int? = nil,
                     root: Int = -1, volume: () -> TransferVolume,
                     _ body: () throws(MPIError) -> R) throws(MPIError) -> R {
        if CollectiveGuards.anyActive {
            try enterGuards(operation, datatype, count: Int64(agreedCount ?? count), root: Int64(root))
        }
        defer { if CollectiveGuards.anyActive { leaveGuards() } }
        guard ledger.isEnabled else { return try body() }
        let start = MonotonicClock.ticks()
        let result = try body()
        let end = MonotonicClock.ticks()
        ledger.addBlocked(ticks: MonotonicClock.elapsed(from: start, to: end))
        record(operation, datatype, count: count, volume: volume(), startTicks: start, endTicks: end)
        return result
    }

    @inline(__always)
    func record(_ operation: CollectiveOperation, _ datatype: MPIDatatype, count: Int, volume: TransferVolume,
                startTicks: UInt64, endTicks: UInt64) {
        let size = datatype.size
        ledger.append(RawRecord(
            labelID: labelID, operation: operation.code, datatype: datatype.code, communicatorSize: Int32(self.size),
            rank: Int32(rank), elementCount: count, bytesSent: volume.sent * size, bytesReceived: volume.received * size,
            startTicks: startTicks, durationTicks: MonotonicClock.elapsed(from: startTicks, to: endTicks),
            simulatedSeconds: .nan))
    }

    /// Converts a count to MPI's `int`, rejecting what MPI cannot represent.
    func cCount(_ value: Int, _ what: String, _ function: String, allowNegative: Bool = false) throws(MPIError) -> CInt {
        guard value <= Int(Int32.max), allowNegative ? value >= Int(Int32.min) : value >= 0 else {
            throw .invalidArgument("\(what) \(value) is outside what MPI's int counts can express", in: function)
        }
        return CInt(value)
    }

    /// Validates a per-rank count array: one entry per rank, each non-negative and MPI-sized.
    func cCounts(_ counts: [Int], _ what: String, _ function: String) throws(MPIError) -> (counts: [CInt], displacements: [CInt], total: Int) {
        guard counts.count == size else {
            throw .invalidArgument("\(what) has \(counts.count) entries for a communicator of \(size)", in: function)
        }
        var c = [CInt]()
        var d = [CInt]()
        c.reserveCapacity(size)
        d.reserveCapacity(size)
        var offset = 0
        for value in counts {
            c.append(try cCount(value, what, function))
            d.append(try cCount(offset, "displacement", function))
            offset += value
        }
        return (c, d, offset)
    }

    func checkReduction(_ op: ReductionOp, _ datatype: MPIDatatype, _ function: String) throws(MPIError) {
        if datatype == .bfloat16 {
            throw .invalidArgument("bfloat16 is a wire format for moving data; reduce in float32", in: function)
        }
        if op == .average && !datatype.isFloatingPoint {
            throw .invalidArgument("average is defined for floating-point types only, not \(datatype.rawValue)", in: function)
        }
    }

    /// Divides a summed buffer by the communicator size (the second half of `.average`).
    func divideBySize<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>) {
        guard size > 1 else { return }
        switch T.mpiDatatype {
        case .float32:
            let divisor = Float(size)
            UnsafeMutableRawBufferPointer(buffer).withMemoryRebound(to: Float.self) { b in
                for i in b.indices { b[i] /= divisor }
            }
        case .float64:
            let divisor = Double(size)
            UnsafeMutableRawBufferPointer(buffer).withMemoryRebound(to: Double.self) { b in
                for i in b.indices { b[i] /= divisor }
            }
        default:
            for i in buffer.indices { buffer[i] = T._dividing(buffer[i], by: size) }
        }
    }
}
