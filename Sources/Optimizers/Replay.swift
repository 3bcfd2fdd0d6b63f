import Foundation
import LinearAlgebra

/// `dion replay`: runs an optimizer on recorded gradients so another implementation can be
/// checked against this one. Input: `{"optimizer": "dion"|"muon"|"adamw"|"lion"|"dion2"|"normuon"|
/// "nordion2", "hyperparameters": {…}, "X0": [[…]], "Q0": [[…]] (optional, Dion, work orientation),
/// "gradients": [[[…]], …]}`; output: `{"steps": [{"X", "momentum", "Q", "selected", "variance"}]}`
/// after each step (each field only where the optimizer has it).
public enum Replay {
    /// The state after one step, as nested row lists.
    public struct StepRecord: Sendable, Codable, Equatable {
        public var X: [[Float]]
        public var momentum: [[Float]]?
        public var Q: [[Float]]?
        /// Dion2 and NorDion2: the slices (rows or columns) selected at this step, ascending.
        public var selected: [Int]?
        /// NorMuon and NorDion2: V, one second moment per row of X.
        public var variance: [Float]?

        public init(X: [[Float]], momentum: [[Float]]?, Q: [[Float]]?, selected: [Int]? = nil, variance: [Float]? = nil) {
            self.X = X
            self.momentum = momentum
            self.Q = Q
            self.selected = selected
            self.variance = variance
        }
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
        /// Dion2, NorDion2: α.
        public let fraction: Double?
        /// Dion2: β.
        public let ef_decay: Float?
        /// NorMuon, NorDion2: β₂ of the neuron-wise second moment.
        public let muon_beta2: Float?
        /// Dion2, NorDion2: `exact`, `global` or `local` (identical on one process).
        public let selection: String?
        /// NorMuon: cautious weight decay.
        public let cautious_wd: Bool?
    }

    /// Parses `data` as a replay input.
    public static func decode(_ data: Data) throws(OptimizerError) -> Input {
        do {
            return try JSONDecoder().decode(Input.self, from: data)
        } catch {
            throw OptimizerError(.invalidHyperparameter, "unreadable replay input: \(error)")
        }
    }

    /// Steps `optimizer` through `gradients` from (`x`, `state`), recording after each step.
    static func replay<O: Optimizer>(_ optimizer: O, _ x: Matrix, _ state: O.State, _ gradients: [Matrix], _ lr: Float,
                                     _ record: (Matrix, O.State) -> StepRecord) throws(OptimizerError) -> [StepRecord] {
        var x = x
        var state = state
        var records: [StepRecord] = []
        for g in gradients {
            _ = try optimizer.step(parameter: &x, gradient: g, state: &state, learningRate: lr)
            records.append(record(x, state))
        }
        return records
    }

    /// Runs the replay.
    public static func run(_ input: Input) throws(OptimizerError) -> [StepRecord] {
        let x: Matrix
        var gradients: [Matrix] = []
        do throws(LinearAlgebraError) {
            x = try Matrix(input.X0)
            for g in input.gradients { gradients.append(try Matrix(g)) }
        } catch {
            throw OptimizerError(.shapeMismatch, "replay matrices: \(error.message)")
        }
        let h = input.hyperparameters
        let lr = h.learningRate
        var records: [StepRecord] = []
        switch input.optimizer {
        case "dion":
            let dion = Dion(try h.dionConfiguration())
            var q0: Matrix?
            if let nested = input.Q0 {
                do throws(LinearAlgebraError) { q0 = try Matrix(nested) } catch {
                    throw OptimizerError(.shapeMismatch, "Q0: \(error.message)")
                }
            }
            let state = try dion.initialState(for: x, parameterID: 0, q0: q0)
            records = try replay(dion, x, state, gradients, lr) { StepRecord(X: $0.nested, momentum: $1.momentum.nested, Q: $1.q.nested) }
        case "muon":
            let muon = Muon(try h.muonConfiguration())
            records = try replay(muon, x, try muon.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.momentum.nested, Q: nil)
            }
        case "adamw":
            let betas = h.betas ?? [0.9, 0.95]
            guard betas.count == 2 else { throw OptimizerError(.invalidHyperparameter, "betas must have two values") }
            let adam = AdamW(try AdamW.Configuration(beta1: betas[0], beta2: betas[1], weightDecay: h.weight_decay ?? 0.01,
                                                     epsilon: h.epsilon ?? 1e-8))
            records = try replay(adam, x, try adam.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.m.nested, Q: nil)
            }
        case "lion":
            let betas = h.betas ?? [0.9, 0.99]
            guard betas.count == 2 else { throw OptimizerError(.invalidHyperparameter, "betas must have two values") }
            let lion = Lion(try Lion.Configuration(beta1: betas[0], beta2: betas[1], weightDecay: h.weight_decay ?? 0.01))
            records = try replay(lion, x, try lion.initialState(for: x), gradients, lr) {
                StepRecord(X: $0.nested, momentum: $1.m.nested, Q: nil)
            }
        case "dion2", "normuon", "nordion2":
            records = try runSelective(input.optimizer, x, gradients, lr, h)
        default:
            throw OptimizerError(.invalidHyperparameter, "unknown optimizer \(input.optimizer); use dion, muon, adamw, lion, "
                                 + "dion2, normuon or nordion2")
        }
        return records
    }
}

extension Replay.Hyperparameters {
    /// The learning rate (default 0.01).
    public var learningRate: Float { lr ?? 0.01 }

    /// Dion's configuration: `rank` or `rank_fraction` (default full rank), `mu` (0.95),
    /// `weight_decay` (0.01), `epsilon` (1e-8), `orthonormalization` (`rcqr`, `qr` or `cqr`).
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for an unknown orthonormalization or a value
    ///   outside its domain.
    public func dionConfiguration() throws(OptimizerError) -> DionConfiguration {
        let rank: DionConfiguration.Rank = self.rank.map { .absolute($0) } ?? .fraction(rank_fraction ?? 1)
        guard let method = OrthonormalizationMethod(rawValue: orthonormalization ?? "rcqr") else {
            throw OptimizerError(.invalidHyperparameter, "orthonormalization must be rcqr, qr or cqr")
        }
        return try DionConfiguration(momentum: mu ?? 0.95, weightDecay: weight_decay ?? 0.01, epsilon: epsilon ?? 1e-8,
                                     rank: rank, orthonormalization: method)
    }

    /// Muon's configuration: `mu` (0.95), `weight_decay` (0.01), `nesterov` (false), `coefficients`
    /// (`polar-express` or `keller-jordan`), `adjust_lr` (`spectral_norm`, `rms_norm` or `none`).
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for an unknown name or a value outside its domain.
    public func muonConfiguration() throws(OptimizerError) -> Muon.Configuration {
        guard let coefficients = NewtonSchulz.Coefficients(rawValue: coefficients ?? "polar-express"),
              let adjustment = Muon.LearningRateAdjustment(rawValue: adjust_lr ?? "spectral_norm") else {
            throw OptimizerError(.invalidHyperparameter, "coefficients must be polar-express or keller-jordan, "
                                 + "adjust_lr spectral_norm, rms_norm or none")
        }
        return try Muon.Configuration(momentum: mu ?? 0.95, weightDecay: weight_decay ?? 0.01, nesterov: nesterov ?? false,
                                      coefficients: coefficients, adjustment: adjustment)
    }
}
