import CMPI
import Foundation

/// The transport of the nonblocking reductions, `iReduceScatter` and `iAllReduce`: point-to-point
/// exchanges that keep both directions of every link busy, reduced locally in the order Open MPI's
/// own nonblocking collectives (libnbc) use, so the results are theirs bit for bit.
///
/// libnbc's `MPI_Ireduce_scatter` reduces the whole message to rank 0 over a binomial tree and then
/// scatters it; its in-place `MPI_Iallreduce` (the only kind MPIShim starts) reduces to rank 0 the
/// same way and broadcasts back. Either way one direction of a link idles while the other works and
/// rank 0 is the bottleneck: on the emulated cluster with `fsdp=2`, rank 1 sent 1.72 MB more per step
/// than rank 0 (kernel counters), and each collective was serialized. Here:
/// 1. every rank sends each peer that peer's block of the message and receives its own block from
///    every peer, all at once (the ring's bytes, one round), then combines the blocks of its own
///    block locally over libnbc's binomial tree (the block of rank i with that of rank i + 2^(k−1),
///    k = 1, 2, …) with `MPI_Reduce_local`, i.e. with MPI's own operation;
/// 2. for an all-reduce, every rank then sends its reduced block to every peer and receives theirs
///    (the all-gather's bytes, one round). The second round is posted by the `test()` or `wait()`
///    that finds the first complete.
///
/// The progress thread, when it runs, polls a reduction in flight too (`ProgressDriven`), so the second
/// round starts even while the owner computes; a lock keeps it and the owner from polling at once.
///
/// One difference from MPI's own nonblocking collectives, which any MPI call moves on: an
/// all-reduce's second round starts only when this rank polls or waits on *that* request (or the
/// progress thread does). Two ranks blocked in the waits of two different all-reduces, in opposite
/// orders and without the progress thread, would wait for each other. MPIShim's callers wait for
/// their all-reduces in the order they started them on every rank (`GradientSynchronizer`'s queue),
/// which is also what `Communicator.iAllReduce` asks of its callers.
///
/// Every collective has tags of its own (`Communicator.nextExchangeTag()`: all ranks start their
/// collectives in the same order, so they draw the same tags), so exchanges of collectives in
/// flight together never match each other's messages, whatever order their rounds are posted in.
final class DirectReduction<T: MPIScalar>: ProgressDriven, @unchecked Sendable {
    /// The requests of the current round (none on one rank or when nothing moves).
    private var pending: UnsafeMutableBufferPointer<MPI_Request?>
    private let storage: UnsafeMutableBufferPointer<MPI_Request?>
    /// The blocks received in the first round, one slot of `counts[rank]` elements per peer.
    private let staging: UnsafeMutableBufferPointer<T>
    /// The message: the reduce-scatter's input, or the all-reduce's buffer (reduced in place).
    private let message: UnsafeMutableBufferPointer<T>
    /// Where this rank's reduced block goes: the reduce-scatter's output, or `message` itself.
    private let output: UnsafeMutableBufferPointer<T>
    private let counts: [Int]
    private let offsets: [Int]
    private let rank: Int
    private let size: Int
    private let op: MPI_Op?
    private let comm: MPI_Comm?
    private let tag: CInt
    private let gatherAfter: Bool
    /// 1 and 2: the round in flight; 3: done. Guarded by `lock`, with `pending` and `failure`.
    private var round = 1
    private var failure: MPIError?
    private let lock = NSLock()

    /// Posts the first round over `message` in blocks of `counts` (in rank order). With
    /// `gatherAfter` (an all-reduce) the reduced blocks are then exchanged and `output` must be
    /// `message`; otherwise `output` takes this rank's `counts[rank]` reduced elements. The caller
    /// keeps both buffers alive and untouched until `poll()` returns true or `waitAll` returns.
    init(message: UnsafeMutableBufferPointer<T>, output: UnsafeMutableBufferPointer<T>, counts: [Int],
         on communicator: Communicator, op: MPI_Op?, gatherAfter: Bool) throws(MPIError) {
        self.message = message
        self.output = output
        self.counts = counts
        var start = 0
        offsets = counts.map { count in defer { start += count }; return start }
        rank = communicator.rank
        size = communicator.size
        self.op = op
        comm = communicator.handle.raw
        tag = communicator.nextExchangeTag()
        self.gatherAfter = gatherAfter
        staging = .owned(count: counts[rank] * size)
        storage = .allocate(capacity: Swift.max(2 * (size - 1), 1))
        storage.initialize(repeating: nil)
        pending = UnsafeMutableBufferPointer(rebasing: storage[0..<0])
        try postFirstRound()
        ProgressThread.register(self)
    }

    deinit {
        staging.deallocate()
        storage.deallocate()
    }

    /// The other ranks from this one's right neighbour on (rank + 1, rank + 2, … mod size): sends
    /// in this order reach every rank from one sender at a time, not all at rank 0 first.
    private var peers: [Int] { (1..<Swift.max(size, 1)).map { (rank + $0) % size } }

    private func peerSlot(_ peer: Int) -> Int { peer * counts[rank] }

