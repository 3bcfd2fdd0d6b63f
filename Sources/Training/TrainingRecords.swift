/// One line of the metrics file (JSON Lines) for a training step.
public struct StepRecord: Sendable, Codable, Equatable {
    public var type = "step"
    public var step: Int
    public var train_loss: Double
    /// The matrix optimizer's learning rate at this step.
    public var lr: Double
    /// Global tokens (batch × sequence length) per wall-clock second of this step.
    public var tokens_per_s: Double
    /// Bytes rank 0 sent in this step, every axis together (ring model, as the ledger counts).
    public var comm_bytes: Int
    /// The same per communicator label (`dp`, `fsdp`, `tp`, `world`).
    public var bytes_by_axis: [String: Int]
    /// Collectives rank 0 issued in this step.
    public var collectives: Int
    public var step_seconds: Double
    /// Time inside collectives on rank 0; `compute_seconds` is the rest of the step.
    public var comm_seconds: Double
    public var compute_seconds: Double
    /// Modelled communication time on `--simulate-network` (absent without it).
    public var simulated_comm_seconds: Double?
    /// Seconds since training started (for loss-vs-time plots).
    public var elapsed_seconds: Double
    /// `true` when a non-finite loss or gradient skipped the step.
    public var skipped: Bool
}

/// One line of the metrics file for an evaluation.
public struct EvaluationRecord: Sendable, Codable, Equatable {
    public var type = "eval"
    public var step: Int
    public var val_loss: Double
    public var elapsed_seconds: Double
}

/// The first line of the metrics file: what ran.
public struct RunRecord: Sendable, Codable {
    public var type = "run"
    public var configuration: TrainingConfiguration
    public var processes: Int
    public var parameters: Int
    public var data: String
    public var simulated_network: String?
}

/// The last line of the metrics file and the summary table's contents.
public struct SummaryRecord: Sendable, Codable, Equatable {
    public var type = "summary"
    public var steps: Int
    public var final_train_loss: Double
    public var final_val_loss: Double?
    public var tokens: Int
    public var seconds: Double
    /// Total bytes sent per axis over the run, the maximum over ranks.
    public var bytes_by_axis: [String: Int]
    /// Total communication and compute seconds, the maximum over ranks.
    public var comm_seconds: Double
    public var compute_seconds: Double
    public var simulated_comm_seconds: Double?
    public var skipped_steps: Int
}
