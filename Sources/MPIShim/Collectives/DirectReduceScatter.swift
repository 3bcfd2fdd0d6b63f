import CMPI

/// The transport of `Communicator.iReduceScatter(_:counts:op:)`: every rank sends each peer that
/// peer's block of its input and receives its own block from every peer, all at once, then
/// reduces the blocks it received locally.
///
/// Open MPI's nonblocking `MPI_Ireduce_scatter` (libnbc) reduces the whole input to rank 0 over a
/// binomial tree and then scatters it from there: on 2 ranks rank 1 sends its whole input, twice
/// its share, and rank 0 sends only after it has everything. On the emulated cluster that put 1.72
/// MB more per step on one direction of the link than on the other for FSDP's gradient
/// reduce-scatters (kernel counters, `fsdp=2`), and serialized each one. Here each rank sends
/// N − counts[rank] elements, the ring's bytes, in one round. The local reduction follows
/// libnbc's binomial tree (block of rank i combined with that of rank i + 2^(k−1), k = 1, 2, …), with
/// `MPI_Reduce_local` applying the same operation: the result is bit for bit libnbc's.
///
/// Messages use `tag` on the collective's own communicator; every rank starts its
/// reduce-scatters in the same order, and MPI matches messages between two ranks with one tag in
/// the order they were posted, so concurrent reduce-scatters never mix.
final class DirectReduceScatter<T: MPIScalar>: @unchecked Sendable {
    /// The tag of the exchanges (point-to-point traffic on a collective's communicator).
    static var tag: CInt { 0x5253 }

    /// Sends and receives in flight (none on one rank or when nothing moves).
    let pending: UnsafeMutableBufferPointer<MPI_Request?>
    private let storage: UnsafeMutableBufferPointer<MPI_Request?>
    /// The blocks received, one slot of `counts[rank]` elements per peer (this rank's slot unused).
    private let staging: UnsafeMutableBufferPointer<T>
    private let counts: [Int]
    private let rank: Int
    private let size: Int
    private let op: MPI_Op?

    /// Posts the exchanges of `input` (which the caller keeps alive and unchanged until
    /// `finish`) in blocks of `counts`.
    init(input: UnsafeMutableBufferPointer<T>, counts: [Int], offsets: [Int], rank: Int, size: Int, op: MPI_Op?,
         comm: MPI_Comm?) throws(MPIError) {
        self.counts = counts
        self.rank = rank
        self.size = size
        self.op = op
        let own = counts[rank]
        staging = .owned(count: own * size)
        let peers = (0..<size).filter { $0 != rank }
        let moves = (own > 0 ? peers.count : 0) + peers.filter { counts[$0] > 0 }.count
        storage = .allocate(capacity: Swift.max(moves, 1))
        storage.initialize(repeating: nil)
        pending = UnsafeMutableBufferPointer(rebasing: storage[0..<moves])
        var next = 0
        // Receives first, so a peer's block finds its buffer posted.
        if own > 0 {
            for peer in peers {
                try check(mpi_irecv(staging.baseAddress.map { UnsafeMutableRawPointer($0 + peer * own) }, CInt(own),
                                    T.mpiDatatype.handle, CInt(peer), Self.tag, comm, &pending[next]), "MPI_Irecv")
                next += 1
            }
        }
        for peer in peers where counts[peer] > 0 {
            try check(mpi_isend(input.baseAddress.map { UnsafeRawPointer($0 + offsets[peer]) }, CInt(counts[peer]),
                                T.mpiDatatype.handle, CInt(peer), Self.tag, comm, &pending[next]), "MPI_Isend")
            next += 1
        }
    }

    deinit {
        staging.deallocate()
        storage.deallocate()
    }

    /// Once every exchange completed: reduces this rank's block of `input` with the received
    /// blocks into `output` (`counts[rank]` elements). Overwrites `input`'s own block.
    func finish(input: UnsafeMutableBufferPointer<T>, offset: Int, output: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        let own = counts[rank]
        guard own > 0, let inputBase = input.baseAddress, let stagingBase = staging.baseAddress,
              let outputBase = output.baseAddress else { return }
        var slots = (0..<size).map { $0 == rank ? inputBase + offset : stagingBase + $0 * own }
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
        outputBase.update(from: slots[0], count: own)
    }
}
