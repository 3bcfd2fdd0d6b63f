import MPIShim

/// Why a training run was refused or stopped.
///
/// A failed collective keeps MPI's own error in `underlyingError` (code, error class, function),
/// so a caller can tell a communication failure from a refused configuration or a numerical one
/// without parsing the message — wherever it failed: in the gradient synchronization, in the
/// model's FSDP or tp collectives, or inside an optimizer step. Any other error of the layer
/// below (the model, an optimizer, the mesh, the data) is kept as that layer's value in `cause`
/// and described as that layer described it.
public struct TrainingError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case invalidConfiguration, nonFinite, io, communication, model, optimizer, mesh, data,
            checkpoint }
        let storage: Storage
        /// A flag or a combination of flags that cannot run.
        public static let invalidConfiguration = Code(storage: .invalidConfiguration)
        /// Too many consecutive steps with a non-finite loss or gradient.
        public static let nonFinite = Code(storage: .nonFinite)
        /// A metrics or trace file could not be written.
        public static let io = Code(storage: .io)
        /// A collective failed (`underlyingError` holds the `MPIError`).
        public static let communication = Code(storage: .communication)
        /// The model refused a batch or failed (`cause` holds the `TransformerError`).
        public static let model = Code(storage: .model)
        /// An optimizer refused its input or failed (`cause` holds the `OptimizerError`).
        public static let optimizer = Code(storage: .optimizer)
        /// The mesh cannot hold a parameter (`cause` holds the `ShardingError`).
        public static let mesh = Code(storage: .mesh)
        /// The corpus cannot serve the run (`cause` holds the `DataError`).
        public static let data = Code(storage: .data)
        /// A checkpoint could not be saved (`cause` holds the `CheckpointError`).
        public static let checkpoint = Code(storage: .checkpoint)

        public var description: String {
            switch storage {
            case .invalidConfiguration: "invalid training configuration"
            case .nonFinite: "non-finite training"
            case .io: "I/O error"
            case .communication: "communication failure"
            case .model: "model failure"
            case .optimizer: "optimizer failure"
            case .mesh: "mesh failure"
            case .data: "data failure"
            case .checkpoint: "checkpoint failure"
            }
        }
    }

    public let code: Code
    /// What the run was doing or what went wrong, in words a user can act on.
    public let message: String
    /// The failed collective's error, for `.communication`.
    public let underlyingError: MPIError?
    /// The lower layer's error, for `.model`, `.optimizer`, `.mesh`, `.data`, `.checkpoint`, and
    /// `.io` when the trace could not be written.
    public let cause: Cause?

    /// An error of kind `code` explained by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
        cause = nil
    }

    /// A `.communication` error: `error` happened while `context` (e.g. "comparing the settings
    /// across ranks").
    public init(communication error: MPIError, while context: String) {
        code = .communication
        message = context
        underlyingError = error
        cause = nil
    }

    /// The lower layer's error `cause`, with its code, described as that layer describes it.
    public init(_ cause: Cause) {
        code = cause.code
        message = cause.description
        underlyingError = nil
        self.cause = cause
    }

    public var description: String {
        if cause != nil { return message }
        return underlyingError.map { "\(code): \(message) failed: \($0)" } ?? "\(code): \(message)"
    }
}
