/// An error from the `Sharding` module: a mesh or layout that cannot work, caught before any
/// collective so that every rank reports it and none is left waiting.
public struct ShardingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a `ShardingError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable {
            case invalidMesh, meshMismatch, invalidLayout, shapeMismatch, communication
        }
        let storage: Storage

        /// A mesh description that cannot be parsed or has a non-positive axis.
        public static let invalidMesh = Code(storage: .invalidMesh)
        /// R·F·T differs from the number of processes, or ranks disagree on the mesh.
        public static let meshMismatch = Code(storage: .meshMismatch)
        /// A layout that shards one dimension over two axes or one axis over two dimensions.
        public static let invalidLayout = Code(storage: .invalidLayout)
        /// A matrix whose shape does not match what the operation expects.
        public static let shapeMismatch = Code(storage: .shapeMismatch)
        /// A collective failed (`underlyingError` holds the `MPIError`).
        public static let communication = Code(storage: .communication)

        public var description: String {
            switch storage {
            case .invalidMesh: "invalid mesh"
            case .meshMismatch: "mesh does not match the processes"
            case .invalidLayout: "invalid layout"
            case .shapeMismatch: "shape mismatch"
            case .communication: "communication failed"
            }
        }
    }

    /// What kind of error this is.
    public let code: Code
    /// What was wrong, in words a user can act on.
    public let message: String
    /// The failed collective's error, for a `.communication` error that a collective raised.
    public let underlyingError: MPIError?

    /// An error of kind `code` explained by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        underlyingError = nil
    }

    /// A `.communication` error raised by the collective that failed with `error` (described by it).
    public init(communication error: MPIError) {
        code = .communication
        message = error.description
        underlyingError = error
    }

    public var description: String { "\(code): \(message)" }
}
