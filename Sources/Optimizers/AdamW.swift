import COptimizerKernels
import Foundation
import LinearAlgebra

/// AdamW with bias correction (§1.2): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; X ← (1−ηλ)X;
/// X ← X − (η/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε).
public struct AdamW: Optimizer {
    /// AdamW's hyperparameters, validated when made.
    public struct Configuration: Sendable, Hashable, Codable {
        /// β₁, the first moment's decay, in [0, 1).
        public let beta1: Float
        /// β₂, the second moment's decay, in [0, 1).
        public let beta2: Float
        /// λ, decoupled weight decay: X ← (1 − ηλ)X each step.
        public let weightDecay: Float
        /// ε added to √v̂.
        public let epsilon: Float
        /// What a NaN/±∞ in a gradient does: skip the step (default) or throw.
        public let nonFinitePolicy: NonFiniteGradientPolicy

        /// - Throws: `OptimizerError.invalidHyperparameter` for β outside [0, 1), negative or
        ///   non-finite decay, or ε ≤ 0.
        public init(beta1: Float = 0.9, beta2: Float = 0.95, weightDecay: Float = 0.01, epsilon: Float = 1e-8,
                    nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try Check.finite(Double(beta1), "β₁", atLeast: 0, below: 1)
            try Check.finite(Double(beta2), "β₂", atLeast: 0, below: 1)
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
            self.beta1 = beta1
            self.beta2 = beta2
            self.weightDecay = weightDecay
            self.epsilon = epsilon
            self.nonFinitePolicy = nonFinitePolicy
        }
    }

    /// One parameter's moments and step count.
    public struct State: Sendable, Codable, Equatable {
        /// The first moment (same shape as the parameter).
        public var m: Matrix
        /// The second moment (same shape as the parameter).
        public var v: Matrix
        /// Steps applied so far (for the bias correction).
        public var step: Int
    }

    /// The hyperparameters.
    public let configuration: Configuration

    /// AdamW with these hyperparameters.
    public init(_ configuration: Configuration) { self.configuration = configuration }

    /// Zero moments of the parameter's shape, step 0.
    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        State(m: Matrix(rows: parameter.rows, columns: parameter.columns),
              v: Matrix(rows: parameter.rows, columns: parameter.columns), step: 0)
    }

    /// One step: updates `x` and `state` from the gradient `g`.
    ///
    /// - Returns: `.applied`, or `.skipped` for a non-finite gradient under the `.skip` policy.
    /// - Throws: `OptimizerError.shapeMismatch` when `g` and `x` differ in shape;
    ///   `.nonFiniteGradient` under the `.error` policy.
    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        try Check.sameStorage(state.m, "first moment", x)
        try Check.sameStorage(state.v, "second moment", x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        let c = configuration
        state.step += 1
        let t = Float(state.step)
        let correction1 = 1 - powf(c.beta1, t)
        let correction2 = (1 - powf(c.beta2, t)).squareRoot()
        let decay = 1 - eta * c.weightDecay
        // The formula above, term by term in the same order, in C (`COptimizerKernels`), where it vectorizes.
        g.elements.withUnsafeBufferPointer { gp in
            x.elements.withUnsafeMutableBufferPointer { xp in
                state.m.elements.withUnsafeMutableBufferPointer { mp in
                    state.v.elements.withUnsafeMutableBufferPointer { vp in
                        COptimizerKernels_adamw(xp.baseAddress, mp.baseAddress, vp.baseAddress, gp.baseAddress, xp.count,
                                                c.beta1, c.beta2, decay, eta / correction1, correction2, c.epsilon)
                    }
                }
            }
        }
        return .applied
    }
}

/// Lion (§1.2): u = sign(β₁m + (1−β₁)g); m ← β₂m + (1−β₂)g; X ← (1−ηλ)X − η·u.
public struct Lion: Optimizer {
    public struct Configuration: Sendable, Hashable, Codable {
        public let beta1: Float
        public let beta2: Float
        public let weightDecay: Float
        public let nonFinitePolicy: NonFiniteGradientPolicy

        public init(beta1: Float = 0.9, beta2: Float = 0.99, weightDecay: Float = 0.01,
                    nonFinitePolicy: NonFiniteGradientPolicy = .skip) throws(OptimizerError) {
            try Check.finite(Double(beta1), "β₁", atLeast: 0, below: 1)
            try Check.finite(Double(beta2), "β₂", atLeast: 0, below: 1)
            try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
            self.beta1 = beta1
            self.beta2 = beta2
            self.weightDecay = weightDecay
            self.nonFinitePolicy = nonFinitePolicy
        }
    }

    public struct State: Sendable, Codable, Equatable {
        public var m: Matrix
        public var step: Int
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) { self.configuration = configuration }

    public func initialState(for parameter: Matrix) throws(OptimizerError) -> State {
        State(m: Matrix(rows: parameter.rows, columns: parameter.columns), step: 0)
    }

    public func step(parameter x: inout Matrix, gradient g: Matrix, state: inout State,
                     learningRate eta: Float) throws(OptimizerError) -> StepOutcome {
        try Check.sameShape(g, x)
        try Check.sameStorage(state.m, "momentum", x)
        if let skipped = try Check.nonFinite(g, configuration.nonFinitePolicy) { return skipped }
        let c = configuration
        let decay = 1 - eta * c.weightDecay
        g.elements.withUnsafeBufferPointer { gp in
            x.elements.withUnsafeMutableBufferPointer { xp in
                state.m.elements.withUnsafeMutableBufferPointer { mp in
                    COptimizerKernels_lion(xp.baseAddress, mp.baseAddress, gp.baseAddress, xp.count, c.beta1, c.beta2, decay, eta)
                }
            }
        }
        state.step += 1
        return .applied
    }
}
