import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Dion over a `ShardedMatrix` on any mesh (§2): the replicated layout (path A), FSDP (path B:
/// rows over `fsdp`), tensor parallel and FSDP × TP (path C: P's side over `tp`, Q's side over
/// `fsdp`), each with the uncompressed data-parallel sync (the gradient is all-reduce-averaged over
/// `dp`) or the compressed one (§2.1: P₀ and R are averaged over `dp` instead).
///
/// Only rank-r factors cross `fsdp` and `tp`: the partial P₀ (p_loc×r plus a zero-guard element)
/// over `fsdp`; over `tp` the k_s×r sketch product and the r×r Gram matrix of the distributed
/// randomized Cholesky QR and the partial R (q_loc×r); the 1×r column sums of squares of R over
/// `fsdp`. With the compressed sync the same holds on `dp`. `DionWorkGeometry` gives the
/// orientation of each layout.
///
/// Q₀ and the RCQR sketch come from the keyed generator, so every rank's rows of Q₀ and columns
/// of the sketch are slices of the single-device draw. Deviation from the reference: Q is kept
/// whole over `tp` (q_loc×r instead of q_loc×r/T), which saves path C's all-gather of Q at
/// (T−1)/T·q_loc·r memory per rank.
///
/// Batching: `step(parameters:gradients:states:learningRates:mesh:)` steps any set of matrices
/// (same-shape or not) with each collective issued once for the whole batch — payloads are
/// concatenated, never padded with dummy matrices. Not done: spreading the orthonormalizations of
/// a batch over the `fsdp` ranks (every rank of an fsdp group orthonormalizes every P₀ itself).
public struct DistributedDion: Sendable {
    /// This rank's share of the optimizer state: a plain value, one per matrix, that the caller
    /// keeps between steps (and saves in a checkpoint, after `synchronizeForCheckpoint(_:mesh:)`).
    /// `Codable`: a checkpoint saves its momentum, Q and step field by field (the other fields are
    /// the configuration the optimizer rebuilds).
    public struct State: Sendable, Equatable, Codable {
        /// This rank's block of M (same block as the parameter's).
        public var momentum: Matrix
        /// This rank's rows of Q (all of Q for the replicated layout).
        public var q: Matrix
        /// Steps applied so far (the key of each step's RCQR sketch).
        public var step: Int
        /// The parameter's key for its Q₀ and sketch streams; unique per matrix in one run.
        public let parameterID: UInt64
        /// The work orientation (Mᵀ for FSDP on dim 0).
        public let transposed: Bool
        /// The global rows of the parameter.
        public let rows: Int
        /// The global columns of the parameter.
        public let columns: Int
    }

    /// How gradients are synchronized over the replicate (`dp`) axis.
    public typealias DataParallelSync = DionDataParallelSync

    /// The single-device optimizer whose configuration and sketches this one uses.
    public let dion: Dion
    /// The data-parallel synchronization.
    public let dataParallelSync: DataParallelSync
    /// `true` when the caller averages over `dp` every gradient that `dataParallelSync` does not
    /// compress (the training's `GradientSynchronizer`): the step then all-reduces only the
    /// compressed matrices' P₀ and R over `dp`, never a gradient. `StepPlan.dion` describes the
    /// step without it (a standalone optimizer).
    public var uncompressedGradientsAveragedByCaller = false
    /// `true` when the caller has agreed over the world that every gradient is finite: the step
    /// skips its own vote.
    public var finitenessAgreedByCaller = false

    /// A distributed Dion with these hyperparameters.
    ///
    /// - Parameters:
    ///   - configuration: the hyperparameters (rank, momentum, weight decay, seed of Q₀ and the
    ///     sketches), shared with the single-device `Dion`.
    ///   - dataParallelSync: how gradients meet over `dp`: `.automatic` (the compressed sync where it
    ///     sends fewer bytes, else the gradient is all-reduce-averaged), `.uncompressed`,
    ///     `.compressed`, or `.averagedByCaller` when the caller has already averaged the gradients
    ///     over `dp`.
    public init(_ configuration: DionConfiguration, dataParallelSync: DataParallelSync = .automatic) {
        dion = Dion(configuration)
        self.dataParallelSync = dataParallelSync
    }

    /// The work orientation a layout implies (§2): FSDP on dim 0 transposes; the replicated
    /// layout keeps the single-device rule (transpose when m < n).
    public static func transposed(for layout: ShardLayout, rows m: Int, columns n: Int) -> Bool {
        (try? DionWorkGeometry(layout: layout, rows: m, columns: n))?.transposed
            ?? DionWorkGeometry.singleDeviceTransposed(rows: m, columns: n)
    }

    /// The state for a sharded parameter: M = 0 on this rank's block and this rank's rows of the
    /// global Q₀ — the keyed generator's, or `q0` when given.
    ///
    /// `q0` is the whole q×r matrix in the work orientation of the layout (`DionWorkGeometry`):
    /// B = Mᵀ, q = m, when the rows are over `fsdp` or the columns over `tp` (`.fsdp`, `.rowParallel`,
    /// `.fsdpRowParallel`); B = M, q = n, when the rows are over `tp` or the columns over `fsdp`
    /// (`.columnParallel`, `.fsdpColumnParallel`); for `.replicated`, `transposed` or else the
    /// single-device rule (B = Mᵀ when m < n). A single-process Q₀ is in that rule's orientation, so
    /// to reuse one on a mesh shard with `DionWorkGeometry.layout(keepingTransposed:on:)` and pass
    /// `transposed`.
    ///
    /// - Parameters:
    ///   - x: this rank's shard of the parameter.
    ///   - parameterID: the key of the parameter's Q₀ and sketch streams.
    ///   - mesh: the mesh `x` is sharded on.
    ///   - q0: the global Q₀ (q×r) in the work orientation, or `nil` for the keyed generator's.
    ///   - requested: the work orientation (B = Mᵀ) to use; `nil` takes the layout's (§2). A square
    ///     `q0` needs it: its shape reads the same in both orientations.
    /// - Throws: `OptimizerError.unsupportedTensor` when the layout cannot be stepped on `mesh`, when
    ///   it implies the other orientation than `requested` (naming the layout that keeps it), or when
    ///   a square `q0` comes without `requested`; `.shapeMismatch` when `q0` is not q×r;
    ///   `.rankExceedsMatrix` for a rank outside 1…min(m, n).
    public func initialState(for x: ShardedMatrix, parameterID: UInt64, mesh: DeviceMesh,
                             q0: Matrix? = nil, transposed requested: Bool? = nil) throws(OptimizerError) -> State {
        try Self.checkSupported(x.layout, mesh)
        let (m, n) = (x.rows, x.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "Dion needs a non-empty matrix, got \(m)×\(n)") }
        let r = try dion.configuration.rank(rows: m, columns: n)
        let geometry = try Self.geometry(x, mesh: mesh, keepingTransposed: requested)
        if q0 != nil && m == n && requested == nil {
            throw OptimizerError(.unsupportedTensor, "a square Q₀ (\(m)×\(r)) reads the same as either factor; pass "
                                 + "transposed: to say which orientation it is in (\(x.layout) implies B = "
                                 + "\(geometry.transposed ? "Mᵀ" : "M"))")
        }
        let transposed = geometry.transposed
        let qRows = geometry.q
        // Q is row-sharded like B's columns (over fsdp); whole over tp.
        let rows = geometry.qRange(of: x)
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

    /// The work geometry of a sharded parameter, or a clear refusal.
    static func geometry(_ x: ShardedMatrix, preferTransposed: Bool? = nil) throws(OptimizerError) -> DionWorkGeometry {
        do throws(ShardingError) {
            return try DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns, preferTransposed: preferTransposed)
        } catch {
            throw OptimizerError(.unsupportedTensor, error.message)
        }
    }

    /// The work geometry of a sharded parameter whose orientation must be `transposed` (when given),
    /// or a clear refusal.
    static func geometry(_ x: ShardedMatrix, mesh: DeviceMesh,
                         keepingTransposed transposed: Bool?) throws(OptimizerError) -> DionWorkGeometry {
        guard let transposed else { return try geometry(x) }
        do throws(ShardingError) {
            return try DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns, keepingTransposed: transposed,
                                        on: mesh.shape)
        } catch {
            throw OptimizerError(.unsupportedTensor, error.message)
        }
    }

    /// Refuses layouts whose gradients the step cannot average correctly: a layout that leaves a
    /// dimension unsharded over a `fsdp` axis of size > 1 holds whole matrices on ranks that see
    /// different data (use a layout sharded over `fsdp`).
    static func checkSupported(_ layout: ShardLayout, _ mesh: DeviceMesh) throws(OptimizerError) {
        if mesh.shape.fsdp > 1 && layout.rows.axis != .fsdp && layout.columns.axis != .fsdp {
            throw OptimizerError(.unsupportedTensor, "\(layout) on \(mesh.shape) replicates the matrix over fsdp ranks, "
                                 + "which see different data; shard it over fsdp (e.g. the fsdp layout)")
        }
        if layout.rows.axis == .replicate || layout.columns.axis == .replicate {
            throw OptimizerError(.unsupportedTensor, "\(layout): parameters are replicated over dp, never sharded on it")
        }
    }
}
