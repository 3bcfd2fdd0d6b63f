import MPIShim

/// Why a training run was refused or stopped.
///
/// A failed collective keeps MPI's own error in `underlyingError` (code, error class, function),
/// so a caller can tell a communication failure from a refused configuration or a numerical one
/// without parsing the message.
public struct TrainingError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case invalidConfiguration, nonFinite, io, communication }
        let storage: Storage
        /// A flag or a combination of flags that cannot run.
        public static let invalidConfiguration = Code(storage: .invalidConfiguration)
        /// Too many consecutive steps with a non-finite loss or gradient.
        public static let nonFinite = Code(storage: .nonFinite)
        /// A metrics or trace file could not be written.
        public static let io = Code(storage: .io)
        /// A collective failed (`underlyingError` holds the `MPIError`).
        public static let communication = Code(storage: .communication)

        public var description: String {
            switch storage {
            case .invalidConfiguration: "invalid training configuration"
            case .nonFinite: "non-finite training"
            case .io: "I/O error"
            case .communication: "communication failure"
            }
        }
    }

    public let code: Code
    /// What the run was doing or what went wrong, in words a user can act on.
    public let message: String
    /// The failed collective's error, for `.communication`.
    public let underlyingError: MPIError?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
    }

    /// A `.communication` error: `error` happened while `context` (e.g. "comparing the settings
    /// across ranks").
    public init(communication error: MPIError, while context: String) {
        code = .communication
        message = context
        underlyingError = error
    }

    public var description: String {
        underlyingError.map { "\(code): \(message) failed: \($0)" } ?? "\(code): \(message)"
    }
}
