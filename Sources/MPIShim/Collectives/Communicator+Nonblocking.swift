extension Communicator {
    /// Starts an all-reduce of `buffer` and returns at once. The request owns the data until
    /// `wait()` returns the reduced values.
    ///
    /// The corresponding MPI function is `MPI_Iallreduce` with `MPI_IN_PLACE`.
    public func iAllReduce<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOp = .sum) throws(MPIError) -> Request<T> {
        let function = "Communicator.iAllReduce"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        let count = try cCount(buffer.count, "element count", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iAllReduce, datatype: T.mpiDatatype,
                                                      count: Int64(buffer.count), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iAllReduce, reduction: op, elementCount: buffer.count,
                                 volume: RingCost.allReduce(count: buffer.count, groupSize: size, rank: rank),
                                 sendBuffer: .owned(count: 0), receiveBuffer: .ownedCopy(of: buffer))
        try check(mpi_iallreduce(mpiInPlace, address(request.receiveBuffer), count, T.mpiDatatype.handle, op.handle,
                                 handle.raw, &request.handle), "MPI_Iallreduce")
        return request
    }

    /// Starts a reduce-scatter in equal blocks (`input.count` divisible by `size`). `wait()`
    /// returns this rank's block.
    ///
    /// The corresponding MPI function is `MPI_Ireduce_scatter_block`.
    public func iReduceScatter<T: MPIScalar>(_ input: consuming [T], op: ReductionOp = .sum) throws(MPIError) -> Request<T> {
        let function = "Communicator.iReduceScatter"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        guard input.count % size == 0 else {
            throw .invalidArgument("input of \(input.count) elements is not divisible by the communicator size \(size)",
                                   in: function)
        }
        let block = input.count / size
        let cBlock = try cCount(block, "block size", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iReduceScatter, datatype: T.mpiDatatype,
                                                      count: Int64(input.count), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iReduceScatter, reduction: op, elementCount: input.count,
                                 volume: RingCost.reduceScatter(blockCount: block, groupSize: size),
                                 sendBuffer: .ownedCopy(of: input), receiveBuffer: .owned(count: block))
        try check(mpi_ireduce_scatter_block(address(request.sendBuffer), address(request.receiveBuffer), cBlock,
                                            T.mpiDatatype.handle, op.handle, handle.raw, &request.handle),
                  "MPI_Ireduce_scatter_block")
        return request
    }

    /// Starts an all-gather of equal blocks. `wait()` returns every rank's input in rank order.
    ///
    /// The corresponding MPI function is `MPI_Iallgather`.
    public func iAllGather<T: MPIScalar>(_ input: consuming [T]) throws(MPIError) -> Request<T> {
        let function = "Communicator.iAllGather"
        try ensureActive(function)
        let block = try cCount(input.count, "block size", function)
        _ = try cCount(input.count * size, "output size", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iAllGather, datatype: T.mpiDatatype,
                                                      count: Int64(input.count * size), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iAllGather, reduction: nil, elementCount: input.count * size,
                                 volume: RingCost.allGather(blockCount: input.count, groupSize: size),
                                 sendBuffer: .ownedCopy(of: input), receiveBuffer: .owned(count: input.count * size))
        try check(mpi_iallgather(address(request.sendBuffer), block, address(request.receiveBuffer), block,
                                 T.mpiDatatype.handle, handle.raw, &request.handle), "MPI_Iallgather")
        return request
    }
}
