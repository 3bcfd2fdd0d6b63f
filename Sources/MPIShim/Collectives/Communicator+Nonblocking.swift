extension Communicator {
    /// Starts an all-reduce of `buffer` and returns at once. The request owns the data until
    /// `wait()` returns the reduced values.
    ///
    /// The result is that of `MPI_Iallreduce` with `MPI_IN_PLACE`, bit for bit; the transport is
    /// point-to-point (`DirectReduction`: a reduce-scatter round and an all-gather round, each
    /// rank sending the ring's bytes). Every rank must wait for its all-reduces in the same order
    /// (or run the progress thread): the second round starts when this request is tested or waited.
    public func iAllReduce<T: MPIScalar>(_ buffer: consuming [T], op: ReductionOp = .sum) throws(MPIError) -> Request<T> {
        try iAllReduce(count: buffer.count, op: op) { message in _ = message.initialize(from: buffer) }
    }

    /// Starts an all-reduce of a `count`-element message that `fill` writes straight into the
    /// request's own buffer (no array in between), and returns at once. `fill` must write every
    /// element; it runs after the arguments are checked and before MPI starts.
    ///
    /// The result is that of `MPI_Iallreduce` with `MPI_IN_PLACE`, bit for bit; the transport is
    /// point-to-point (`DirectReduction`: a reduce-scatter round and an all-gather round, each
    /// rank sending the ring's bytes). Every rank must wait for its all-reduces in the same order
    /// (or run the progress thread): the second round starts when this request is tested or waited.
    public func iAllReduce<T: MPIScalar>(count elementCount: Int, op: ReductionOp = .sum,
                                         fill: (UnsafeMutableBufferPointer<T>) -> Void) throws(MPIError) -> Request<T> {
        let function = "Communicator.iAllReduce"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        _ = try cCount(elementCount, "element count", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iAllReduce, datatype: T.mpiDatatype,
                                                      count: Int64(elementCount), root: -1))
        }
        let message = UnsafeMutableBufferPointer<T>.owned(count: elementCount)
        fill(message)
        var request = Request<T>(communicator: self, operation: .iAllReduce, reduction: op, elementCount: elementCount,
                                 volume: RingCost.allReduce(count: elementCount, groupSize: size, rank: rank),
                                 sendBuffer: .owned(count: 0), receiveBuffer: message)
        let n = size, block = elementCount / n, extra = elementCount % n
        let counts = (0..<n).map { block + ($0 < extra ? 1 : 0) }
        request.direct = try DirectReduction(message: request.receiveBuffer, output: request.receiveBuffer, counts: counts,
                                             on: self, op: op.handle, gatherAfter: true)
        return request
    }

    /// Starts a reduce-scatter in equal blocks (`input.count` divisible by `size`). `wait()`
    /// returns this rank's block.
    ///
    /// The result is `MPI_Ireduce_scatter_block`'s, bit for bit; the transport is point-to-point
    /// (`DirectReduction`: each rank sends the ring's bytes, in one round).
    public func iReduceScatter<T: MPIScalar>(_ input: consuming [T], op: ReductionOp = .sum) throws(MPIError) -> Request<T> {
        let function = "Communicator.iReduceScatter"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        guard input.count % size == 0 else {
            throw .invalidArgument("input of \(input.count) elements is not divisible by the communicator size \(size)",
                                   in: function)
        }
        let block = input.count / size
        _ = try cCount(block, "block size", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iReduceScatter, datatype: T.mpiDatatype,
                                                      count: Int64(input.count), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iReduceScatter, reduction: op, elementCount: input.count,
                                 volume: RingCost.reduceScatter(blockCount: block, groupSize: size),
                                 sendBuffer: .ownedCopy(of: input), receiveBuffer: .owned(count: block))
        request.direct = try DirectReduction(message: request.sendBuffer, output: request.receiveBuffer,
                                             counts: Array(repeating: block, count: size), on: self, op: op.handle,
                                             gatherAfter: false)
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

    /// Starts an all-gather where rank i contributes `counts[i]` elements (some may be empty).
    /// `wait()` returns every rank's input concatenated in rank order.
    ///
    /// - Throws: `MPIError.invalidArgument` when `counts` does not have one non-negative entry per
    ///   rank or `counts[rank]` is not `input.count`, before calling MPI.
    ///
    /// Bytes moved per rank (ring): sent N − counts[r+1], received N − counts[r], as the
    /// blocking `allGather(_:counts:)`.
    /// The corresponding MPI function is `MPI_Iallgatherv`.
    public func iAllGather<T: MPIScalar>(_ input: consuming [T], counts: [Int]) throws(MPIError) -> Request<T> {
        let function = "Communicator.iAllGather(_:counts:)"
        try ensureActive(function)
        let (cCounts, displacements, total) = try cCounts(counts, "counts", function)
        guard counts[rank] == input.count else {
            throw .invalidArgument("counts[\(rank)] is \(counts[rank]) but this rank contributes \(input.count) elements",
                                   in: function)
        }
        let sendCount = try cCount(input.count, "element count", function)
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iAllGather, datatype: T.mpiDatatype,
                                                      count: Int64(total), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iAllGather, reduction: nil, elementCount: total,
                                 volume: RingCost.allGather(counts: counts, rank: rank),
                                 sendBuffer: .ownedCopy(of: input), receiveBuffer: .owned(count: total),
                                 counts: cCounts + displacements)
        let n = size
        try check(mpi_iallgatherv(address(request.sendBuffer), sendCount, address(request.receiveBuffer),
                                  request.countBuffer.baseAddress, request.countBuffer.baseAddress.map { $0 + n },
                                  T.mpiDatatype.handle, handle.raw, &request.handle), "MPI_Iallgatherv")
        return request
    }

    /// Starts a reduce-scatter in uneven blocks: rank i keeps `counts[i]` elements of the
    /// reduced `input` (blocks in rank order). `wait()` returns this rank's block.
    ///
    /// - Throws: `MPIError.invalidArgument` when `counts` does not have one non-negative entry per
    ///   rank summing to `input.count`, before calling MPI.
    ///
    /// The result is `MPI_Ireduce_scatter`'s, bit for bit; the transport is point-to-point
    /// (`DirectReduction`): each rank sends N − counts[r] elements in one round and receives
    /// (size − 1)·counts[r]. The ledger records the ring's volume, as for the blocking
    /// `reduceScatter(_:counts:op:)` (sent N − counts[r], received N − counts[r−1]; the same bytes
    /// for equal blocks).
    public func iReduceScatter<T: MPIScalar>(_ input: consuming [T], counts: [Int],
                                             op: ReductionOp = .sum) throws(MPIError) -> Request<T> {
        let function = "Communicator.iReduceScatter(_:counts:op:)"
        try ensureActive(function)
        try checkReduction(op, T.mpiDatatype, function)
        let (_, _, total) = try cCounts(counts, "counts", function)
        guard total == input.count else {
            throw .invalidArgument("counts sum to \(total) but the input has \(input.count) elements", in: function)
        }
        if CollectiveGuards.debugChecks.load(ordering: .relaxed) && !isGuardShadow {
            try verifyAgreement(CollectiveFingerprint(operation: .iReduceScatter, datatype: T.mpiDatatype,
                                                      count: Int64(total), root: -1))
        }
        var request = Request<T>(communicator: self, operation: .iReduceScatter, reduction: op, elementCount: total,
                                 volume: RingCost.reduceScatter(counts: counts, rank: rank),
                                 sendBuffer: .ownedCopy(of: input), receiveBuffer: .owned(count: counts[rank]))
        request.direct = try DirectReduction(message: request.sendBuffer, output: request.receiveBuffer, counts: counts,
                                             on: self, op: op.handle, gatherAfter: false)
        return request
    }
}
