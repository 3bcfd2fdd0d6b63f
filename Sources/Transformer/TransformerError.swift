import DionCore
import LinearAlgebra

/// Why a model configuration or a forward/backward call was refused, or failed.
///
/// A failed collective of the `ParameterSource` (an FSDP gather, a tensor-parallel reduction)
/// keeps MPI's own error in `underlyingError`, as `TrainingError.communication` does.
public struct TransformerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case invalidConfiguration, shapeMismatch, invalidToken, communication, numerical }
        let storage: Storage
        /// A size or a combination of sizes that cannot build a model (e.g. heads not dividing d_model).
        public static let invalidConfiguration = Code(storage: .invalidConfiguration)
        /// Weights or a batch whose shape does not match the configuration.
        public static let shapeMismatch = Code(storage: .shapeMismatch)
        /// A token outside the vocabulary.
        public static let invalidToken = Code(storage: .invalidToken)
        /// A collective of the parameter source failed (`underlyingError` holds the `MPIError`).
        public static let communication = Code(storage: .communication)
        /// A linear-algebra failure other than a shape mismatch.
        public static let numerical = Code(storage: .numerical)

        public var description: String {
            switch storage {
            case .invalidConfiguration: "invalid model configuration"
            case .shapeMismatch: "shape mismatch"
            case .invalidToken: "invalid token"
            case .communication: "communication failure"
            case .numerical: "numerical failure"
            }
        }
    }

    /// The kind of problem.
    public let code: Code
    /// What happened, in words a user can act on.
    public let message: String
    /// The failed collective's error, for `.communication`.
    public let underlyingError: MPIError?

    /// An error of kind `code` explained by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
    }

    /// A `.communication` error: `error` happened while `context` (e.g. "gathering a block's
    /// weights over fsdp").
    public init(communication error: MPIError, while context: String) {
        code = .communication
        message = context
        underlyingError = error
    }

    /// A linear-algebra error of the model's arithmetic: `.shapeMismatch` (described as the
    /// `LinearAlgebraError` was) or `.numerical`.
    public init(_ error: LinearAlgebraError) {
        if error.code == .shapeMismatch {
            self.init(.shapeMismatch, error.message)
        } else {
            self.init(.numerical, "\(error)")
        }
    }

    /// Runs the model's linear algebra, reporting its failure as a `TransformerError` (`init(_:)`).
    @inline(__always)
    package static func arithmetic<T>(_ body: () throws(LinearAlgebraError) -> T) throws(TransformerError) -> T {
        do {
            return try body()
        } catch {
            throw TransformerError(error)
        }
    }

    public var description: String {
        underlyingError.map { "\(code): \(message) failed: \($0)" } ?? "\(code): \(message)"
    }
}