    /// Round 1: this rank's block from every peer into `staging`, every peer's block to it.
    private func postFirstRound() throws(MPIError) {
        let own = counts[rank]
        var receives: [(peer: Int, into: UnsafeMutablePointer<T>?, count: Int)] = []
        if own > 0 { for peer in peers { receives.append((peer, staging.baseAddress.map { $0 + peerSlot(peer) }, own)) } }
        try post(receives: receives, sends: peers.filter { counts[$0] > 0 }.map { ($0, offsets[$0], counts[$0]) }, tag: tag)
    }

    /// Round 2 (all-reduce): every peer's reduced block into `message`, this rank's to every peer.
    private func postSecondRound() throws(MPIError) {
        let own = counts[rank]
        let receives = peers.filter { counts[$0] > 0 }.map { peer in
            (peer: peer, into: message.baseAddress.map { $0 + offsets[peer] }, count: counts[peer])
        }
        try post(receives: receives, sends: own > 0 ? peers.map { ($0, offsets[rank], own) } : [], tag: tag + 1)
    }

    /// Posts the receives (first, so a peer's block finds its buffer posted), then sends of blocks of
    /// `message`; they become `pending`.
    private func post(receives: [(peer: Int, into: UnsafeMutablePointer<T>?, count: Int)],
                      sends: [(peer: Int, offset: Int, count: Int)], tag: CInt) throws(MPIError) {
        var next = 0
        for (peer, into, count) in receives {
            try check(mpi_irecv(into.map { UnsafeMutableRawPointer($0) }, CInt(count), T.mpiDatatype.handle,
                                CInt(peer), tag, comm, &storage[next]), "MPI_Irecv")
            next += 1
        }
        for (peer, offset, count) in sends {
            try check(mpi_isend(message.baseAddress.map { UnsafeRawPointer($0 + offset) }, CInt(count), T.mpiDatatype.handle,
                                CInt(peer), tag, comm, &storage[next]), "MPI_Isend")
            next += 1
        }
        pending = UnsafeMutableBufferPointer(rebasing: storage[0..<next])
    }

    /// Tests the round in flight and moves on while rounds complete; returns true once the
    /// collective is done (its result in `output`).
    func poll() throws(MPIError) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return try pollLocked()
    }

    /// Waits for every round, as `policy` says.
    func waitAll(policy: WaitPolicy) throws(MPIError) {
        lock.lock()
        defer { lock.unlock() }
        while round < 3 {
            if let failure { throw failure }
            let rc = Request<T>.waitAll(pending, policy: policy)
            try record(rc, "MPI_Waitall")
            try advanceLocked()
        }
    }

    func advanceIfIdle() {
        guard lock.try() else { return }
        defer { lock.unlock() }
        _ = try? pollLocked()
    }

    /// Waits for what is in flight, whatever it costs (a request dropped unfinished: the peers need
    /// every round).
    func drain() { try? waitAll(policy: .block) }

    /// Stops the progress thread's polls.
    func retire() { ProgressThread.retire(self) }

    private func pollLocked() throws(MPIError) -> Bool {
        while round < 3 {
            if let failure { throw failure }
            var flag: CInt = 0
            try record(mpi_testall(pending, &flag), "MPI_Testall")
            guard flag != 0 else { return false }
            try advanceLocked()
        }
        return true
    }

    /// Keeps a failure for every later poll and wait (a failed round must not look complete).
    private func record(_ rc: CInt, _ function: String) throws(MPIError) {
        guard rc != MPI_SUCCESS else { return }
        let error = makeMPIError(rc, function: function)
        failure = error
        throw error
    }

    /// With every request of the round complete: reduces, or posts the next round, or finishes.
    private func advanceLocked() throws(MPIError) {
        do throws(MPIError) {
            if round == 1 {
                try reduceOwnBlock()
                if gatherAfter {
                    try postSecondRound()
                    round = 2
                    return
                }
            }
            round = 3
            ProgressThread.retire(self)
        } catch {
            failure = error
            throw error
        }
    }

    /// This rank's block reduced over libnbc's binomial tree, into `output`.
    private func reduceOwnBlock() throws(MPIError) {
        let own = counts[rank]
        guard own > 0, let messageBase = message.baseAddress, let stagingBase = staging.baseAddress,
              let outputBase = output.baseAddress else { return }
        var slots = (0..<size).map { $0 == rank ? messageBase + offsets[rank] : stagingBase + peerSlot($0) }
        var distance = 1
        while distance < size {
            for lower in stride(from: 0, to: size - distance, by: 2 * distance) {
                let upper = lower + distance
                try check(mpi_reduce_local(UnsafeRawPointer(slots[lower]), UnsafeMutableRawPointer(slots[upper]), CInt(own),
                                           T.mpiDatatype.handle, op), "MPI_Reduce_local")
                slots[lower] = slots[upper]
            }
            distance *= 2
        }
        let destination = gatherAfter ? outputBase + offsets[rank] : outputBase
        if slots[0] != destination { destination.update(from: slots[0], count: own) }
    }
}
