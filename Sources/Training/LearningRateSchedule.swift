import Foundation

/// The learning-rate multiplier over a run: a linear warm-up from 1/warmup to 1, then constant,
/// cosine decay to `minimumFraction`, or warm-up–stable–decay (constant until the last
/// `decayFraction` of the steps, then linear to `minimumFraction`).
public struct LearningRateSchedule: Sendable, Hashable, Codable {
    public enum Shape: String, Sendable, Hashable, Codable, CaseIterable {
        case constant, cosine, wsd
    }

    public let shape: Shape
    public let warmup: Int
    public let steps: Int
    public let minimumFraction: Double
    public let decayFraction: Double

    /// - Throws: `TrainingError.invalidConfiguration` for steps < 1, a negative warm-up or a
    ///   warm-up not shorter than the run.
    public init(shape: Shape, warmup: Int, steps: Int, minimumFraction: Double = 0.1,
                decayFraction: Double = 0.2) throws(TrainingError) {
        guard steps >= 1 else { throw TrainingError(.invalidConfiguration, "--steps must be at least 1, got \(steps)") }
        guard warmup >= 0, warmup < max(steps, 1) || warmup == 0 else {
            throw TrainingError(.invalidConfiguration, "--warmup must be in 0..<--steps (\(steps)), got \(warmup)")
        }
        self.shape = shape
        self.warmup = warmup
        self.steps = steps
        self.minimumFraction = minimumFraction
        self.decayFraction = decayFraction
    }

    /// The multiplier at `step` (0-based).
    public func multiplier(at step: Int) -> Double {
        if step < warmup { return Double(step + 1) / Double(warmup) }
        let span = Double(max(steps - warmup, 1))
        let progress = Double(step - warmup) / span
        switch shape {
        case .constant:
            return 1
        case .cosine:
            return minimumFraction + (1 - minimumFraction) * 0.5 * (1 + cos(Double.pi * progress))
        case .wsd:
            let decayStart = 1 - decayFraction
            guard progress > decayStart else { return 1 }
            return 1 - (1 - minimumFraction) * (progress - decayStart) / decayFraction
        }
    }
}
