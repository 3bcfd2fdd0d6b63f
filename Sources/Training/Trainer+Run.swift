import Checkpointing
import Foundation
import MPIShim

extension Trainer {
    /// Trains for the configured steps: progress lines every `logEvery` steps, evaluations every
    /// `evalEvery` steps and after the last, metrics records, the summary table and, when
    /// `tracePath` is set, a Chrome trace of compute and collectives of every rank (written by rank 0).
    /// Collective over the world.
    ///
    /// - Throws: `TrainingError.io` on every rank when rank 0's metrics file cannot be written
    ///   (a full disk): every rank stops before the next update, and the state after the last
    ///   completed step is checkpointed when the run has a checkpoint directory (as `stopAt`
    ///   would); a failure of the last records is reported after the run ends.
    ///   `TrainingError.invalidConfiguration` on every rank before anything is written when the
    ///   run has nothing to do: it starts (from a checkpoint) at or past `--steps`, or
    ///   `stopAt` is not after the step it starts at. `.communication` with the `MPIError` when a
    ///   collective fails, and what `trainStep`, `evaluate` and `saveCheckpoint(to:)` throw
    ///   (`.checkpoint` with the `CheckpointError`).
    @discardableResult
    public func run(tracePath: String? = nil, stopAt: Int? = nil) throws(TrainingError) -> SummaryRecord {
        let c = configuration
        guard step < c.steps else {
            throw TrainingError(.invalidConfiguration, "the run starts at step \(step) (its checkpoint) but --steps is \(c.steps): "
                                + "nothing to train; pass a --steps above \(step) to train further")
        }
        if let stopAt, stopAt <= step {
            throw TrainingError(.invalidConfiguration, "--stop-at \(stopAt) is not after step \(step), where the run starts "
                                + "(its checkpoint); pass a later --stop-at")
        }
        output.write(RunRecord(configuration: c, processes: mesh.world.size, parameters: c.model.parameterCount,
                               data: dataSource, simulated_network: simulatedNetwork?.preset.name))
        output.print("dion train: \(c.model) (\(c.model.parameterCount) parameters) on \(mesh.shape)"
                     + (overlap ? " (overlap on)" : "") + (WaitPolicy.current == .block ? "" : " (waits: \(WaitPolicy.current))") + ", \(c.optimizer.rawValue)"
                     + (c.optimizer == .dion ? " ρ=\(c.rankFraction)" : "")
                     + (dionInBackward && dionLink != nil ? " (fsdp collectives in the backward)" : "")
                     + (c.optimizer.selectsSlices ? " α=\(c.fraction) \(c.selection.rawValue)" : "") + ", batch \(c.batchSize)×\(c.model.sequenceLength)"
                     + (c.gradientAccumulation > 1 ? " in \(c.gradientAccumulation) micro-batches" : "")
                     + ", \(c.schedule.shape.rawValue) lr \(c.learningRate), data \(dataSource)")
        let runStart = Date().timeIntervalSince1970
        let total = LedgerDelta()
        var lastLoss = Double.nan
        var lastValidation: Double?
        let end = min(stopAt ?? c.steps, c.steps)
        let startStep = step
        var savedStep: Int?
        while step < end {
            let delta = LedgerDelta()
            let lr = Double(c.learningRate) * c.schedule.multiplier(at: step)
            let result = try trainStep()
            if result.stopped { try stopAfterOutputFailure(startStep: startStep, savedStep: savedStep) }
            let seconds = delta.elapsed
            let axes = delta.byAxis()
            let comm = axes.values.reduce(0.0) { $0 + $1.seconds }
            let exposed = min(delta.blocked, seconds)
            let record = StepRecord(step: step, train_loss: result.loss, lr: lr,
                                    tokens_per_s: Double(c.batchSize * c.model.sequenceLength) / max(seconds, 1e-9),
                                    comm_bytes: axes.values.reduce(0) { $0 + $1.bytesSent },
                                    bytes_by_axis: axes.mapValues(\.bytesSent), collectives: axes.values.reduce(0) { $0 + $1.calls },
                                    step_seconds: seconds, comm_seconds: comm, exposed_comm_seconds: exposed,
                                    compute_seconds: max(0, seconds - exposed),
                                    simulated_comm_seconds: simulatedNetwork.map { _ in axes.values.reduce(0.0) { $0 + $1.simulatedSeconds } },
                                    elapsed_seconds: Date().timeIntervalSince1970 - runStart, skipped: result.skipped)
            if !result.skipped { lastLoss = result.loss }
            output.write(record)
            var validation: Double?
            if (c.evalEvery > 0 && step % c.evalEvery == 0) || step == c.steps {
                let v = try evaluate()
                validation = v
                lastValidation = v
                output.write(EvaluationRecord(step: step, val_loss: v, elapsed_seconds: Date().timeIntervalSince1970 - runStart))
            }
            if step % c.logEvery == 0 || step == end || validation != nil || result.skipped {
                output.progress(record, total: c.steps, validation: validation)
            }
            if let store = checkpoints, (checkpointEvery > 0 && step % checkpointEvery == 0) || step == end {
                let started = Date().timeIntervalSince1970
                let path = try save(to: store)
                savedStep = step
                output.print("checkpoint: step \(step) → \(path) (\(String(format: "%.2f", Date().timeIntervalSince1970 - started)) s)")
            }
        }
        if end < c.steps {
            output.print("stopped at step \(step) of \(c.steps) (--stop-at)"
                         + (checkpoints.map { "; continue with --resume --checkpoint-dir \($0.directory)" } ?? ""))
        }
        let summary = try summarize(total, loss: lastLoss, validation: lastValidation, seconds: Date().timeIntervalSince1970 - runStart)
        output.write(summary)
        output.summary(summary)
        if output.writesMetrics {
            // The last records have no next step to carry their failure: one more agreement.
            var failed: [Double] = [output.metricsFailure == nil ? 0 : 1]
            do throws(MPIError) {
                try mesh.world.allReduce(&failed, op: .max)
            } catch {
                throw TrainingError(communication: error, while: "agreeing on the last records' failure across ranks")
            }
            if failed[0] > 0 {
                throw TrainingError(.io, try agreedOutputFailure() + "; the run finished at step \(step)"
                                    + (checkpoints.map { " and its last checkpoint is in \($0.directory)" } ?? ""))
            }
        }
        if let tracePath {
            do {
                try CommunicationLedger.shared.writeChromeTrace(to: tracePath, gatheringOver: mesh.world, extraEvents: spans.events)
            } catch {
                throw TrainingError(converting: error, while: "gathering the trace")
            }
            output.print("trace: \(tracePath)")
        }
        output.flush()
        return summary
    }

