extension Communicator {
    /// Reduces `buffer` element-wise over all processes, in place: afterwards every process
    /// holds the same result.
    ///
    /// - Parameters:
    ///   - buffer: The contribution on entry, the result on return; same count on every rank.
    ///   - op: The reduction. `.average` sums then divides by `size` (floating-point only).
    /// - Throws: `MPIError` (`.invalidArgument` for `.average` on integers or counts above
    ///   `Int32.max`; `.mpiCallFailed` when MPI fails).
    ///
    /// Bytes moved per rank (ring): 2(g−1)/g·N·size(T) sent and received; see `RingCost.allReduce`.
    /// The corresponding MPI function is `MPI_Allreduce` with `MPI_IN_PLACE`.
    public func allReduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp = .sum) throws(MPIError) {
        let function = "Communicator.allReduce"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        let count = try cCount(buffer.count, "element count", function)
        try recorded(.allReduce, T.mpiDatatype, count: buffer.count,
                     volume: { RingCost.allReduce(count: buffer.count, groupSize: size, rank: rank) }) { () throws(MPIError) in
            try check(mpi_allreduce(mpiInPlace, address(buffer), count, T.mpiDatatype.handle, op.handle, handle.raw),
                      "MPI_Allreduce")
        }
        if op == .average { divideBySize(buffer) }
    }

    /// Reduces `input` element-wise over all processes into `output` (out of place).
    ///
    /// - Throws: `MPIError.invalidArgument` when `output.count != input.count`.
    ///
    /// The corresponding MPI function is `MPI_Allreduce`.
    public func allReduce<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>,
                                        op: ReductionOp = .sum) throws(MPIError) {
        let function = "Communicator.allReduce(_:into:)"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        guard input.count == output.count else {
            throw .invalidArgument("output has \(output.count) elements, input \(input.count)", in: function)
        }
        let count = try cCount(input.count, "element count", function)
        try recorded(.allReduce, T.mpiDatatype, count: input.count,
                     volume: { RingCost.allReduce(count: input.count, groupSize: size, rank: rank) }) { () throws(MPIError) in
            try check(mpi_allreduce(address(input), address(output), count, T.mpiDatatype.handle, op.handle, handle.raw),
                      "MPI_Allreduce")
        }
        if op == .average { divideBySize(output) }
    }

    /// Reduces `buffer` over all processes in place (torch's default).
    ///
    /// The corresponding MPI function is `MPI_Allreduce` with `MPI_IN_PLACE`.
    public func allReduce<T: MPIScalar>(_ buffer: inout [T], op: ReductionOp = .sum) throws(MPIError) {
        try buffer.withMutableBuffer { (pointer) throws(MPIError) in try allReduce(pointer, op: op) }
    }

    /// Returns the element-wise reduction of `input` over all processes (out of place).
    ///
    /// The corresponding MPI function is `MPI_Allreduce`.
    public func allReduced<T: MPIScalar>(_ input: [T], op: ReductionOp = .sum) throws(MPIError) -> [T] {
        try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: source.count) { (output) throws(MPIError) in
                try allReduce(source, into: output, op: op)
            }
        }
    }
}
