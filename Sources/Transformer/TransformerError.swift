/// Why a model configuration or a forward/backward call was refused.
public struct TransformerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case invalidConfiguration, shapeMismatch, invalidToken, communication }
        let storage: Storage
        /// A size or a combination of sizes that cannot build a model (e.g. heads not dividing d_model).
        public static let invalidConfiguration = Code(storage: .invalidConfiguration)
        /// Weights or a batch whose shape does not match the configuration.
        public static let shapeMismatch = Code(storage: .shapeMismatch)
        /// A token outside the vocabulary.
        public static let invalidToken = Code(storage: .invalidToken)
        /// A tensor-parallel reduction failed.
        public static let communication = Code(storage: .communication)

        public var description: String {
            switch storage {
            case .invalidConfiguration: "invalid model configuration"
            case .shapeMismatch: "shape mismatch"
            case .invalidToken: "invalid token"
            case .communication: "communication failure"
            }
        }
    }

    /// The kind of problem.
    public let code: Code
    /// What happened, in words a user can act on.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
