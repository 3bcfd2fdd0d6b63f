extension Communicator {
    /// Sends block j of `input` to rank j and receives rank j's block for this rank into block j
    /// of `output`, with equal blocks: `input.count == output.count`, divisible by `size`.
    ///
    /// - Throws: `MPIError.invalidArgument` when the sizes do not match, before calling MPI.
    ///
    /// Bytes moved per rank: (g−1)/g·N sent and received (the own block stays local).
    /// The corresponding MPI function is `MPI_Alltoall`.
    public func allToAll<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws(MPIError) {
        let function = "Communicator.allToAll"
        try ensureActive(function)
        guard input.count == output.count, input.count % size == 0 else {
            throw .invalidArgument("input (\(input.count)) and output (\(output.count)) must be equal and divisible by \(size)",
                                   in: function)
        }
        let block = try cCount(input.count / size, "block size", function)
        try recorded(.allToAll, T.mpiDatatype, count: input.count,
                     volume: { RingCost.allToAll(blockCount: input.count / size, groupSize: size) }) { () throws(MPIError) in
            try check(mpi_alltoall(address(input), address(output), block, T.mpiDatatype.handle, handle.raw), "MPI_Alltoall")
        }
    }

    /// Equal-block all-to-all on arrays; see `allToAll(_:into:)`.
    ///
    /// The corresponding MPI function is `MPI_Alltoall`.
    public func allToAll<T: MPIScalar>(_ input: [T]) throws(MPIError) -> [T] {
        try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: source.count) { (output) throws(MPIError) in try allToAll(source, into: output) }
        }
    }

    /// Sends `sendCounts[j]` elements (consecutive blocks of `input`, in rank order) to rank j
    /// and receives `receiveCounts[j]` elements from rank j into consecutive blocks of `output`.
    ///
    /// - Throws: `MPIError.invalidArgument` when the counts do not match the buffers or the
    ///   communicator, before calling MPI.
    ///
    /// The corresponding MPI function is `MPI_Alltoallv`.
    public func allToAll<T: MPIScalar>(_ input: UnsafeBufferPointer<T>, sendCounts: [Int],
                                       into output: UnsafeMutableBufferPointer<T>, receiveCounts: [Int]) throws(MPIError) {
        let function = "Communicator.allToAll(_:sendCounts:into:receiveCounts:)"
        try ensureActive(function)
        let send = try cCounts(sendCounts, "sendCounts", function)
        let receive = try cCounts(receiveCounts, "receiveCounts", function)
        guard send.total == input.count, receive.total == output.count else {
            throw .invalidArgument("sendCounts sum to \(send.total) for an input of \(input.count), receiveCounts to "
                                   + "\(receive.total) for an output of \(output.count)", in: function)
        }
        try recorded(.allToAll, T.mpiDatatype, count: input.count, agreedCount: -1,
                     volume: { RingCost.allToAll(sendCounts: sendCounts, receiveCounts: receiveCounts, rank: rank) }) { () throws(MPIError) in
            try send.counts.withBuffer { (sc) throws(MPIError) in
                try send.displacements.withBuffer { (sd) throws(MPIError) in
                    try receive.counts.withBuffer { (rc) throws(MPIError) in
                        try receive.displacements.withBuffer { (rd) throws(MPIError) in
                            try check(mpi_alltoallv(address(input), sc.baseAddress, sd.baseAddress, address(output),
                                                    rc.baseAddress, rd.baseAddress, T.mpiDatatype.handle, handle.raw),
                                      "MPI_Alltoallv")
                        }
                    }
                }
            }
        }
    }

    /// Uneven all-to-all on arrays. When `receiveCounts` is `nil` the counts are exchanged
    /// first with an equal-block all-to-all of one `Int64` per rank (a second, recorded collective).
    ///
    /// The corresponding MPI function is `MPI_Alltoallv`.
    public func allToAll<T: MPIScalar>(_ input: [T], sendCounts: [Int], receiveCounts: [Int]? = nil) throws(MPIError) -> [T] {
        guard sendCounts.count == size else {
            throw .invalidArgument("sendCounts has \(sendCounts.count) entries for a communicator of \(size)",
                                   in: "Communicator.allToAll(_:sendCounts:receiveCounts:)")
        }
        let receive: [Int]
        if let receiveCounts {
            receive = receiveCounts
        } else {
            receive = try allToAll(sendCounts.map { Int64($0) }).map { Int($0) }
        }
        guard receive.count == size, receive.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument("receiveCounts must have \(size) non-negative entries, got \(receive)",
                                   in: "Communicator.allToAll(_:sendCounts:receiveCounts:)")
        }
        return try input.withBuffer { (source) throws(MPIError) -> [T] in
            try [T].filled(count: receive.reduce(0, +)) { (output) throws(MPIError) in
                try allToAll(source, sendCounts: sendCounts, into: output, receiveCounts: receive)
            }
        }
    }
}
