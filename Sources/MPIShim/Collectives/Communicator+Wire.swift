extension Communicator {
    /// Uneven all-to-all of fp32 data sent in the `wire` format: with `.bf16` every element is
    /// rounded to bfloat16 (nearest, ties to even) before it leaves — this rank's own segment too,
    /// so what every rank receives went through the same rounding — and widened back on arrival.
    /// The ledger records the bytes actually sent (2 per element with bf16).
    ///
    /// - Throws: what `allToAll(_:sendCounts:receiveCounts:)` throws.
    ///
    /// The corresponding MPI function is `MPI_Alltoallv`.
    public func allToAll(_ input: [Float], sendCounts: [Int], receiveCounts: [Int],
                         wire: WirePrecision) throws(MPIError) -> [Float] {
        switch wire {
        case .fp32: return try allToAll(input, sendCounts: sendCounts, receiveCounts: receiveCounts)
        case .bf16:
            return BFloat16.decode(try allToAll(BFloat16.encode(input), sendCounts: sendCounts, receiveCounts: receiveCounts))
        }
    }

    /// All-gather with per-rank `counts` of fp32 data in the `wire` format (this rank's own block
    /// is rounded like the others; see `allToAll(_:sendCounts:receiveCounts:wire:)`).
    ///
    /// - Throws: what `allGather(_:counts:)` throws.
    ///
    /// The corresponding MPI function is `MPI_Allgatherv`.
    public func allGather(_ input: [Float], counts: [Int], wire: WirePrecision) throws(MPIError) -> [Float] {
        switch wire {
        case .fp32: return try allGather(input, counts: counts)
        case .bf16: return BFloat16.decode(try allGather(BFloat16.encode(input), counts: counts))
        }
    }

    /// Broadcast of fp32 data in the `wire` format: with `.bf16` the root rounds its buffer to
    /// bfloat16 and keeps the rounded values too, so every rank ends with the same numbers.
    ///
    /// - Throws: what `broadcast(_:root:)` throws.
    ///
    /// The corresponding MPI function is `MPI_Bcast`.
    public func broadcast(_ buffer: inout [Float], root: Int, wire: WirePrecision) throws(MPIError) {
        switch wire {
        case .fp32: try broadcast(&buffer, root: root)
        case .bf16:
            var bits = BFloat16.encode(buffer)
            try broadcast(&bits, root: root)
            buffer = BFloat16.decode(bits)
        }
    }
}
