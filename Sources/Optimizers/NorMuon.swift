import LinearAlgebra

/// NorMuon (arXiv 2510.05491; §4.2 of the algorithm notes): Muon with a neuron-wise second
/// moment that evens out the rows of the orthogonalized update.
///
/// M ← μ·M + G; U = M, or μ·M + G with Nesterov; O = PolarExpress(U); then
/// `NeuronNormalization` (V ← V + (1−β₂)·(mean_j O_ij² − V); Ô = O/(√V + 1e-8) row-wise,
/// rescaled to ‖O‖_F); X ← (1 − ηλ)·X − η_adj·Ô. With cautious weight decay (arXiv 2510.12402)
/// the decay reaches only the entries where X_ij·Ô_ij ≥ 0 (X before the step), i.e. where the
/// update already pulls the weight toward zero.
///
/// Deliberate differences from the reference (`normuon.py`):
/// - U and Polar Express stay in fp32 (the reference iterates in bf16).
/// - The Frobenius rescale is always over the whole matrix (the reference rescales per FSDP shard).
/// - A non-finite gradient skips the step (or throws) before it reaches M.
public struct NorMuon: Optimizer {
    /// NorMuon's hyperparameters (the reference's defaults), validated when made.
    public struct Configuration: Sendable, Hashable, Codable {
        /// μ, in [0, 1).
        public let momentum: Float
        /// β₂ of the neuron-wise second moment, in [0, 1).
        public let beta2: Float
        public let weightDecay: Float
        public let nesterov: Bool
        /// Decay only where X_ij·Ô_ij ≥ 0.
        public let cautiousWeightDecay: Bool
        /// The ε of Polar Express's normalization.
        public let epsilon: Float
        public let adjustment: Muon.LearningRateAdjustment
        public let nonFinitePolicy: NonFiniteGradientPolicy

        /// - Throws: `OptimizerError.invalidHyperparameter` for μ or β₂ outside [0, 1), a negative
        ///   decay, ε ≤ 0, or any NaN or ±∞.
        public init(momentum: Float = 0.95, beta2: Float = 0.95, weightDecay: Float = 0.01, nesterov: Bool = false,
                    cautiousWeightDecay: Bool = false, epsilon: Float = 1e-8,
                    adjustment: Muon.LearningRateAdjustment = .spectralNorm,
                    nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try Check.finite(Double(momentum), "momentum μ", atLeast: 0, below: 1)
            try Check.finite(Double(beta2), "β₂", atLeast: 0, below: 1)
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
            self.momentum = momentum
            self.beta2 = beta2
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.cautiousWeightDecay = cautiousWeightDecay
            self.epsilon = epsilon
            self.adjustment = adjustment
            self.nonFinitePolicy = nonFinitePolicy
        }
    }

    /// The state of one matrix.
    public struct State: Sendable, Codable, Equatable {
        /// M, shaped like X.
        public var momentum: Matrix
        /// V, one second moment per row (m × 1).
        public var variance: Matrix
        public var step: Int
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// M = 0 and V = 0.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for an empty matrix.
    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        let (m, n) = (parameter.rows, parameter.columns)
        guard m > 0, n > 0 else { throw OptimizerError(.unsupportedTensor, "NorMuon needs a non-empty matrix, got \(m)×\(n)") }
        return State(momentum: Matrix(rows: m, columns: n), variance: Matrix(rows: m, columns: 1), step: 0)
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
            o = try NewtonSchulz.orthogonalize(u, coefficients: .polarExpress, epsilon: c.epsilon)
        } catch {
            throw OptimizerError(error)
        }
        let normalized = NeuronNormalization.apply(o, variance: &state.variance, beta2: c.beta2)
        let step = -eta * c.adjustment.factor(rows: x.rows, columns: x.columns)
        if c.cautiousWeightDecay {
            let decay = 1 - eta * c.weightDecay
            for i in x.elements.indices {
                let update = normalized.elements[i]
                let keep: Float = x.elements[i] * update >= 0 ? decay : 1
                x.elements[i] = keep * x.elements[i] + step * update
            }
        } else {
            x.scaleAndAdd(1 - eta * c.weightDecay, step, normalized)
        }
        state.step += 1
        return .applied
    }
}
