import MPIShim
import Optimizers
import Sharding
import TrainingData
import Transformer

extension TrainingError {
    /// The error of a layer below training that stopped it, kept as that layer's value.
    public enum Cause: Sendable, Hashable, CustomStringConvertible {
        case model(TransformerError)
        case optimizer(OptimizerError)
        case mesh(ShardingError)
        case data(DataError)

        /// The `TrainingError.Code` of the cause.
        var code: Code {
            switch self {
            case .model: .model
            case .optimizer: .optimizer
            case .mesh: .mesh
            case .data: .data
            }
        }

        public var description: String {
            switch self {
            case .model(let error): "\(error)"
            case .optimizer(let error): "\(error)"
            case .mesh(let error): "\(error)"
            case .data(let error): "\(error)"
            }
        }
    }

    /// The model's error as training reports it: a failed collective of the parameter source is
    /// `.communication` with its `MPIError` (the model's context kept), anything else `.model`.
    public init(_ error: TransformerError) {
        if let mpi = error.underlyingError {
            self.init(communication: mpi, while: error.message)
        } else {
            self.init(.model(error))
        }
    }

    /// An optimizer's error as training reports it: a failed collective inside the step is
    /// `.communication` with its `MPIError` (as a failed collective anywhere else in training),
    /// anything else `.optimizer`.
    public init(_ error: OptimizerError) {
        if let mpi = error.underlyingError {
            self.init(communication: mpi, while: error.message)
        } else {
            self.init(.optimizer(error))
        }
    }

    /// The mesh's error while `context`: a failed collective is `.communication` with its
    /// `MPIError`, anything else `.mesh`.
    public init(_ error: ShardingError, while context: String) {
        if let mpi = error.underlyingError {
            self.init(communication: mpi, while: context)
        } else {
            self.init(.mesh(error))
        }
    }

    /// The corpus's error (`.data`).
    public init(_ error: DataError) {
        self.init(.data(error))
    }
}

extension TransformerError {
    /// A `ShardingError` of the FSDP collectives while `context`, as the model reports it: a
    /// failed collective is `.communication` with its `MPIError`, anything else `.shapeMismatch`
    /// (its description kept).
    init(_ error: ShardingError, while context: String) {
        if let mpi = error.underlyingError {
            self.init(communication: mpi, while: context)
        } else {
            self.init(.shapeMismatch, error.code == .shapeMismatch ? error.message : "\(error)")
        }
    }
}
