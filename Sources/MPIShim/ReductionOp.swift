/// A reduction applied element-wise by `allReduce` and `reduceScatter`.
public enum ReductionOp: String, Sendable, Hashable, Codable, CaseIterable {
    /// Element-wise sum (`MPI_SUM`).
    case sum
    /// Element-wise mean over the communicator: an `MPI_SUM` followed by a local division by
    /// the communicator size. MPI has no average; floating-point types only.
    case average
    /// Element-wise maximum (`MPI_MAX`).
    case max
    /// Element-wise minimum (`MPI_MIN`).
    case min
}
