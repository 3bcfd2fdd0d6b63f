import Checkpointing
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Sharding

/// Sharded checkpoints of a training run (docs/checkpoints.md).
///
/// Every rank writes its blocks of every parameter and of all optimizer state — Dion's momentum
/// (error-feedback buffer) and Q, Muon's momentum, AdamW's moments, every step counter — with
/// their global shape and offsets, plus the trainer state (step = data cursor, consecutive and
/// total skipped steps, seed: all randomness is keyed by seed and step). Per-replica Dion buffers
/// of the compressed data-parallel sync are saved per replica, unsynchronized, so resuming on the
/// same mesh with the same sync is bit-identical to not stopping. Loading onto another mesh, or
/// into a run whose sync needs identical replicas (the uncompressed sync: `--sync uncompressed`,
/// `--grad-clip`), averages them over the saved replicas, which preserves their mean — the only
/// thing the compressed sync's updates depend on.
extension Trainer {
    /// What a checkpoint must match to be resumed: the model, the optimizer and its rank fraction,
    /// and the seed (the learning rate, schedule length and mesh may change).
    public var checkpointIdentity: String {
        let c = configuration
        return "model \(c.model); optimizer \(c.optimizer.rawValue)"
            + (c.optimizer == .dion ? " rank fraction \(c.rankFraction)" : "") + "; seed \(c.seed)"
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

    /// Restores the newest complete checkpoint of `store` (collective over the world). On the
    /// mesh it was saved on, every rank reads its own file; on another mesh every rank reads all
    /// files and cuts its blocks out of them.
    ///
    /// - Returns: The manifest of the checkpoint restored (`CheckpointStore.continueRun(of:)`
    ///   takes its run).
    /// - Throws: `CheckpointError` (agreed on every rank) for a missing, corrupt or foreign
    ///   checkpoint; `TrainingError` when a block is not covered by the saved files.
    @discardableResult
    public func restore(from store: CheckpointStore) throws -> CheckpointManifest {
        let shape = mesh.shape
        let rank = mesh.world.rank
        // Dion matrices whose sync assumes every replica holds the same buffer.
        let synchronized = Set(optimizers.slots.indices.filter { i in
            guard case .dion(let s) = optimizers.slots[i].state, shape.replicate > 1 else { return false }
            return !optimizers.dion.usesCompressedSync(for: parameters.shards[i], rank: s.q.columns, mesh: mesh)
        })
        func sameMesh(_ manifest: CheckpointManifest) -> Bool {
            manifest.mesh == shape.description && manifest.worldSize == shape.processCount
        }
        let loaded = try store.loadLatest(configuration: checkpointIdentity, communicator: mesh.world) { manifest in
            guard sameMesh(manifest) else { return Array(0..<manifest.worldSize) }
            guard !synchronized.isEmpty else { return [rank] }
            // This rank's blocks as every replica saved them: rank = d·F·T + (f·T + t).
            let perReplica = shape.fsdp * shape.tp
            return (0..<shape.replicate).map { $0 * perReplica + rank % perReplica }
        }
        // On the saved mesh, a compressed-sync buffer continues from this rank's own replica.
        let ownReplica = sameMesh(loaded.manifest) ? mesh.index(on: .replicate) : nil
        let saved = try MeshShape(parsing: loaded.manifest.mesh)
        let assembler = BlockAssembler(loaded: loaded, savedMesh: saved)
        let state = try assembler.int64s("trainer.state")
        guard state.count == 4, UInt64(bitPattern: state[3]) == configuration.seed else {
            throw TrainingError(.invalidConfiguration, "\(loaded.path): trainer state \(state) does not match seed \(configuration.seed)")
        }
        step = Int(state[0])
        badSteps = Int(state[1])
        skippedSteps = Int(state[2])
        for i in optimizers.slots.indices {
            let name = optimizers.slots[i].name
            let x = parameters.shards[i]
            func block(_ prefix: String, averaged: Bool = false, replica: Int? = nil) throws -> Matrix {
                try Matrix(rows: x.localRows, columns: x.localColumns,
                           elements: try assembler.block("\(prefix).\(name)", rows: x.rowRange, columns: x.columnRange,
                                                         averageOverReplicas: averaged, replica: replica))
            }
            parameters.shards[i].local = try block("param").elements
            switch optimizers.slots[i].state {
            case .dion(var s):
                let perReplica = synchronized.contains(i) ? nil : ownReplica
                s.momentum = try block("dion.momentum", averaged: perReplica == nil, replica: perReplica)
                let qRange = try Self.qRange(x, s)
                s.q = try Matrix(rows: qRange.count, columns: s.q.columns,
                                 elements: try assembler.block("dion.q.\(name)", rows: qRange, columns: 0..<s.q.columns))
                s.step = Int(try assembler.int64s("dion.step.\(name)")[0])
                optimizers.slots[i].state = .dion(s)
            case .muon(var s):
                s.momentum = try block("muon.momentum")
                s.step = Int(try assembler.int64s("muon.step.\(name)")[0])
                optimizers.slots[i].state = .muon(s)
            case .adamw(var s):
                s.m = try block("adamw.m")
                s.v = try block("adamw.v")
                s.step = Int(try assembler.int64s("adamw.step.\(name)")[0])
                optimizers.slots[i].state = .adamw(s)
            }
        }
        output.print("resumed from \(loaded.path) (step \(step), saved on \(saved))")
        return loaded.manifest
    }
}
