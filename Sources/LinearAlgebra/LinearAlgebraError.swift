/// An error from the linear-algebra module: shapes that do not fit, or a factorization that
/// failed (reported, never turned into NaNs silently).
public struct LinearAlgebraError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of a `LinearAlgebraError`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Storage: Sendable, Hashable { case shapeMismatch, notPositiveDefinite, lapackFailure }
        let storage: Storage

        /// Operand shapes that do not fit the operation.
        public static let shapeMismatch = Code(storage: .shapeMismatch)
        /// Cholesky found a leading minor that is not positive definite.
        public static let notPositiveDefinite = Code(storage: .notPositiveDefinite)
        /// A LAPACK routine reported an illegal argument or another failure.
        public static let lapackFailure = Code(storage: .lapackFailure)

        public var description: String {
            switch storage {
            case .shapeMismatch: "shape mismatch"
            case .notPositiveDefinite: "not positive definite"
            case .lapackFailure: "LAPACK failure"
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
