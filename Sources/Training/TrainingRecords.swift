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
    /// Total communication time on rank 0: every collective's duration from its start to its
    /// completion, summed (with `--overlap on`, nonblocking collectives that ran behind compute
    /// count in full, and overlapping ones each count).
    public var comm_seconds: Double
    /// Exposed communication on rank 0: the time the step was blocked in MPI (blocking
    /// collectives, and waits/tests on nonblocking ones). Without overlap ≈ `comm_seconds`.
    public var exposed_comm_seconds: Double
    /// The rest of the step: `step_seconds − exposed_comm_seconds`.
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
    /// Total communication (every collective's duration, summed), exposed communication (time
    /// blocked in MPI) and compute (wall time minus exposed) seconds, each the maximum over ranks.
    public var comm_seconds: Double
    public var exposed_comm_seconds: Double
    public var compute_seconds: Double
    public var simulated_comm_seconds: Double?
    public var skipped_steps: Int
}
