import LinearAlgebra

/// Dion2 (arXiv 2512.16928; §4.1 of the algorithm notes): Muon on a selected fraction of the
/// slices, with error feedback on the rest.
///
/// M ← M + G; S = the top k = ⌈α·size⌉ rows (m ≤ n) or columns (m > n) of M by L1 norm;
/// U = M[S] (before the decay); M[S] ← β·M[S]; O = PolarExpress(U) (k×n or m×k);
/// X ← (1 − ηλ)·X everywhere, then X[S] ← X[S] − η_adj·O, with η_adj from the whole matrix's
/// shape (`Muon.LearningRateAdjustment`). Selection rules and tie-break: `SliceSelection`.
///
/// Deliberate differences from the reference (`dion2.py`), named here as the notes ask:
/// - U and Polar Express stay in fp32 (the reference casts U to bf16 and iterates in bf16).
/// - Ties in the L1 scores go to the lower index (the reference leaves them to `torch.topk`).
/// - β must be in [0, 1] (the reference accepts any β ≥ 0).
/// - A non-finite gradient skips the step (or throws) before it reaches M.
public struct Dion2: Optimizer {
    /// Dion2's hyperparameters (the reference's defaults), validated when made.
    public struct Configuration: Sendable, Hashable, Codable {
        /// α: the fraction of slices orthogonalized per step, in (0, 1].
        public let fraction: Double
        /// β: the error-feedback decay of the selected slices, in [0, 1].
        public let errorFeedbackDecay: Float
        /// λ, decoupled and applied with the unscaled η to every entry.
        public let weightDecay: Float
        /// The ε of Polar Express's normalization U / (1.02·‖U‖_F + ε).
        public let epsilon: Float
        public let adjustment: Muon.LearningRateAdjustment
        /// How a distributed step selects; on one process all modes are the exact top-k.
        public let selection: SelectionMode
        public let nonFinitePolicy: NonFiniteGradientPolicy

        /// - Throws: `OptimizerError.invalidHyperparameter` for α outside (0, 1], β outside [0, 1],
        ///   a negative decay, ε ≤ 0, or any NaN or ±∞.
        public init(fraction: Double = 0.25, errorFeedbackDecay: Float = 0.95, weightDecay: Float = 0.01,
                    epsilon: Float = 1e-8, adjustment: Muon.LearningRateAdjustment = .spectralNorm,
                    selection: SelectionMode = .exact, nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try SliceSelection.checkFraction(fraction)
            try Check.finite(Double(errorFeedbackDecay), "error-feedback decay β", atLeast: 0)
            guard errorFeedbackDecay <= 1 else {
                throw OptimizerError(.invalidHyperparameter, "error-feedback decay β must be ≤ 1, got \(errorFeedbackDecay)")
            }
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
            self.fraction = fraction
            self.errorFeedbackDecay = errorFeedbackDecay
            self.weightDecay = weightDecay
            self.epsilon = epsilon
            self.adjustment = adjustment
            self.selection = selection
            self.nonFinitePolicy = nonFinitePolicy
        }
    }

    /// The state of one matrix.
    public struct State: Sendable, Codable, Equatable {
        /// The error-feedback buffer M, shaped like X.
        public var momentum: Matrix
        public var step: Int
        /// The selection dimension (rows when m ≤ n, else columns).
        public let dimension: SliceSelection.Dimension
        /// The slices selected at the last applied step, ascending (empty before the first).
        public var selected: [Int]
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// M = 0 and the single-process selection dimension.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for an empty matrix.
    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        let (m, n) = (parameter.rows, parameter.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "Dion2 needs a non-empty matrix, got \(m)×\(n)") }
        return State(momentum: Matrix(rows: m, columns: n), step: 0,
                     dimension: SliceSelection.dion2Dimension(rows: m, columns: n), selected: [])
    }

    /// The number of slices selected per step for an m×n matrix.
    public func selectedCount(rows m: Int, columns n: Int) -> Int {
        SliceSelection.count(fraction: configuration.fraction,
                             of: SliceSelection.dion2Dimension(rows: m, columns: n) == .rows ? m : n)
    }

    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        let c = configuration
        let (m, n) = (x.rows, x.columns)
        do throws(LinearAlgebraError) {
            try BLAS.axpy(1, g, &state.momentum)
            let k = SliceSelection.count(fraction: c.fraction, of: state.dimension == .rows ? m : n)
            let (indices, u) = SliceSelection.selectAndDecay(&state.momentum, along: state.dimension, count: k,
                                                             decay: c.errorFeedbackDecay)
            let o = try NewtonSchulz.orthogonalize(u, coefficients: .polarExpress, epsilon: c.epsilon)
            x.scale(1 - eta * c.weightDecay)
            let alpha = -eta * c.adjustment.factor(rows: m, columns: n)
            switch state.dimension {
            case .rows: x.addRows(at: indices, alpha, o)
            case .columns: x.addColumns(at: indices, alpha, o)
            }
            state.selected = indices
        } catch {
            throw OptimizerError(error)
        }
        state.step += 1
        return .applied
    }
}
