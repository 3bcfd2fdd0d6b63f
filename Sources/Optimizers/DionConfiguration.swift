import DionCore
import LinearAlgebra

/// Dion's hyperparameters (§1.2 defaults), validated when made.
public struct DionConfiguration: Sendable, Hashable, Codable {
    /// How the rank is chosen.
    public enum Rank: Sendable, Hashable, Codable {
        /// r = min(m, n, k·⌈ρ·min(m,n)/k⌉) with ρ in (0, 1] and k = `rankMultipleOf`.
        case fraction(Double)
        /// A fixed r, 1 ≤ r ≤ min(m, n).
        case absolute(Int)
    }

    /// μ, the momentum of the error-feedback buffer M, in [0, 1).
    public let momentum: Float
    /// λ, decoupled weight decay: X ← (1 − ηλ)X each step.
    public let weightDecay: Float
    /// ε in the column normalization of Q.
    public let epsilon: Float
    /// How the rank r of each matrix is chosen.
    public let rank: Rank
    /// k: a fractional rank is rounded up to a multiple of k (then capped at min(m, n)).
    public let rankMultipleOf: Int
    /// How P is orthonormalized: randomized Cholesky QR (`.rcqr`, the default), `.qr` or `.cqr`.
    public let orthonormalization: OrthonormalizationMethod
    /// What a NaN/±∞ in a gradient does: skip the step (default) or throw.
    public let nonFinitePolicy: NonFiniteGradientPolicy
    /// Seed of the keyed generator for Q₀ and the RCQR sketches (shared by all ranks).
    public let seed: UInt64

    /// Validated hyperparameters; the defaults are the paper's (§1.2) with full rank.
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for μ outside [0, 1), negative or
    ///   non-finite decay, ε ≤ 0, ρ outside (0, 1], k < 1 or an absolute rank < 1.
    public init(momentum: Float = 0.95, weightDecay: Float = 0.01, epsilon: Float = 1e-8, rank: Rank = .fraction(1),
                rankMultipleOf: Int = 1, orthonormalization: OrthonormalizationMethod = .rcqr,
                nonFinitePolicy: NonFiniteGradientPolicy = .skip, seed: UInt64 = 0) throws(OptimizerError) {
        try Check.finite(Double(momentum), "momentum μ", atLeast: 0, below: 1)
        try Check.finite(Double(weightDecay), "weight decay", atLeast: 0)
        try Check.finite(Double(epsilon), "epsilon", atLeast: .leastNonzeroMagnitude)
        switch rank {
        case .fraction(let rho):
            guard rho.isFinite, rho > 0, rho <= 1 else {
                throw OptimizerError(.invalidHyperparameter, "rank fraction ρ must be in (0, 1], got \(rho)")
            }
        case .absolute(let r):
            guard r >= 1 else { throw OptimizerError(.rankExceedsMatrix, "rank must be ≥ 1, got \(r)") }
        }
        guard rankMultipleOf >= 1 else {
            throw OptimizerError(.invalidHyperparameter, "rank multiple must be ≥ 1, got \(rankMultipleOf)")
        }
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.epsilon = epsilon
        self.rank = rank
        self.rankMultipleOf = rankMultipleOf
        self.orthonormalization = orthonormalization
        self.nonFinitePolicy = nonFinitePolicy
        self.seed = seed
    }

    /// The rank for an m×n matrix.
    ///
    /// - Throws: `OptimizerError.rankExceedsMatrix` when an absolute rank exceeds min(m, n).
    public func rank(rows m: Int, columns n: Int) throws(OptimizerError) -> Int {
        let small = Swift.min(m, n)
        switch rank {
        case .fraction(let rho):
            return DionSizes.rank(fraction: rho, rows: m, columns: n, multipleOf: rankMultipleOf)
        case .absolute(let r):
            guard r <= small else {
                throw OptimizerError(.rankExceedsMatrix, "rank \(r) exceeds min(\(m), \(n)) = \(small)")
            }
            return r
        }
    }
}
