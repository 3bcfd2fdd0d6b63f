import Foundation
import LinearAlgebra

/// `dion replay`: runs an optimizer on recorded gradients so another implementation can be
/// checked against this one. Input: `{"optimizer": "dion"|"muon"|"adamw"|"lion",
/// "hyperparameters": {…}, "X0": [[…]], "Q0": [[…]] (optional, Dion, work orientation),
/// "gradients": [[[…]], …]}`; output: `{"steps": [{"X", "momentum", "Q"}]}` after each step.
public enum Replay {
    /// The state after one step, as nested row lists.
    public struct StepRecord: Sendable, Codable, Equatable {
        public var X: [[Float]]
        public var momentum: [[Float]]?
        public var Q: [[Float]]?
    }

    /// The input of a replay.
    public struct Input: Sendable, Decodable {
        public let optimizer: String
        public let hyperparameters: Hyperparameters
        public let X0: [[Float]]
        public let Q0: [[Float]]?
        public let gradients: [[[Float]]]
    }

    /// Every hyperparameter a replay may name; absent ones take the optimizer's defaults.
    public struct Hyperparameters: Sendable, Decodable {
        public let lr: Float?
        public let mu: Float?
        public let weight_decay: Float?
        public let epsilon: Float?
        public let rank: Int?
        public let rank_fraction: Double?
        public let betas: [Float]?
        public let nesterov: Bool?
        public let coefficients: String?
        public let adjust_lr: String?
        public let orthonormalization: String?
    }

    /// Parses `data` as a replay input.
    public static func decode(_ data: Data) throws(OptimizerError) -> Input {
        do {
            return try JSONDecoder().decode(Input.self, from: data)
        } catch {
            throw OptimizerError(.invalidHyperparameter, "unreadable replay input: \(error)")
        }
    }

    /// Runs the replay.
    public static func run(_ input: Input) throws(OptimizerError) -> [StepRecord] {
        var x: Matrix
        var gradients: [Matrix] = []
        do throws(LinearAlgebraError) {
            x = try Matrix(input.X0)
            for g in input.gradients { gradients.append(try Matrix(g)) }
        } catch {
            throw OptimizerError(.shapeMismatch, "replay matrices: \(error.message)")
        }
        let h = input.hyperparameters
        let lr = h.lr ?? 0.01
        var records: [StepRecord] = []
        switch input.optimizer {
        case "dion":
            let rank: DionConfiguration.Rank = h.rank.map { .absolute($0) } ?? .fraction(h.rank_fraction ?? 1)
            guard let method = OrthonormalizationMethod(rawValue: h.orthonormalization ?? "rcqr") else {
                throw OptimizerError(.invalidHyperparameter, "orthonormalization must be rcqr, qr or cqr")
            }
            let dion = Dion(try DionConfiguration(momentum: h.mu ?? 0.95, weightDecay: h.weight_decay ?? 0.01,
                                                  epsilon: h.epsilon ?? 1e-8, rank: rank, orthonormalization: method))
            var q0: Matrix?
            if let nested = input.Q0 {
                do throws(LinearAlgebraError) { q0 = try Matrix(nested) } catch {
                    throw OptimizerError(.shapeMismatch, "Q0: \(error.message)")
                }
            }
            var state = try dion.initialState(for: x, parameterID: 0, q0: q0)
            for g in gradients {
                _ = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: lr)
                records.append(StepRecord(X: x.nested, momentum: state.momentum.nested, Q: state.q.nested))
            }
        case "muon":
            guard let coefficients = NewtonSchulz.Coefficients(rawValue: h.coefficients ?? "polar-express"),
                  let adjustment = Muon.LearningRateAdjustment(rawValue: h.adjust_lr ?? "spectral_norm") else {
                throw OptimizerError(.invalidHyperparameter, "coefficients must be polar-express or keller-jordan, "
                                     + "adjust_lr spectral_norm, rms_norm or none")
            }
            let muon = Muon(try Muon.Configuration(momentum: h.mu ?? 0.95, weightDecay: h.weight_decay ?? 0.01,
                                                   nesterov: h.nesterov ?? false, coefficients: coefficients,
                                                   adjustment: adjustment))
            var state = try muon.initialState(for: x)
            for g in gradients {
                _ = try muon.step(parameter: &x, gradient: g, state: &state, learningRate: lr)
                records.append(StepRecord(X: x.nested, momentum: state.momentum.nested, Q: nil))
            }
        case "adamw":
            let betas = h.betas ?? [0.9, 0.95]
            guard betas.count == 2 else { throw OptimizerError(.invalidHyperparameter, "betas must have two values") }
            let adam = AdamW(try AdamW.Configuration(beta1: betas[0], beta2: betas[1], weightDecay: h.weight_decay ?? 0.01,
                                                     epsilon: h.epsilon ?? 1e-8))
            var state = try adam.initialState(for: x)
            for g in gradients {
                _ = try adam.step(parameter: &x, gradient: g, state: &state, learningRate: lr)
                records.append(StepRecord(X: x.nested, momentum: state.m.nested, Q: nil))
            }
        case "lion":
            let betas = h.betas ?? [0.9, 0.99]
            guard betas.count == 2 else { throw OptimizerError(.invalidHyperparameter, "betas must have two values") }
            let lion = Lion(try Lion.Configuration(beta1: betas[0], beta2: betas[1], weightDecay: h.weight_decay ?? 0.01))
            var state = try lion.initialState(for: x)
            for g in gradients {
                _ = try lion.step(parameter: &x, gradient: g, state: &state, learningRate: lr)
                records.append(StepRecord(X: x.nested, momentum: state.m.nested, Q: nil))
            }
        default:
            throw OptimizerError(.invalidHyperparameter, "unknown optimizer \(input.optimizer); use dion, muon, adamw or lion")
        }
        return records
    }
}
