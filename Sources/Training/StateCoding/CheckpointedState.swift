import DionDistributed
import LinearAlgebra
import Optimizers
import Sharding

/// How one field of an optimizer state is stored in a checkpoint (docs/checkpoints.md).
enum CheckpointField {
    /// A `Matrix`: this rank's `rows × columns` block of a `global` tensor. `perReplica`: the
    /// replicas over `dp` may hold different values (Dion's buffer under the compressed sync), so
    /// restoring reads this rank's own replica or averages them (`StateTensorDecoder`).
    case block(global: (rows: Int, columns: Int), rows: Range<Int>, columns: Range<Int>, perReplica: Bool)
    /// An `Int` step counter: at most the trainer's step.
    case counter
    /// `[Int]` slice indices, ascending, below `bound`.
    case indices(below: Int)

    /// A block with the parameter's placement.
    static func parameterBlock(_ x: ShardedMatrix, perReplica: Bool = false) -> CheckpointField {
        .block(global: (x.rows, x.columns), rows: x.rowRange, columns: x.columnRange, perReplica: perReplica)
    }
}

/// An optimizer state that a checkpoint saves and restores field by field, through its `Codable`
/// conformance: one generic path for every optimizer (`StateTensorEncoder`, `StateTensorDecoder`).
///
/// Each field the state's `encode(to:)` writes is saved as the tensor `prefix.field.parameter`
/// (`dion.momentum.layers.0.wq`) when `checkpointField(_:of:)` says how, and is otherwise
/// configuration the optimizer rebuilds for the run (the parameter's key, the orientation, the
/// global shape): restoring keeps the current state's value of those.
protocol CheckpointedState: Codable {
    /// The first part of the state's tensor names (`dion`, `muon`, `selective`, `adamw`).
    static var checkpointPrefix: String { get }

    /// How the field `key` (its coding key) of this state of parameter `x` is saved, or `nil`
    /// when it is not saved.
    ///
    /// - Throws: when the state does not fit `x`.
    func checkpointField(_ key: String, of x: ShardedMatrix) throws -> CheckpointField?
}

extension DistributedDion.State: CheckpointedState {
    static var checkpointPrefix: String { "dion" }

    func checkpointField(_ key: String, of x: ShardedMatrix) throws -> CheckpointField? {
        switch key {
        case "momentum": return .parameterBlock(x, perReplica: true)
        case "q":
            // Q's rows follow B's columns (over fsdp), whole over tp: rows qRange of the q × r factor.
            let qRange = try DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns,
                                              preferTransposed: transposed).qRange(of: x)
            return .block(global: (transposed ? x.rows : x.columns, q.columns), rows: qRange, columns: 0..<q.columns,
                          perReplica: false)
        case "step": return .counter
        default: return nil
        }
    }
}

extension DistributedMuon.State: CheckpointedState {
    static var checkpointPrefix: String { "muon" }

    func checkpointField(_ key: String, of x: ShardedMatrix) throws -> CheckpointField? {
        switch key {
        case "momentum": .parameterBlock(x)
        case "step": .counter
        default: nil
        }
    }
}

extension DistributedSelective.State: CheckpointedState {
    static var checkpointPrefix: String { "selective" }

    func checkpointField(_ key: String, of x: ShardedMatrix) throws -> CheckpointField? {
        switch key {
        case "momentum": return .parameterBlock(x)
        // NorMuon's and NorDion2's per-row second moment; Dion2 has none (no columns).
        case "variance":
            return variance.columns == 0 ? nil
                : .block(global: (x.rows, variance.columns), rows: x.rowRange, columns: 0..<variance.columns, perReplica: false)
        case "selected": return .indices(below: dimension == .rows ? x.rows : x.columns)
        case "step": return .counter
        default: return nil
        }
    }
}

extension AdamW.State: CheckpointedState {
    static var checkpointPrefix: String { "adamw" }

    func checkpointField(_ key: String, of x: ShardedMatrix) throws -> CheckpointField? {
        switch key {
        case "m", "v": .parameterBlock(x)
        case "step": .counter
        default: nil
        }
    }
}
