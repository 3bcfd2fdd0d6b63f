import Checkpointing
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Sharding

/// Reading a checkpoint back into a trainer, on any mesh (docs/checkpoints.md).
///
/// Nothing read is trusted: the manifest and the rank files are range-checked as they are
/// decoded (`Checkpointing`), every block is checked against this run's shapes, every counter
/// against the trainer's step, and the trainer state is compared across ranks before step 1, so
/// crafted or mixed files are refused on every rank instead of trapping or desynchronizing them.
extension Trainer {
    /// The trainer's counters as restored: the step, the consecutive and total skipped steps.
    struct RestoredState: Equatable {
        var step: Int
        var badSteps: Int
        var skippedSteps: Int
        /// A hash of every optimizer step counter, in slot order (ranks must agree on it too).
        var counters: Int64
    }

    /// Restores the newest complete checkpoint of `store` (collective over the world). On the
    /// mesh it was saved on, every rank reads its own file; on another mesh every rank reads all
    /// files and cuts its blocks out of them.
    ///
    /// - Returns: The manifest of the checkpoint restored (`CheckpointStore.continueRun(of:)`
    ///   takes its run).
    /// - Throws: `CheckpointError` on every rank (naming the rank that found it) for a missing,
    ///   corrupt, crafted or foreign checkpoint, a block not covered by the saved files, or rank
    ///   files that disagree on the trainer state.
    @discardableResult
    public func restore(from store: CheckpointStore) throws(CheckpointError) -> CheckpointManifest {
        let shape = mesh.shape
        let rank = mesh.world.rank
        // Dion matrices whose sync assumes every replica holds the same buffer.
        let dion = optimizers.dionStates
        let synchronized = Set(zip(dion.slots, dion.states).compactMap { i, s in
            shape.replicate > 1 && !optimizers.dion.usesCompressedSync(for: parameters.shards[i], rank: s.q.columns, mesh: mesh)
                ? i : nil
        })
        func sameMesh(_ manifest: CheckpointManifest) -> Bool {
            manifest.mesh == shape.description && manifest.worldSize == shape.processCount
        }
        // The manifest is validated before this is called: worldSize ≥ 1.
        let loaded = try store.loadLatest(configuration: checkpointIdentity, communicator: mesh.world) { manifest in
            guard sameMesh(manifest) else { return Array(0..<manifest.worldSize) }
            guard !synchronized.isEmpty else { return [rank] }
            // This rank's blocks as every replica saved them: rank = d·F·T + (f·T + t).
            let perReplica = shape.fsdp * shape.tp
            return (0..<shape.replicate).map { $0 * perReplica + rank % perReplica }
        }
        let restored = try RankAgreement.run(over: mesh.world) { () throws(CheckpointError) -> RestoredState in
            do {
                return try restoreLocally(loaded, synchronized: synchronized,
                                          ownReplica: sameMesh(loaded.manifest) ? mesh.index(on: .replicate) : nil,
                                          ownRank: sameMesh(loaded.manifest) ? rank : nil)
            } catch let error as CheckpointError {
                throw error
            } catch {
                throw CheckpointError(.corrupt, "\(loaded.path): \(error)")
            }
        }
        guard let restored else { throw CheckpointError(.corrupt, "\(loaded.path): nothing was restored") }
        try agree(on: restored, path: loaded.path)
        output.print("resumed from \(loaded.path) (step \(step), saved on \(loaded.manifest.mesh))")
        return loaded.manifest
    }

