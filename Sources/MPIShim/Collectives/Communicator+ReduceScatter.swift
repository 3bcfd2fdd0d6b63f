extension Communicator {
    /// Reduces `input` element-wise over all processes and leaves block `rank` of the result
    /// in `output`, with equal blocks: `input.count == size · output.count`.
    ///
    /// - Throws: `MPIError.invalidArgument` when the sizes do not match, before calling MPI.
    ///
    /// Bytes moved per rank (ring): (g−1)·output.count·size(T) sent and received.
    /// The corresponding MPI function is `MPI_Reduce_scatter_block`.
    public func reduceScatter<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                            op: ReductionOp = .sum) throws(MPIError) {
        let function = "Communicator.reduceScatter"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        guard input.count == output.count * size else {
            throw .invalidArgument("input of \(input.count) elements is not \(size) blocks of the output's \(output.count)",
                                   in: function)
        }
        let block = try cCount(output.count, "block size", function)
        try recorded(.reduceScatter, T.mpiDatatype, count: input.count,
                     volume: { RingCost.reduceScatter(blockCount: output.count, groupSize: size) }) { () throws(MPIError) in
            try check(mpi_reduce_scatter_block(address(input), address(output), block, T.mpiDatatype.handle, op.handle,
                                               handle.raw), "MPI_Reduce_scatter_block")
        }
        if op == .average { divideBySize(output) }
    }

    /// Reduces `input` over all processes and returns this rank's block of `input.count / size`
    /// elements.
    ///
    /// - Throws: `MPIError.invalidArgument` when `input.count` is not divisible by `size`.
    ///
    /// The corresponding MPI function is `MPI_Reduce_scatter_block`.
    public func reduceScatter<T: MPIScalar>(_ input: [T], op: ReductionOp = .sum) throws(MPIError) -> [T] {
        guard input.count % size == 0 else {
            throw .invalidArgument("input of \(input.count) elements is not divisible by the communicator size \(size); "
                                   + "use reduceScatter(_:counts:op:) for uneven blocks", in: "Communicator.reduceScatter")
        }
        return try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: source.count / size) { (output) throws(MPIError) in
                try reduceScatter(source, into: output, op: op)
            }
        }
    }

    /// Reduces `input` over all processes and leaves block `rank` in `output`, where rank i's
    /// block has `counts[i]` elements (blocks laid out in rank order; some may be empty).
    ///
    /// - Parameters:
    ///   - counts: One entry per rank, the same on every rank, summing to `input.count`.
    /// - Throws: `MPIError.invalidArgument` when `counts` does not match `size`, `input.count` or
    ///   `output.count`, before calling MPI.
    ///
    /// Bytes moved per rank (ring): sent N − counts[r], received N − counts[r−1].
    /// The corresponding MPI function is `MPI_Reduce_scatter`.
    public func reduceScatter<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], op: ReductionOp = .sum) throws(MPIError) {
        let function = "Communicator.reduceScatter(_:into:counts:)"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        let (cCounts, _, total) = try cCounts(counts, "counts", function)
        guard total == input.count else {
            throw .invalidArgument("counts sum to \(total) but the input has \(input.count) elements", in: function)
        }
        guard counts[rank] == output.count else {
            throw .invalidArgument("counts[\(rank)] is \(counts[rank]) but the output has \(output.count) elements", in: function)
        }
        try recorded(.reduceScatter, T.mpiDatatype, count: input.count,
                     volume: { RingCost.reduceScatter(counts: counts, rank: rank) }) { () throws(MPIError) in
            try cCounts.withBuffer { (countPointer) throws(MPIError) in
                try check(mpi_reduce_scatter(address(input), address(output), countPointer.baseAddress, T.mpiDatatype.handle,
                                             op.handle, handle.raw), "MPI_Reduce_scatter")
            }
        }
        if op == .average { divideBySize(output) }
    }

    /// Reduces `input` over all processes and returns this rank's block of `counts[rank]`
    /// elements (uneven blocks).
    ///
    /// The corresponding MPI function is `MPI_Reduce_scatter`.
    public func reduceScatter<T: MPIScalar>(_ input: [T], counts: [Int], op: ReductionOp = .sum) throws(MPIError) -> [T] {
        guard counts.count == size else {
            throw .invalidArgument("counts has \(counts.count) entries for a communicator of \(size)",
                                   in: "Communicator.reduceScatter(_:counts:)")
        }
        guard counts[rank] >= 0 else {
            throw .invalidArgument("counts[\(rank)] is negative", in: "Communicator.reduceScatter(_:counts:)")
        }
        return try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: counts[rank]) { (output) throws(MPIError) in
                try reduceScatter(source, into: output, counts: counts, op: op)
            }
        }
    }
}
