extension Communicator {
    /// Copies `root`'s `buffer` into `buffer` on every other rank. Every rank passes a buffer
    /// of the same count.
    ///
    /// - Throws: `MPIError.invalidArgument` when `root` is not a rank of this communicator.
    ///
    /// Bytes moved per rank (pipelined chain): N received by every non-root, N sent by every
    /// rank but the last of the chain.
    /// The corresponding MPI function is `MPI_Bcast`.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws(MPIError) {
        let function = "Communicator.broadcast"
        try ensureActive(function)
        guard (0..<size).contains(root) else {
            throw .invalidArgument("root \(root) is not a rank of a communicator of \(size)", in: function)
        }
        let count = try cCount(buffer.count, "element count", function)
        try recorded(.broadcast, T.mpiDatatype, count: buffer.count, root: root,
                     volume: { RingCost.broadcast(count: buffer.count, groupSize: size, rank: rank, root: root) }) { () throws(MPIError) in
            try check(mpi_bcast(address(buffer), count, T.mpiDatatype.handle, CInt(root), handle.raw), "MPI_Bcast")
        }
    }

    /// Copies `root`'s `buffer` into `buffer` on every other rank (same count everywhere).
    ///
    /// The corresponding MPI function is `MPI_Bcast`.
    public func broadcast<T: MPIScalar>(_ buffer: inout [T], root: Int = 0) throws(MPIError) {
        try buffer.withMutableBuffer { (pointer) throws(MPIError) in try broadcast(pointer, root: root) }
    }
}