    /// Every rank agreed in `trainStep` to stop because a rank's metrics write failed: saves the
    /// state after the last completed step when the run has a checkpoint directory (unless it is
    /// saved already or nothing was trained since the run started), then throws the failure on
    /// every rank. Collective over the world.
    private func stopAfterOutputFailure(startStep: Int, savedStep: Int?) throws(TrainingError) -> Never {
        var saved: String?
        if let store = checkpoints, step > startStep, savedStep != step {
            saved = try save(to: store)
            output.print("checkpoint: step \(step) → \(saved ?? store.directory)")
        }
        let reason = try agreedOutputFailure()
        let kept = saved.map { "; the state after it is saved in \($0): continue with --resume once the metrics file "
                               + "can be written" }
            ?? (checkpoints == nil ? " (no --checkpoint-dir: nothing saved)"
                : step == startStep ? " (before any update of this run: nothing to save)" : "; its checkpoint is saved")
        throw TrainingError(.io, "\(reason); every rank stopped after step \(step)\(kept)")
    }

    /// The first rank's metrics failure, as every rank sees it (one all-gather of the messages).
    ///
    /// - Throws: `TrainingError.communication` with the `MPIError` when the all-gather fails.
    private func agreedOutputFailure() throws(TrainingError) -> String {
        let gathered: (values: [UInt8], counts: [Int])
        do throws(MPIError) {
            gathered = try mesh.world.allGatherVariable(Array((output.metricsFailure?.message ?? "").utf8))
        } catch {
            throw TrainingError(communication: error, while: "agreeing on the metrics failure across ranks")
        }
        var start = 0
        for (rank, count) in gathered.counts.enumerated() {
            if count > 0 {
                let text = String(decoding: gathered.values[start..<(start + count)], as: UTF8.self)
                return mesh.world.size > 1 ? "\(text) (on rank \(rank))" : text
            }
            start += count
        }
        return "a rank's output failed"
    }

    /// `saveCheckpoint(to:)`, its errors as the run reports them.
    private func save(to store: CheckpointStore) throws(TrainingError) -> String {
        do {
            return try saveCheckpoint(to: store)
        } catch {
            throw TrainingError(error)
        }
    }

    /// Totals over the run, the maximum over ranks (one all-reduce).
    private func summarize(_ total: LedgerDelta, loss: Double, validation: Double?,
                           seconds: Double) throws(TrainingError) -> SummaryRecord {
        let axes = total.byAxis()
        let labels = ["dp", "fsdp", "tp", "world"]
        let comm = axes.values.reduce(0.0) { $0 + $1.seconds }
        let exposed = min(total.blocked, seconds)
        var maxima: [Double] = labels.map { Double(axes[$0]?.bytesSent ?? 0) }
            + [comm, max(0, seconds - exposed), axes.values.reduce(0.0) { $0 + $1.simulatedSeconds }, exposed]
        do throws(MPIError) {
            try mesh.world.allReduce(&maxima, op: .max)
        } catch {
            throw TrainingError(communication: error, while: "taking the run's totals across ranks")
        }
        var bytes = [String: Int]()
        for (i, label) in labels.enumerated() where maxima[i] > 0 { bytes[label] = Int(maxima[i]) }
        let c = configuration
        return SummaryRecord(steps: step, final_train_loss: loss, final_val_loss: validation,
                             tokens: step * c.batchSize * c.model.sequenceLength, seconds: seconds, bytes_by_axis: bytes,
                             comm_seconds: maxima[4], exposed_comm_seconds: maxima[7], compute_seconds: maxima[5],
                             simulated_comm_seconds: simulatedNetwork.map { _ in maxima[6] }, skipped_steps: skippedSteps)
    }
}
