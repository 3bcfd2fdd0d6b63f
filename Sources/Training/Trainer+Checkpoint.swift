import Checkpointing
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Sharding

/// Sharded checkpoints of a training run (docs/checkpoints.md).
///
/// Every rank writes its blocks of every parameter and of all optimizer state — Dion's momentum
/// (error-feedback buffer) and Q, Muon's momentum, Dion2's, NorMuon's and NorDion2's buffer M,
/// their per-row second moment V and last selection, AdamW's moments, every step counter — with
/// their global shape and offsets, plus the trainer state (step = data cursor, consecutive and
/// total skipped steps, seed: all randomness is keyed by seed and step). Per-replica Dion buffers
/// of the compressed data-parallel sync are saved per replica, unsynchronized, so resuming on the
/// same mesh with the same sync is bit-identical to not stopping. Loading onto another mesh, or
/// into a run whose sync needs identical replicas (the uncompressed sync: `--sync uncompressed`,
/// `--grad-clip`), averages them over the saved replicas, which preserves their mean — the only
/// thing the compressed sync's updates depend on.
extension Trainer {
    /// What a checkpoint must match to be resumed, as `; `-separated parts (a refusal names the
    /// parts that differ): the model, the optimizer and its rank fraction (Dion) or fraction and
    /// selection mode (Dion2, NorDion2), the seed, the global
    /// batch and its micro-batches, the schedule's shape, the weight decay and the data (by size
    /// and CRC-32C, wherever the file lies). The learning rates, the number of steps (and so the
    /// default warm-up), the mesh, the sync, clipping, logging and checkpoint flags may change.
    public var checkpointIdentity: String {
        let c = configuration
        return "model \(c.model); optimizer \(c.optimizer.rawValue)"
            + (c.optimizer == .dion ? " rank fraction \(c.rankFraction)" : "")
            + (c.optimizer.selectsSlices ? " fraction \(c.fraction) selection \(c.selection.rawValue)" : "") + "; seed \(c.seed)"
            + "; batch-size \(c.batchSize); grad-accum \(c.gradientAccumulation); schedule \(c.schedule.shape.rawValue)"
            + "; weight-decay \(c.weightDecay); data \(dataIdentity)"
    }

    /// This rank's tensors for a checkpoint.
    ///
    /// - Throws: `CheckpointError` (`.writeFailed` for a state its `Codable` conformance cannot encode).
    public func checkpointTensors() throws(CheckpointError) -> [CheckpointTensor] {
        var out = [try CheckpointTensor(name: "trainer.state", int64s: [Int64(step), Int64(badSteps), Int64(skippedSteps),
                                                                        Int64(bitPattern: configuration.seed)])]
        for (i, slot) in optimizers.slots.enumerated() {
            let x = parameters.shards[i]
            out.append(try CheckpointTensor(name: "param.\(slot.name)", floats: x.local, shape: [x.localRows, x.localColumns],
                                            globalShape: [x.rows, x.columns],
                                            offsets: [x.rowRange.lowerBound, x.columnRange.lowerBound]))
            // Every optimizer's state through one generic path (`CheckpointedState`; Codable throws untyped).
            do {
                out.append(contentsOf: try optimizers.state(ofSlot: i).checkpointTensors(of: x, name: slot.name))
            } catch let error as CheckpointError {
                throw error
            } catch {
                throw CheckpointError(.writeFailed, "the optimizer state of \(slot.name) cannot be encoded: \(error)")
            }
        }
        return out
    }

    /// Saves checkpoint `step` (collective over the world).
    @discardableResult
    public func saveCheckpoint(to store: CheckpointStore) throws(CheckpointError) -> String {
        try store.save(step: step, tensors: try checkpointTensors(), configuration: checkpointIdentity,
                       mesh: mesh.shape.description, communicator: mesh.world)
    }
}
