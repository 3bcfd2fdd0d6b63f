import Checkpointing
import LinearAlgebra
import Sharding

/// Where a restored state's selection (`CheckpointField.indices`) comes from.
enum SavedSelection {
    /// Every rank file holds the same list (`exact`, `global`; NorMuon's empty one).
    case shared
    /// Each rank file holds its own shard's (`local`): read this rank's file.
    case rank(Int)
    /// `local` on another mesh: the saved shards' selections do not map onto these shards, so the
    /// next step selects afresh (only the byte plan reads the last selection).
    case reset
}

extension CheckpointedState {
    /// This state's checkpoint tensors for parameter `x` (named `name`), one per saved field in
    /// the order `encode(to:)` writes them: `prefix.field.name`.
    ///
    /// - Throws: `CheckpointError.writeFailed` for a field whose value does not fit how it is
    ///   saved (a programming error in a conformance), or what building a tensor throws.
    func checkpointTensors(of x: ShardedMatrix, name: String) throws -> [CheckpointTensor] {
        let fields = try StateFields(of: self)
        var tensors: [CheckpointTensor] = []
        for key in fields.names {
            guard let field = try checkpointField(key, of: x), let value = fields.values[key] else { continue }
            let tensorName = "\(Self.checkpointPrefix).\(key).\(name)"
            switch (field, value) {
            case (.block(let global, let rows, let columns, _), let matrix as Matrix)
                where matrix.rows == rows.count && matrix.columns == columns.count:
                tensors.append(try CheckpointTensor(name: tensorName, floats: matrix.elements, shape: [matrix.rows, matrix.columns],
                                                    globalShape: [global.rows, global.columns],
                                                    offsets: [rows.lowerBound, columns.lowerBound]))
            case (.counter, let counter as Int):
                tensors.append(try CheckpointTensor(name: tensorName, int64s: [Int64(counter)]))
            case (.indices, let indices as [Int]):
                tensors.append(try CheckpointTensor(name: tensorName, int64s: indices.map(Int64.init)))
            default:
                throw CheckpointError(.writeFailed, "\(Self.self).\(key) holds a \(type(of: value)) that does not fit "
                                      + "its checkpoint field \(field)")
            }
        }
        return tensors
    }

    /// This state with every saved field read from a checkpoint (cut to `x`'s blocks on this
    /// mesh) and every other field kept.
    ///
    /// - Parameters:
    ///   - assembler: the checkpoint's blocks.
    ///   - x: the parameter, on this run's mesh.
    ///   - name: the parameter's name.
    ///   - replica: for per-replica blocks, the saved replica to read, or `nil` to average the
    ///     replicas (another mesh, or a sync that needs identical replicas).
    ///   - selection: where a selection is read from.
    ///   - step: the trainer's restored step, the bound of every counter.
    ///   - counters: every counter read is appended (the ranks compare a digest of them).
    /// - Throws: `CheckpointError` for a missing, corrupt or mismatched tensor.
    func restored(from assembler: BlockAssembler, of x: ShardedMatrix, name: String, replica: Int?,
                  selection: SavedSelection, step: Int, counters: inout [Int]) throws -> Self {
        var fields = try StateFields(of: self)
        for key in fields.names {
            guard let field = try checkpointField(key, of: x) else { continue }
            let tensorName = "\(Self.checkpointPrefix).\(key).\(name)"
            switch field {
            case .block(let global, let rows, let columns, let perReplica):
                let elements = try assembler.block(tensorName, global: global, rows: rows, columns: columns,
                                                   averageOverReplicas: perReplica && replica == nil,
                                                   replica: perReplica ? replica : nil)
                fields.values[key] = try Matrix(rows: rows.count, columns: columns.count, elements: elements)
            case .counter:
                let counter = try assembler.counter(tensorName, limit: step)
                counters.append(counter)
                fields.values[key] = counter
            case .indices(let bound):
                fields.values[key] = switch selection {
                case .shared: try assembler.indices(tensorName, below: bound, rank: nil)
                case .rank(let rank): try assembler.indices(tensorName, below: bound, rank: rank)
                case .reset: [Int]()
                }
            }
        }
        return try fields.decode(Self.self)
    }
}
