import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Dion over a `ShardedMatrix` (issue #4, first part): the replicated layout (path A) and the FSDP
/// layout (path B: rows over `fsdp`), each with the uncompressed data-parallel sync (the gradient
/// is all-reduce-averaged over `dp`) or the compressed one (§2.1: P₀ and R are averaged over `dp`
/// instead). Only rank-r factors cross the `fsdp` axis: the partial P₀ (p×r, plus one zero-guard
/// element) and the 1×r column sums of squares of R; with the compressed sync the same holds on `dp`.
///
/// Orientation follows §2: FSDP shards dim 0, so the work matrix is Mᵀ (p = n, q = m) and Q is
/// row-sharded exactly like X. Q₀ and the RCQR sketch come from the keyed generator, so every
/// rank's Q₀ rows are a slice of the single-device Q₀ and every rank draws the same sketch.
///
/// Not yet: FSDP × TP (path C) and batching of same-shape matrices. Tensor-parallel layouts are
/// refused with a clear error.
public struct DistributedDion: Sendable {
    /// This rank's share of the optimizer state.
    public struct State: Sendable, Equatable {
        /// This rank's block of M (same block as the parameter's).
        public var momentum: Matrix
        /// This rank's rows of Q (all of Q for the replicated layout).
        public var q: Matrix
        public var step: Int
        public let parameterID: UInt64
        /// The work orientation (Mᵀ for FSDP on dim 0).
        public let transposed: Bool
        /// The global shape.
        public let rows: Int
        public let columns: Int
    }

    /// How gradients are synchronized over the replicate (`dp`) axis.
    public enum DataParallelSync: String, Sendable, Hashable, Codable {
        /// Compressed when it pays (§2: ρ < 1 and (m + n)·r < m·n), else uncompressed.
        case automatic
        /// All-reduce-average the gradient, then step (every replica holds the same buffer).
        case uncompressed
        /// Never all-reduce the gradient: average P₀ and R over `dp` instead; replicas keep their
        /// own buffers, whose mean follows the single-device recursion (§2.1).
        case compressed
    }

    /// The single-device optimizer whose configuration and sketches this one uses.
    public let dion: Dion
    /// The data-parallel synchronization.
    public let dataParallelSync: DataParallelSync

    public init(_ configuration: DionConfiguration, dataParallelSync: DataParallelSync = .automatic) {
        dion = Dion(configuration)
        self.dataParallelSync = dataParallelSync
    }

    /// The work orientation a layout implies (§2): FSDP on dim 0 transposes; the replicated
    /// layout keeps the single-device rule (transpose when m < n).
    public static func transposed(for layout: ShardLayout, rows m: Int, columns n: Int) -> Bool {
        layout == .fsdp ? true : m < n
    }

    /// The state for a sharded parameter: M = 0 on this rank's block and this rank's rows of the
    /// global Q₀ — the keyed generator's, or `q0` (the whole q × r matrix in this layout's work
    /// orientation: q = m under FSDP) when given.
    public func initialState(for x: ShardedMatrix, parameterID: UInt64, mesh: DeviceMesh,
                             q0: Matrix? = nil) throws(OptimizerError) -> State {
        try Self.checkSupported(x.layout, mesh)
        let (m, n) = (x.rows, x.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "Dion needs a non-empty matrix, got \(m)×\(n)") }
        let r = try dion.configuration.rank(rows: m, columns: n)
        let transposed = Self.transposed(for: x.layout, rows: m, columns: n)
        let qRows = transposed ? m : n
        // Q is row-sharded like X's rows under FSDP; whole otherwise.
        let rows = x.layout == .fsdp ? x.rowRange : 0..<qRows
        let q: Matrix
        if let q0 {
            guard q0.rows == qRows, q0.columns == r else {
                throw OptimizerError(.shapeMismatch, "Q₀ must be \(qRows)×\(r) in the work orientation of \(x.layout) "
                                     + "(q = \(transposed ? "m" : "n")), got \(q0.rows)×\(q0.columns)")
            }
            q = q0.rows(rows)
        } else {
            q = KeyedNormalGenerator(seed: dion.configuration.seed)
                .block(stream: Dion.q0Stream(parameterID: parameterID), globalColumns: r, rows: rows, columns: 0..<r)
        }
        return State(momentum: Matrix(rows: x.localRows, columns: x.localColumns), q: q, step: 0,
                     parameterID: parameterID, transposed: transposed, rows: m, columns: n)
    }

    static func checkSupported(_ layout: ShardLayout, _ mesh: DeviceMesh) throws(OptimizerError) {
        let s = mesh.shape
        if layout == .replicated && s.fsdp == 1 && s.tp == 1 { return }
        if layout == .fsdp && s.tp == 1 { return }
        throw OptimizerError(.unsupportedTensor, "distributed Dion supports the replicated layout on dp=R meshes "
                             + "(path A) and the fsdp layout on dp=R,fsdp=F meshes (path B) so far; \(layout) on \(s) "
                             + "(path C, tensor parallel) is not implemented yet")
    }
}
