import DionCore

/// Why a checkpoint could not be written or read. Every refusal names the file and what to do.
public struct CheckpointError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a `CheckpointError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable {
            case notFound, notWritable, writeFailed, missingFile, truncated, checksumMismatch, corrupt,
                 formatVersion, configurationMismatch, missingTensor, communication, directoryInUse
        }
        let storage: Storage

        /// No complete checkpoint in the directory.
        public static let notFound = Code(storage: .notFound)
        /// The checkpoint directory cannot be created or written.
        public static let notWritable = Code(storage: .notWritable)
        /// A write or fsync failed (e.g. a full disk); the previous checkpoint is untouched.
        public static let writeFailed = Code(storage: .writeFailed)
        /// A rank file named in the manifest does not exist.
        public static let missingFile = Code(storage: .missingFile)
        /// A file is shorter or longer than the manifest says.
        public static let truncated = Code(storage: .truncated)
        /// A file's CRC-32C differs from the manifest's.
        public static let checksumMismatch = Code(storage: .checksumMismatch)
        /// A manifest or rank file that cannot be parsed.
        public static let corrupt = Code(storage: .corrupt)
        /// Written by another format version.
        public static let formatVersion = Code(storage: .formatVersion)
        /// Written for another model configuration.
        public static let configurationMismatch = Code(storage: .configurationMismatch)
        /// A tensor the reader asked for is not in the checkpoint.
        public static let missingTensor = Code(storage: .missingTensor)
        /// A collective failed while ranks coordinated.
        public static let communication = Code(storage: .communication)
        /// The directory holds checkpoints of another run, or something checkpoint-like that is not one.
        public static let directoryInUse = Code(storage: .directoryInUse)

        /// Every code, in a fixed order (how ranks exchange codes).
        static let all: [Code] = [.notFound, .notWritable, .writeFailed, .missingFile, .truncated, .checksumMismatch,
                                  .corrupt, .formatVersion, .configurationMismatch, .missingTensor, .communication,
                                  .directoryInUse]

        public var description: String {
            switch storage {
            case .notFound: "no checkpoint"
            case .notWritable: "checkpoint directory not writable"
            case .writeFailed: "checkpoint write failed"
            case .missingFile: "missing checkpoint file"
            case .truncated: "truncated checkpoint file"
            case .checksumMismatch: "checksum mismatch"
            case .corrupt: "corrupt checkpoint"
            case .formatVersion: "unsupported checkpoint format version"
            case .configurationMismatch: "checkpoint of another model configuration"
            case .missingTensor: "missing tensor"
            case .communication: "communication failed"
            case .directoryInUse: "checkpoint directory in use"
            }
        }
    }

    /// What kind of error this is.
    public let code: Code
    /// What was wrong, with the path involved.
    public let message: String
    /// The failed collective's error, for `.communication` raised on this rank.
    public let underlyingError: MPIError?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
    }

    /// A `.communication` error: `error` happened while `context` (e.g. "agreeing on the rank files").
    public init(communication error: MPIError, while context: String) {
        code = .communication
        message = context
        underlyingError = error
    }

    public var description: String {
        underlyingError.map { "\(code) while \(message): \($0)" } ?? "\(code): \(message)"
    }
}
