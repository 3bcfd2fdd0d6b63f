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
    public func checkpointTensors() throws -> [CheckpointTensor] {
        var out = [try CheckpointTensor(name: "trainer.state", int64s: [Int64(step), Int64(badSteps), Int64(skippedSteps),
                                                                        Int64(bitPattern: configuration.seed)])]
        for (i, slot) in optimizers.slots.enumerated() {
            let x = parameters.shards[i]
            func block(_ suffix: String, _ values: [Float]) throws -> CheckpointTensor {
                try CheckpointTensor(name: "\(suffix).\(slot.name)", floats: values, shape: [x.localRows, x.localColumns],
                                     globalShape: [x.rows, x.columns], offsets: [x.rowRange.lowerBound, x.columnRange.lowerBound])
            }
            out.append(try block("param", x.local))
            switch slot.state {
            case .dion(let s):
                out.append(try block("dion.momentum", s.momentum.elements))
                let qRange = try Self.qRange(x, s)
                out.append(try CheckpointTensor(name: "dion.q.\(slot.name)", floats: s.q.elements, shape: [qRange.count, s.q.columns],
                                                globalShape: [s.transposed ? x.rows : x.columns, s.q.columns],
                                                offsets: [qRange.lowerBound, 0]))
                out.append(try CheckpointTensor(name: "dion.step.\(slot.name)", int64s: [Int64(s.step)]))
            case .muon(let s):
                out.append(try block("muon.momentum", s.momentum.elements))
                out.append(try CheckpointTensor(name: "muon.step.\(slot.name)", int64s: [Int64(s.step)]))
            case .selective(let s):
                out.append(try block("selective.momentum", s.momentum.elements))
                if configuration.optimizer != .dion2 {
                    out.append(try CheckpointTensor(name: "selective.variance.\(slot.name)", floats: s.variance.elements,
                                                    shape: [x.localRows, 1], globalShape: [x.rows, 1],
                                                    offsets: [x.rowRange.lowerBound, 0]))
                }
                out.append(try CheckpointTensor(name: "selective.selected.\(slot.name)", int64s: s.selected.map(Int64.init)))
                out.append(try CheckpointTensor(name: "selective.step.\(slot.name)", int64s: [Int64(s.step)]))
            case .adamw(let s):
                out.append(try block("adamw.m", s.m.elements))
                out.append(try block("adamw.v", s.v.elements))
                out.append(try CheckpointTensor(name: "adamw.step.\(slot.name)", int64s: [Int64(s.step)]))
            }
        }
        return out
    }

    static func qRange(_ x: ShardedMatrix, _ s: DistributedDion.State) throws -> Range<Int> {
        try DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns, preferTransposed: s.transposed).qRange(of: x)
    }

    /// Saves checkpoint `step` (collective over the world).
    @discardableResult
    public func saveCheckpoint(to store: CheckpointStore) throws -> String {
        try store.save(step: step, tensors: try checkpointTensors(), configuration: checkpointIdentity,
                       mesh: mesh.shape.description, communicator: mesh.world)
    }
}