    /// This rank's part of `restore`: no communication. `ownReplica` and `ownRank` are set when
    /// the checkpoint was saved on this mesh.
    private func restoreLocally(_ loaded: LoadedCheckpoint, synchronized: Set<Int>, ownReplica: Int?,
                                ownRank: Int?) throws -> RestoredState {
        let manifest = loaded.manifest
        let saved = try MeshShape(parsing: manifest.mesh)
        guard saved.processCount == manifest.worldSize else {
            throw CheckpointError(.corrupt, "\(loaded.path): the manifest's mesh \(saved) needs \(saved.processCount) "
                                  + "processes but it lists \(manifest.worldSize) rank files")
        }
        let assembler = BlockAssembler(loaded: loaded, savedMesh: saved)
        let state = try assembler.int64s("trainer.state", count: 4)
        let (savedStep, bad, skipped) = (state[0], state[1], state[2])
        guard UInt64(bitPattern: state[3]) == configuration.seed else {
            throw CheckpointError(.corrupt, "\(loaded.path): the trainer state's seed \(UInt64(bitPattern: state[3])) is "
                                  + "not the manifest's seed \(configuration.seed)")
        }
        guard savedStep == Int64(manifest.step) else {
            throw CheckpointError(.corrupt, "\(loaded.path): the rank files hold step \(savedStep) but the manifest says "
                                  + "step \(manifest.step)")
        }
        guard (0...savedStep).contains(bad), (0...savedStep).contains(skipped), bad <= skipped else {
            throw CheckpointError(.corrupt, "\(loaded.path): \(bad) consecutive and \(skipped) total skipped steps do not fit "
                                  + "step \(savedStep)")
        }
        step = Int(savedStep)
        badSteps = Int(bad)
        skippedSteps = Int(skipped)
        var restorer = StateRestorer(assembler: assembler, step: step, selection: .shared)
        for i in optimizers.slots.indices {
            let name = optimizers.slots[i].name
            let x = parameters.shards[i]
            parameters.shards[i].local = try assembler.block("param.\(name)", global: (x.rows, x.columns), rows: x.rowRange,
                                                             columns: x.columnRange)
            // Per-replica buffers (Dion's under the compressed sync) from this rank's own replica
            // when resuming on the same mesh with the same sync, else averaged over the replicas.
            restorer.parameter = x
            restorer.name = name
            restorer.replica = synchronized.contains(i) ? nil : ownReplica
            // exact and global: the whole selection, the same in every rank file; local: each file's own.
            restorer.selection = configuration.selection != .local || configuration.optimizer == .normuon ? .shared
                : ownRank.map { .rank($0) } ?? .reset
            try optimizers.visitState(ofSlot: i, &restorer)
        }
        let counters = restorer.counters
        // FNV-1a over the counters: a digest every rank computes over the same slots.
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325
        for value in counters { digest = (digest ^ UInt64(value)) &* 0x0000_0100_0000_01B3 }
        return RestoredState(step: step, badSteps: badSteps, skippedSteps: skippedSteps,
                             counters: Int64(bitPattern: digest))
    }

    /// Compares the restored trainer state across ranks (one all-gather of 4 integers): rank
    /// files that disagree (crafted, or mixed from two checkpoints) would otherwise train each
    /// rank at another step and deadlock or desynchronize them.
    private func agree(on state: RestoredState, path: String) throws(CheckpointError) {
        let mine: [Int64] = [Int64(state.step), Int64(state.badSteps), Int64(state.skippedSteps), state.counters]
        let all: [Int64]
        do throws(MPIError) {
            all = try mesh.world.allGather(mine)
        } catch {
            throw CheckpointError(communication: error, while: "comparing the restored step counters across ranks")
        }
        func describe(_ r: Int) -> String {
            "rank \(r) read step \(all[4 * r]) (\(all[4 * r + 1]) consecutive, \(all[4 * r + 2]) total skipped steps"
                + (all[4 * r + 3] == all[3] ? ")" : ", other optimizer step counters)")
        }
        for r in 1..<max(mesh.world.size, 1) where Array(all[(4 * r)..<(4 * r + 4)]) != Array(all[0..<4]) {
            throw CheckpointError(.corrupt, "the rank files of \(path) disagree on the trainer state: \(describe(0)), "
                                  + "\(describe(r)); refusing rather than training the ranks at different steps")
        }
    }
}

/// Restores one optimizer state from a checkpoint (`CheckpointedState.restored`), whatever its type.
private struct StateRestorer: StateVisitor {
    let assembler: BlockAssembler
    let step: Int
    var selection: SavedSelection
    var parameter: ShardedMatrix?
    var name = ""
    var replica: Int?
    /// Every counter read, in slot order.
    var counters: [Int] = []

    mutating func visit<State: CheckpointedState>(_ state: inout State) throws {
        guard let parameter else { throw CheckpointError(.corrupt, "no parameter for the state of \(name)") }
        state = try state.restored(from: assembler, of: parameter, name: name, replica: replica, selection: selection,
                                   step: step, counters: &counters)
    }
}
