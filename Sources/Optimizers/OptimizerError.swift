import DionCore
import LinearAlgebra

/// An error from an optimizer: a configuration or input it cannot work with, a numerical
/// failure, or (distributed optimizers) a collective that failed.
///
/// A failed collective keeps MPI's own error in `underlyingError` (code, error class, function),
/// as `TrainingError.communication` does, so a caller can tell a communication failure from a
/// numerical one without parsing the message.
public struct OptimizerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of an `OptimizerError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable {
            case invalidHyperparameter, rankExceedsMatrix, shapeMismatch, unsupportedTensor, nonFiniteGradient, numerical
            case communication
        }
        let storage: Storage

        /// A learning rate, momentum, decay, ε, rank fraction or multiple outside its domain.
        public static let invalidHyperparameter = Code(storage: .invalidHyperparameter)
        /// A rank ≤ 0 or larger than min(m, n).
        public static let rankExceedsMatrix = Code(storage: .rankExceedsMatrix)
        /// A gradient (or supplied Q₀) whose shape does not match.
        public static let shapeMismatch = Code(storage: .shapeMismatch)
        /// A tensor the optimizer does not handle (e.g. more than 2 dimensions for Dion).
        public static let unsupportedTensor = Code(storage: .unsupportedTensor)
        /// A NaN or ±∞ in the gradient with the `error` policy.
        public static let nonFiniteGradient = Code(storage: .nonFiniteGradient)
        /// A linear-algebra failure that could not be recovered.
        public static let numerical = Code(storage: .numerical)
        /// A collective of a distributed step failed (`underlyingError` holds the `MPIError`).
        public static let communication = Code(storage: .communication)

        public var description: String {
            switch storage {
            case .invalidHyperparameter: "invalid hyperparameter"
            case .rankExceedsMatrix: "rank exceeds matrix"
            case .shapeMismatch: "shape mismatch"
            case .unsupportedTensor: "unsupported tensor"
            case .nonFiniteGradient: "non-finite gradient"
            case .numerical: "numerical failure"
            case .communication: "communication failure"
            }
        }
    }

    /// What kind of failure it is.
    public let code: Code
    /// What went wrong and, where possible, how to fix it.
    public let message: String
    /// The failed collective's error, for `.communication`.
    public let underlyingError: MPIError?

    /// An error of kind `code` explained by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
    }

    /// A `.communication` error: `error` happened while `context` (e.g. "Dion's step").
    public init(communication error: MPIError, while context: String) {
        code = .communication
        message = context
        underlyingError = error
    }

    init(_ error: LinearAlgebraError) { self.init(.numerical, "\(error)") }

    public var description: String {
        underlyingError.map { "\(code): \(message) failed: \($0)" } ?? "\(code): \(message)"
    }
}

/// What to do with a gradient that holds NaN or ±∞.
public enum NonFiniteGradientPolicy: String, Sendable, Hashable, Codable {
    /// Leave the weights and the optimizer state untouched and report the skip (default).
    case skip
    /// Throw `OptimizerError.nonFiniteGradient`.
    case error
}

/// What one optimizer step did.
public enum StepOutcome: Sendable, Equatable {
    /// The step updated the weights and the state.
    case applied
    /// The step was skipped; weights and state are unchanged.
    case skipped(reason: String)
}

/// An optimizer in the optax style: a value-type configuration and an explicit state.
public protocol Optimizer: Sendable {
    associatedtype State: Sendable, Codable, Equatable
    /// The state for a new parameter.
    func initialState(for parameter: Matrix) throws(OptimizerError) -> State
    /// One step: updates `parameter` and `state` from `gradient` at learning rate `learningRate`.
    func step(parameter: inout Matrix, gradient: Matrix, state: inout State,
              learningRate: Float) throws(OptimizerError) -> StepOutcome
}

/// Shared validation helpers.
enum Check {
    static func finite(_ value: Double, _ name: String, atLeast minimum: Double? = nil, below maximum: Double? = nil) throws(OptimizerError) {
        guard value.isFinite else { throw OptimizerError(.invalidHyperparameter, "\(name) must be finite, got \(value)") }
        if let minimum, value < minimum {
            throw OptimizerError(.invalidHyperparameter, "\(name) must be ≥ \(minimum), got \(value)")
        }
        if let maximum, value >= maximum {
            throw OptimizerError(.invalidHyperparameter, "\(name) must be < \(maximum), got \(value)")
        }
    }

    /// Throws `shapeMismatch` unless `tensor` (a gradient or a state tensor) has the parameter's
    /// shape and both hold as many elements as that shape: the C kernels trust the counts.
    static func sameStorage(_ tensor: Matrix, _ name: String, _ parameter: Matrix) throws(OptimizerError) {
        guard tensor.rows == parameter.rows, tensor.columns == parameter.columns else {
            throw OptimizerError(.shapeMismatch, "\(name) \(tensor.rows)×\(tensor.columns) does not match parameter "
                                 + "\(parameter.rows)×\(parameter.columns)")
        }
        let count = parameter.rows * parameter.columns
        guard tensor.elements.count == count, parameter.elements.count == count else {
            throw OptimizerError(.shapeMismatch, "\(name) \(tensor.rows)×\(tensor.columns) holds \(tensor.elements.count) elements "
                                 + "and the parameter \(parameter.elements.count), not \(count)")
        }
    }

    /// `sameStorage` for the gradient.
    static func sameShape(_ gradient: Matrix, _ parameter: Matrix) throws(OptimizerError) {
        try sameStorage(gradient, "gradient", parameter)
    }

    /// `nil` to proceed, or the outcome for a non-finite gradient under `policy`.
    static func nonFinite(_ gradient: Matrix, _ policy: NonFiniteGradientPolicy) throws(OptimizerError) -> StepOutcome? {
        guard !gradient.isFinite else { return nil }
        if policy == .error { throw OptimizerError(.nonFiniteGradient, "the gradient contains NaN or ±∞") }
        return .skipped(reason: "non-finite gradient")
    }
}
