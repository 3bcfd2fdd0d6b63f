import LinearAlgebra

/// Muon as in the Dion repository's `muon.py` (§3): M ← μM + G; U = M, or G + μM with Nesterov;
/// O = Newton–Schulz(U) (Polar Express by default); X ← (1−ηλ)X − η_adj·O with η_adj = η·√(out/in)
/// (`spectralNorm`), η·0.2·√max(out, in) (`rmsNorm`) or η (`none`).
///
/// Difference from the reference: the orthogonalization runs in fp32, not bf16.
public struct Muon: Optimizer {
    /// How η is scaled for an out×in matrix (shared by Muon, Dion2, NorMuon and NorDion2).
    public enum LearningRateAdjustment: String, Sendable, Hashable, Codable, CaseIterable {
        case spectralNorm = "spectral_norm"
        case rmsNorm = "rms_norm"
        case none

        /// η_adj / η for an out×in matrix: √(out/in), 0.2·√max(out, in) or 1, always from the
        /// whole matrix's shape (never a selected submatrix's).
        public func factor(rows: Int, columns: Int) -> Float {
            switch self {
            case .spectralNorm: (Float(rows) / Float(columns)).squareRoot()
            case .rmsNorm: 0.2 * Float(Swift.max(rows, columns)).squareRoot()
            case .none: 1
            }
        }
    }

    public struct Configuration: Sendable, Hashable, Codable {
        public let momentum: Float
        public let weightDecay: Float
        public let nesterov: Bool
        public let coefficients: NewtonSchulz.Coefficients
        public let adjustment: LearningRateAdjustment
        public let epsilon: Float
        public let nonFinitePolicy: NonFiniteGradientPolicy

        public init(momentum: Float = 0.95, weightDecay: Float = 0.01, nesterov: Bool = false,
                    coefficients: NewtonSchulz.Coefficients = .polarExpress, adjustment: LearningRateAdjustment = .spectralNorm,
                    epsilon: Float = 1e-7, nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try Check.finite(Double(momentum), "momentum μ", atLeast: 0, below: 1)
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
            self.momentum = momentum
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.coefficients = coefficients
            self.adjustment = adjustment
            self.epsilon = epsilon
            self.nonFinitePolicy = nonFinitePolicy
        }
    }

    public struct State: Sendable, Codable, Equatable {
        public var momentum: Matrix
        public var step: Int
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        State(momentum: Matrix(rows: parameter.rows, columns: parameter.columns), step: 0)
    }

    /// η_adj / η for an out×in matrix.
    public func scale(rows: Int, columns: Int) -> Float {
        configuration.adjustment.factor(rows: rows, columns: columns)
    }

    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        let c = configuration
        state.momentum.scaleAndAdd(c.momentum, 1, g)
        var u = state.momentum
        if c.nesterov {
            u = g
            u.scaleAndAdd(1, c.momentum, state.momentum)
        }
        let o: Matrix
        do throws(LinearAlgebraError) {
            o = try NewtonSchulz.orthogonalize(u, coefficients: c.coefficients, epsilon: c.epsilon)
        } catch {
            throw OptimizerError(error)
        }
        x.scaleAndAdd(1 - eta * c.weightDecay, -eta * scale(rows: x.rows, columns: x.columns), o)
        state.step += 1
        return .applied
    }
}
