extension Communicator {
    /// Concatenates every rank's `input`, in rank order, into `output` on every rank, with
    /// equal blocks: `output.count == size · input.count`.
    ///
    /// - Throws: `MPIError.invalidArgument` when the sizes do not match, before calling MPI.
    ///
    /// Bytes moved per rank (ring): (g−1)·input.count·size(T) sent and received.
    /// The corresponding MPI function is `MPI_Allgather`.
    public func allGather<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        let function = "Communicator.allGather"
        try ensureActive(function)
        guard output.count == input.count * size else {
            throw .invalidArgument("output of \(output.count) elements is not \(size) blocks of the input's \(input.count)",
                                   in: function)
        }
        let block = try cCount(input.count, "block size", function)
        try recorded(.allGather, T.mpiDatatype, count: output.count,
                     volume: { RingCost.allGather(blockCount: input.count, groupSize: size) }) { () throws(MPIError) in
            try check(mpi_allgather(address(input), block, address(output), block, T.mpiDatatype.handle, handle.raw),
                      "MPI_Allgather")
        }
    }

    /// Returns every rank's `input` concatenated in rank order (equal sizes on every rank).
    ///
    /// The corresponding MPI function is `MPI_Allgather`.
    public func allGather<T: MPIScalar>(_ input: [T]) throws(MPIError) -> [T] {
        try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: source.count * size) { (output) throws(MPIError) in
                try allGather(source, into: output)
            }
        }
    }

    /// Concatenates every rank's `input` into `output` where rank i contributes `counts[i]`
    /// elements (uneven blocks, some possibly empty).
    ///
    /// - Parameters:
    ///   - counts: One entry per rank, the same on every rank; `counts[rank] == input.count` and
    ///     the sum equals `output.count`.
    /// - Throws: `MPIError.invalidArgument` when the counts do not match, before calling MPI.
    ///
    /// Bytes moved per rank (ring): sent N − counts[r+1], received N − counts[r].
    /// The corresponding MPI function is `MPI_Allgatherv`.
    public func allGather<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                        counts: [Int]) throws(MPIError) {
        let function = "Communicator.allGather(_:into:counts:)"
        try ensureActive(function)
        let (cCounts, displacements, total) = try cCounts(counts, "counts", function)
        guard counts[rank] == input.count else {
            throw .invalidArgument("counts[\(rank)] is \(counts[rank]) but this rank contributes \(input.count) elements",
                                   in: function)
        }
        guard total == output.count else {
            throw .invalidArgument("counts sum to \(total) but the output has \(output.count) elements", in: function)
        }
        let sendCount = try cCount(input.count, "element count", function)
        try recorded(.allGather, T.mpiDatatype, count: output.count,
                     volume: { RingCost.allGather(counts: counts, rank: rank) }) { () throws(MPIError) in
            try cCounts.withBuffer { (c) throws(MPIError) in
                try displacements.withBuffer { (d) throws(MPIError) in
                    try check(mpi_allgatherv(address(input), sendCount, address(output), c.baseAddress, d.baseAddress,
                                             T.mpiDatatype.handle, handle.raw), "MPI_Allgatherv")
                }
            }
        }
    }

    /// Returns every rank's `input` concatenated in rank order, where rank i contributes
    /// `counts[i]` elements.
    ///
    /// The corresponding MPI function is `MPI_Allgatherv`.
    public func allGather<T: MPIScalar>(_ input: [T], counts: [Int]) throws(MPIError) -> [T] {
        guard counts.count == size, counts.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument("counts must have \(size) non-negative entries, got \(counts)",
                                   in: "Communicator.allGather(_:counts:)")
        }
        return try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: counts.reduce(0, +)) { (output) throws(MPIError) in
                try allGather(source, into: output, counts: counts)
            }
        }
    }

    /// Returns every rank's `input` concatenated in rank order, for inputs whose sizes are not
    /// known in advance: the counts are all-gathered first (a second, recorded collective).
    ///
    /// - Returns: The concatenation and the per-rank counts.
    public func allGatherVariable<T: MPIScalar>(_ input: [T]) throws(MPIError) -> (values: [T], counts: [Int]) {
        let counts = try allGather([Int64(input.count)]).map { Int($0) }
        return (try allGather(input, counts: counts), counts)
    }
}
