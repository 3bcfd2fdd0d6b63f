import LinearAlgebra

/// NorDion2 (the reference's `Dion3`; §4.3 of the algorithm notes): Dion2's selection and error
/// feedback with μ as the decay, and NorMuon's normalization on the selected rows.
///
/// M ← M + G; S = the top k = ⌈α·m⌉ **rows** of M by L1 norm (always rows, whatever the shape,
/// so every selected slice is a whole neuron); U = M[S]; M[S] ← μ·M[S]; O = PolarExpress(U);
/// `NeuronNormalization` on O with V[S] (only the selected rows' second moments move, and the
/// Frobenius rescale is over the k×n submatrix); X ← (1 − ηλ)·X, then X[S] ← X[S] − η_adj·Ô.
///
/// Deliberate differences from the reference (`nordion2.py`):
/// - U, Polar Express and V stay in fp32 (the reference iterates in bf16 and stores V in the
///   parameter's dtype, bf16 in its training runs).
/// - Ties in the L1 scores go to the lower index; μ must be in [0, 1] (the reference: μ ≥ 0).
/// - A non-finite gradient skips the step (or throws) before it reaches M.
/// No Nesterov and no cautious weight decay: the reference has neither for NorDion2.
public struct NorDion2: Optimizer {
    /// NorDion2's hyperparameters (the reference's defaults), validated when made.
    public struct Configuration: Sendable, Hashable, Codable {
        /// α: the fraction of rows orthogonalized per step, in (0, 1].
        public let fraction: Double
        /// μ: the error-feedback decay of the selected rows, in [0, 1].
        public let momentum: Float
        /// β₂ of the neuron-wise second moment, in [0, 1).
        public let beta2: Float
        public let weightDecay: Float
        /// The ε of Polar Express's normalization.
        public let epsilon: Float
        public let adjustment: Muon.LearningRateAdjustment
        /// How a distributed step selects; on one process all modes are the exact top-k.
        public let selection: SelectionMode
        public let nonFinitePolicy: NonFiniteGradientPolicy

        /// - Throws: `OptimizerError.invalidHyperparameter` for α outside (0, 1], μ outside [0, 1],
        ///   β₂ outside [0, 1), a negative decay, ε ≤ 0, or any NaN or ±∞.
        public init(fraction: Double = 0.25, momentum: Float = 0.95, beta2: Float = 0.95, weightDecay: Float = 0.01,
                    epsilon: Float = 1e-8, adjustment: Muon.LearningRateAdjustment = .spectralNorm,
                    selection: SelectionMode = .exact, nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try SliceSelection.checkFraction(fraction)
            try Check.finite(Double(momentum), "momentum μ", atLeast: 0)
            guard momentum <= 1 else { throw OptimizerError(.invalidHyperparameter, "momentum μ must be ≤ 1, got \(momentum)") }
            try Check.finite(Double(beta2), "β₂", atLeast: 0, below: 1)
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
            self.fraction = fraction
            self.momentum = momentum
            self.beta2 = beta2
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
        /// V, one second moment per row (m × 1); only selected rows change at a step.
        public var variance: Matrix
        public var step: Int
        /// The rows selected at the last applied step, ascending (empty before the first).
        public var selected: [Int]
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// M = 0 and V = 0.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for an empty matrix.
    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        let (m, n) = (parameter.rows, parameter.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "NorDion2 needs a non-empty matrix, got \(m)×\(n)") }
        return State(momentum: Matrix(rows: m, columns: n), variance: Matrix(rows: m, columns: 1), step: 0, selected: [])
    }

    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        let c = configuration
        do throws(LinearAlgebraError) {
            try BLAS.axpy(1, g, &state.momentum)
            let k = SliceSelection.count(fraction: c.fraction, of: x.rows)
            let (indices, u) = SliceSelection.selectAndDecay(&state.momentum, along: .rows, count: k, decay: c.momentum)
            let o = try NewtonSchulz.orthogonalize(u, coefficients: .polarExpress, epsilon: c.epsilon)
            var variance = state.variance.rows(at: indices)
            let normalized = NeuronNormalization.apply(o, variance: &variance, beta2: c.beta2)
            for (slot, row) in indices.enumerated() { state.variance.elements[row] = variance.elements[slot] }
            x.scale(1 - eta * c.weightDecay)
            x.addRows(at: indices, -eta * c.adjustment.factor(rows: x.rows, columns: x.columns), normalized)
            state.selected = indices
        } catch {
            throw OptimizerError(error)
        }
        state.step += 1
        return .applied
    }
}
