import DionCore
import LinearAlgebra

/// Dion (§1 of the algorithm notes): one amortized power-iteration step per training step.
///
/// With B the work matrix (M, or Mᵀ when m < n, so p = max(m, n) rows get the orthonormal P):
/// B ← B + G; P₀ = B·Q; P = Orth(P₀); R = Bᵀ·P; B ← B − (1−μ)·P·Rᵀ; Q ← R_j/(‖R_j‖ + ε);
/// X ← (1 − η·λ)·X − η·√(m/n)·P·Qᵀ (oriented back). If B is all zero, P = 0 and R = Q;
/// otherwise non-finite entries of P and R become 0 / ±greatest finite (`nan_to_num`).
///
/// Deliberate differences from the reference (`dion.py`), named here as the notes ask:
/// - Q₀ and every RCQR sketch come from a counter-based generator keyed by (seed, parameter,
///   role, step) instead of the global RNG + broadcast, so shards are slices of one draw.
/// - When Cholesky fails inside RCQR, Householder QR is used (the reference lets NaNs leak).
/// - A non-finite gradient skips the step (or throws) before it reaches the buffer.
public struct Dion: Optimizer {
    /// The state of one matrix: the buffer M (shaped like X), the right factor Q (q×r in the
    /// work orientation) and the step count.
    public struct State: Sendable, Codable, Equatable {
        public var momentum: Matrix
        public var q: Matrix
        public var step: Int
        /// Identifies the parameter in the generator's streams.
        public let parameterID: UInt64
        /// Whether the work matrix is Mᵀ (p = n rows get P, q = m rows get Q).
        public let transposed: Bool

        public init(momentum: Matrix, q: Matrix, step: Int, parameterID: UInt64, transposed: Bool) {
            self.momentum = momentum
            self.q = q
            self.step = step
            self.parameterID = parameterID
            self.transposed = transposed
        }
    }

    public let configuration: DionConfiguration
    let generator: KeyedNormalGenerator

    static let q0Role: UInt64 = 1
    static let sketchRole: UInt64 = 2

    /// The generator stream of Q₀ for a parameter: Q₀ is the (q × r) standard-normal matrix of
    /// this stream, so a shard of Q₀ is `generator.block(…)` of the same stream.
    public static func q0Stream(parameterID: UInt64) -> UInt64 { KeyedNormalGenerator.stream(parameterID, q0Role) }

    /// The RCQR sketch (k_s × p, entries N(0, 1/k_s)) of a parameter at a step: the same on every
    /// rank that asks.
    public func sketch(parameterID: UInt64, step: Int, rank r: Int, rows p: Int) -> Matrix {
        let ks = Orthonormalization.sketchRows(rank: r)
        return generator.matrix(stream: KeyedNormalGenerator.stream(parameterID, Self.sketchRole, UInt64(step)),
                                rows: ks, columns: p, scale: 1 / Float(ks).squareRoot())
    }

    /// Columns `columns` of the sketch of `sketch(parameterID:step:rank:rows:)`: what a rank
    /// holding rows `columns` of P needs for the distributed RCQR (a slice of the same draw).
    public func sketchColumns(parameterID: UInt64, step: Int, rank r: Int, rows p: Int, columns: Range<Int>) -> Matrix {
        let ks = Orthonormalization.sketchRows(rank: r)
        return generator.block(stream: KeyedNormalGenerator.stream(parameterID, Self.sketchRole, UInt64(step)),
                               globalColumns: p, rows: 0..<ks, columns: columns, scale: 1 / Float(ks).squareRoot())
    }

    public init(_ configuration: DionConfiguration) {
        self.configuration = configuration
        self.generator = KeyedNormalGenerator(seed: configuration.seed)
    }

    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        try initialState(for: parameter, parameterID: 0, q0: nil)
    }

    /// The state for `parameter`: M = 0 and Q₀ standard normal from the keyed generator (or
    /// `q0`, which must be q×r in the work orientation).
    ///
    /// - Parameter transposed: The work orientation; `nil` applies the single-device rule
    ///   (transpose when m < n). Sharded layouts override it (§2: FSDP on dim 0 transposes), and
    ///   the distributed equivalence tests pass the same choice here.
    public func initialState(for parameter: Matrix, parameterID: UInt64, q0: Matrix?,
                             transposed: Bool? = nil) throws(OptimizerError) -> State {
        let (m, n) = (parameter.rows, parameter.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "Dion needs a non-empty matrix, got \(m)×\(n)") }
        let r = try configuration.rank(rows: m, columns: n)
        let transposed = transposed ?? DionWorkGeometry.singleDeviceTransposed(rows: m, columns: n)
        let q = transposed ? m : n
        let initial = q0 ?? generator.matrix(stream: Self.q0Stream(parameterID: parameterID), rows: q, columns: r)
        guard initial.rows == q, initial.columns == r else {
            throw OptimizerError(.shapeMismatch, "Q₀ must be \(q)×\(r) (q × rank in the work orientation), got "
                                 + "\(initial.rows)×\(initial.columns)")
        }
        return State(momentum: Matrix(rows: m, columns: n), q: initial, step: 0, parameterID: parameterID,
                     transposed: transposed)
    }

    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        do throws(LinearAlgebraError) {
            let (m, n) = (x.rows, x.columns)
            let transposed = state.transposed
            let mu = configuration.momentum
            try BLAS.axpy(1, g, &state.momentum)
            var p: Matrix
            var r: Matrix
            if state.momentum.isZero {
                p = Matrix(rows: transposed ? n : m, columns: state.q.columns)
                r = state.q
            } else {
                let p0 = try BLAS.product(state.momentum, transposeA: transposed, state.q)
                p = try Orthonormalization.orthonormalize(p0, method: configuration.orthonormalization) {
                    sketch(parameterID: state.parameterID, step: state.step, rank: p0.columns, rows: p0.rows)
                }.q
                r = try BLAS.product(state.momentum, transposeA: !transposed, p)
                p.replaceNonFinite()
                r.replaceNonFinite()
            }
            // Error feedback: B ← B − (1−μ)·P·Rᵀ, i.e. M ← M − (1−μ)·R·Pᵀ when transposed.
            if transposed {
                try BLAS.gemm(r, p, transposeB: true, alpha: -(1 - mu), beta: 1, into: &state.momentum)
            } else {
                try BLAS.gemm(p, r, transposeB: true, alpha: -(1 - mu), beta: 1, into: &state.momentum)
            }
            // Q ← column-normalized R (ε added to the norm), in R's buffer (R is not read again).
            r.divideColumns(by: r.columnNorms.map { $0 + configuration.epsilon })
            let q = r
            state.q = q
            // X ← (1 − ηλ)X − η·√(m/n)·P·Qᵀ (Q·Pᵀ when transposed).
            // (The decay is the GEMM's β, saving a pass over X.)
            let scale = (Float(m) / Float(n)).squareRoot()
            let decay = 1 - eta * configuration.weightDecay
            if transposed {
                try BLAS.gemm(q, p, transposeB: true, alpha: -eta * scale, beta: decay, into: &x)
            } else {
                try BLAS.gemm(p, q, transposeB: true, alpha: -eta * scale, beta: decay, into: &x)
            }
            state.step += 1
            return .applied
        } catch {
            throw OptimizerError(error)
        }
    }
}
