/// An error from MPIShim: an MPI call that returned a failure code, or a request that was
/// rejected locally before any MPI call (mismatched buffer sizes, bad arguments).
///
/// Modelled on swift-subprocess's `SubprocessError`: `code` is an extensible struct, so new
/// kinds of error can be added without breaking clients that switch over known ones.
///
/// Only `MPIShim` makes them; the value lives in the dependency-free core so that the errors of
/// every layer above (`ShardingError`, `OptimizerError`, `TransformerError`, `TrainingError`)
/// can keep a failed collective's error as it is instead of a string of it.
public struct MPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of an `MPIError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable {
            case mpiCallFailed
            case invalidArgument
            case notInitialized
            case alreadyFinalized
            case collectiveMismatch
            case collectiveTimeout
        }
        let storage: Storage

        /// An MPI function returned a code other than `MPI_SUCCESS`.
        public static let mpiCallFailed = Code(storage: .mpiCallFailed)
        /// The arguments were rejected locally, before calling MPI.
        public static let invalidArgument = Code(storage: .invalidArgument)
        /// MPI could not be initialized.
        public static let notInitialized = Code(storage: .notInitialized)
        /// MPI was already finalized in this process; no MPI call can be made any more.
        public static let alreadyFinalized = Code(storage: .alreadyFinalized)
        /// `--debug-collectives` found ranks issuing different collectives.
        public static let collectiveMismatch = Code(storage: .collectiveMismatch)
        /// The watchdog found a collective that did not complete in time.
        public static let collectiveTimeout = Code(storage: .collectiveTimeout)

        public var description: String {
            switch storage {
            case .mpiCallFailed: "MPI call failed"
            case .invalidArgument: "invalid argument"
            case .notInitialized: "MPI not initialized"
            case .alreadyFinalized: "MPI already finalized"
            case .collectiveMismatch: "collective mismatch"
            case .collectiveTimeout: "collective timeout"
            }
        }
    }

    /// What kind of error this is.
    public let code: Code
    /// The MPI return code, when an MPI function failed.
    public let mpiReturnCode: Int32?
    /// The MPI error class of `mpiReturnCode` (from `MPI_Error_class`), when an MPI function failed.
    public let errorClass: Int32?
    /// A human-readable explanation: the MPI error string, or what was wrong with the arguments.
    public let message: String
    /// The MPI function that failed, or the MPIShim method that rejected its arguments.
    public let function: String

    package init(code: Code, mpiReturnCode: Int32? = nil, errorClass: Int32? = nil, message: String, function: String) {
        self.code = code
        self.mpiReturnCode = mpiReturnCode
        self.errorClass = errorClass
        self.message = message
        self.function = function
    }

    package static func invalidArgument(_ message: String, in function: String) -> MPIError {
        MPIError(code: .invalidArgument, message: message, function: function)
    }

    public var description: String {
        if let rc = mpiReturnCode {
            return "\(function) failed (MPI code \(rc)\(errorClass.map { ", class \($0)" } ?? "")): \(message)"
        }
        return "\(function): \(code): \(message)"
    }
}
