/// Why a training run was refused or stopped.
public struct TrainingError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case invalidConfiguration, nonFinite, io }
        let storage: Storage
        /// A flag or a combination of flags that cannot run.
        public static let invalidConfiguration = Code(storage: .invalidConfiguration)
        /// Too many consecutive steps with a non-finite loss or gradient.
        public static let nonFinite = Code(storage: .nonFinite)
        /// A metrics or trace file could not be written.
        public static let io = Code(storage: .io)

        public var description: String {
            switch storage {
            case .invalidConfiguration: "invalid training configuration"
            case .nonFinite: "non-finite training"
            case .io: "I/O error"
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
