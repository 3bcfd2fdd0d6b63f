import Checkpointing
import MPIShim
import Optimizers
import Sharding
import TrainingData
import Transformer

extension TrainingError {
    /// The error of a layer below training that stopped it, kept as that layer's value.
    public enum Cause: Sendable, Hashable, CustomStringConvertible {
        /// The model refused a batch or its arithmetic failed (`.model`).
        case model(TransformerError)
        /// An optimizer refused its configuration or input, or its arithmetic failed (`.optimizer`).
        case optimizer(OptimizerError)
        /// The mesh cannot hold a parameter (`.mesh`).
        case mesh(ShardingError)
        /// The corpus cannot serve the run (`.data`).
        case data(DataError)
        /// A checkpoint could not be saved (`.checkpoint`).
        case checkpoint(CheckpointError)
        /// The Chrome trace (`--trace`) could not be written (`.io`).
        case trace(LedgerExportError)

        /// The `TrainingError.Code` of the cause.
        var code: Code {
            switch self {
            case .model: .model
            case .optimizer: .optimizer
            case .mesh: .mesh
            case .data: .data
            case .checkpoint: .checkpoint
            case .trace: .io
            }
        }

        public var description: String {
            switch self {
            case .model(let error): "\(error)"
            case .optimizer(let error): "\(error)"
            case .mesh(let error): "\(error)"
            case .data(let error): "\(error)"
            case .checkpoint(let error): "\(error)"
            case .trace(let error): "\(error)"
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

    /// A checkpoint's error as training reports it: a failed collective while ranks coordinated
    /// is `.communication` with its `MPIError`, anything else `.checkpoint`.
    public init(_ error: CheckpointError) {
        if let mpi = error.underlyingError {
            self.init(communication: mpi, while: error.message)
        } else {
            self.init(.checkpoint(error))
        }
    }

    /// The corpus's error (`.data`).
    public init(_ error: DataError) {
        self.init(.data(error))
    }

    /// The error of a step of the run whose callee throws untyped errors (saving a checkpoint,
    /// writing the trace) while `context`, as training reports it: a `TrainingError` as it is,
    /// a failed collective as `.communication` with its `MPIError`, the error of a layer below
    /// as its `cause`, anything else as `.io` naming `context`.
    init(converting error: any Error, while context: String) {
        switch error {
        case let error as TrainingError: self = error
        case let error as MPIError: self.init(communication: error, while: context)
        case let error as CheckpointError: self.init(error)
        case let error as LedgerExportError: self.init(.trace(error))
        case let error as ShardingError: self.init(error, while: context)
        case let error as OptimizerError: self.init(error)
        case let error as TransformerError: self.init(error)
        case let error as DataError: self.init(error)
        default: self.init(.io, "\(context) failed: \(error)")
        }
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
