/// An error from loading or sampling training text.
public struct DataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a `DataError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case missingFile, unreadable, tooShort, invalidArgument }
        let storage: Storage

        /// The data file does not exist.
        public static let missingFile = Code(storage: .missingFile)
        /// The data file exists but cannot be read.
        public static let unreadable = Code(storage: .unreadable)
        /// The text is too short for the sequence length and the split.
        public static let tooShort = Code(storage: .tooShort)
        /// A batch size, split or sequence length that cannot work.
        public static let invalidArgument = Code(storage: .invalidArgument)

        public var description: String {
            switch storage {
            case .missingFile: "missing data file"
            case .unreadable: "unreadable data file"
            case .tooShort: "text too short"
            case .invalidArgument: "invalid argument"
            }
        }
    }

    /// What kind of error this is.
    public let code: Code
    /// What was wrong, in words a user can act on.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
