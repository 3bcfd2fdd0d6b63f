import CMPI

/// The watchdog's heartbeats: every rank sends its small status record to every other rank
/// with nonblocking point-to-point messages, once per period, and keeps one receive posted per
/// peer. Unlike a collective heartbeat, nothing here ever waits for a peer: a frozen, dead or
/// unreachable rank simply stops being heard from, and *when* each peer was last heard from
/// names it.
///
/// Owned by the watchdog thread alone. Costs `size − 1` messages of 40 bytes per rank per period.
struct HeartbeatExchange: ~Copyable {
    /// The fields of one record (see `CollectiveWatchdog.record`).
    static let fields = 5
    /// The index of the "this rank has asked to stop" field.
    static let stoppingField = 4
    private static let tag: CInt = 0x5744  // "WD"; the communicator is the watchdog's own.

    let comm: MPI_Comm?
    let rank: Int
    let size: Int
    /// One record per peer: what arrives, and what this rank last sent to it. MPI owns a slot
    /// while its request is pending, so the buffers outlive every request (see `deinit`).
    private let incoming: UnsafeMutableBufferPointer<Int64>
    private let outgoing: UnsafeMutableBufferPointer<Int64>
    private var receives: [MPI_Request?]
    private var sends: [MPI_Request?]
    private var receivePending: [Bool]
    private var sendPending: [Bool]
    /// Whether the send in flight to a peer carries this rank's final (stopping) record.
    private var sendIsFinal: [Bool]
    /// The newest record from each peer (all zeros until heard from).
    private(set) var latest: [[Int64]]
    /// When each peer was last heard from (monotonic nanoseconds).
    private(set) var lastHeard: [UInt64]
    /// Peers that announced they stop (they send nothing more).
    private(set) var peerStopped: [Bool]
    /// Peers that have been handed this rank's final record.
    private var finalDelivered: [Bool]

    init(comm: MPI_Comm?, rank: Int, size: Int, now: UInt64) throws(MPIError) {
        self.comm = comm
        self.rank = rank
        self.size = size
        incoming = .allocate(capacity: Self.fields * size)
        incoming.initialize(repeating: 0)
        outgoing = .allocate(capacity: Self.fields * size)
        outgoing.initialize(repeating: 0)
        receives = Array(repeating: nil, count: size)
        sends = Array(repeating: nil, count: size)
        receivePending = Array(repeating: false, count: size)
        sendPending = Array(repeating: false, count: size)
        sendIsFinal = Array(repeating: false, count: size)
        latest = Array(repeating: Array(repeating: 0, count: Self.fields), count: size)
        lastHeard = Array(repeating: now, count: size)
        peerStopped = Array(repeating: false, count: size)
        finalDelivered = Array(repeating: false, count: size)
        peerStopped[rank] = true
        finalDelivered[rank] = true
        for peer in 0..<size where peer != rank { try postReceive(from: peer) }
    }

    deinit {
        // A request still pending means MPI may write into the buffers later (the job is being
        // aborted): leak them rather than hand MPI freed memory. Never wait here.
        guard !receivePending.contains(true) && !sendPending.contains(true) else { return }
        incoming.deallocate()
        outgoing.deallocate()
    }

    /// Whether every peer has announced its stop and has been handed this rank's final record:
    /// no message is in flight in either direction, so the watchdog may end.
    var finished: Bool {
        !peerStopped.contains(false) && !finalDelivered.contains(false) && !sendPending.contains(true)
    }

    /// Sends `record` to every peer whose previous message has left this rank (a peer that is
    /// not draining its messages gets no new ones). A record whose stopping field is set is the
    /// last one each peer receives.
    mutating func send(_ record: [Int64]) throws(MPIError) {
        let final = record[Self.stoppingField] != 0
        for peer in 0..<size where peer != rank && !sendPending[peer] && !finalDelivered[peer] {
            for k in 0..<Self.fields { outgoing[Self.fields * peer + k] = record[k] }
            try check(mpi_isend(outgoing.baseAddress.map { $0 + Self.fields * peer }, CInt(Self.fields), MPIDatatype.int64.handle, CInt(peer), Self.tag, comm,
                                &sends[peer]), "MPI_Isend")
            sendPending[peer] = true
            sendIsFinal[peer] = final
        }
    }

    /// Completes what has arrived and what has left, without blocking: records each peer's
    /// newest record and when it came, and reposts the receive unless the peer stopped.
    mutating func poll(now: UInt64) throws(MPIError) {
        for peer in 0..<size where peer != rank {
            if sendPending[peer] {
                var done: CInt = 0
                try check(mpi_test(&sends[peer], &done), "MPI_Test")
                if done != 0 {
                    sendPending[peer] = false
                    if sendIsFinal[peer] { finalDelivered[peer] = true }
                }
            }
            while receivePending[peer] {
                var done: CInt = 0
                try check(mpi_test(&receives[peer], &done), "MPI_Test")
                guard done != 0 else { break }
                receivePending[peer] = false
                latest[peer] = Array(incoming[(Self.fields * peer)..<(Self.fields * (peer + 1))])
                lastHeard[peer] = now
                if latest[peer][Self.stoppingField] != 0 {
                    peerStopped[peer] = true
                } else {
                    try postReceive(from: peer)
                }
            }
        }
    }

    /// The peers (still running) not heard from for more than `seconds`.
    func silentPeers(now: UInt64, longerThan seconds: Double) -> [Int] {
        (0..<size).filter { peer in
            !peerStopped[peer] && Double(now &- lastHeard[peer]) * 1e-9 > seconds
        }
    }

    private mutating func postReceive(from peer: Int) throws(MPIError) {
        try check(mpi_irecv(incoming.baseAddress.map { $0 + Self.fields * peer }, CInt(Self.fields), MPIDatatype.int64.handle, CInt(peer), Self.tag, comm,
                            &receives[peer]), "MPI_Irecv")
        receivePending[peer] = true
    }
}
