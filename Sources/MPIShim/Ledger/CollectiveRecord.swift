/// The collectives the ledger knows.
public enum CollectiveOperation: String, Sendable, Hashable, Codable, CaseIterable {
    case allReduce
    case reduceScatter
    case allGather
    case broadcast
    case allToAll
    case barrier
    case iAllReduce
    case iReduceScatter
    case iAllGather

    /// Index in `allCases` (declaration order), the compact form the ledger stores.
    var code: UInt8 {
        switch self {
        case .allReduce: 0
        case .reduceScatter: 1
        case .allGather: 2
        case .broadcast: 3
        case .allToAll: 4
        case .barrier: 5
        case .iAllReduce: 6
        case .iReduceScatter: 7
        case .iAllGather: 8
        }
    }
}

/// One collective as this rank saw it: what moved, how many bytes under the ring cost model
/// (see `RingCost`), and how long it took.
public struct CollectiveRecord: Sendable, Hashable, Codable {
    /// Which collective.
    public var operation: CollectiveOperation
    /// The communicator's label (`world`, `dp`, `fsdp`, `tp`, …).
    public var communicator: String
    /// Number of processes in the communicator.
    public var communicatorSize: Int
    /// This process's rank in the communicator.
    public var rank: Int
    /// Element type of the buffers.
    public var datatype: MPIDatatype
    /// Elements in the whole message: the reduced vector for all-reduce and broadcast, the
    /// full input for reduce-scatter, the full output for all-gather, this rank's full send
    /// buffer for all-to-all (nccl-tests' convention for "size").
    public var elementCount: Int
    /// Bytes this rank sends under the ring cost model.
    public var bytesSent: Int
    /// Bytes this rank receives under the ring cost model.
    public var bytesReceived: Int
    /// Start, in nanoseconds of the monotonic clock.
    public var startNanoseconds: UInt64
    /// Wall time from the call to its completion (for nonblocking operations: from the start
    /// call until `wait()` returned).
    public var durationNanoseconds: UInt64
    /// Time the same collective would take on a simulated network, when one is attached.
    public var simulatedSeconds: Double?

    /// Wall time in seconds.
    public var seconds: Double { Double(durationNanoseconds) * 1e-9 }

    public init(operation: CollectiveOperation, communicator: String, communicatorSize: Int, rank: Int,
                datatype: MPIDatatype, elementCount: Int, bytesSent: Int, bytesReceived: Int, startNanoseconds: UInt64,
                durationNanoseconds: UInt64, simulatedSeconds: Double?) {
        self.operation = operation
        self.communicator = communicator
        self.communicatorSize = communicatorSize
        self.rank = rank
        self.datatype = datatype
        self.elementCount = elementCount
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.startNanoseconds = startNanoseconds
        self.durationNanoseconds = durationNanoseconds
        self.simulatedSeconds = simulatedSeconds
    }
}
