import Checkpointing
import Sharding

/// Cuts a rank's block of a tensor out of the blocks of a checkpoint's rank files (any mesh to
/// any mesh: each saved block carries its offsets in the global tensor).
///
/// Everything read is checked against what this run expects — the global shape of every block,
/// the length and agreement of integer tensors — and a mismatch is a `CheckpointError.corrupt`
/// naming the tensor and the rank file, never a trap.
struct BlockAssembler {
    let loaded: LoadedCheckpoint
    let savedMesh: MeshShape

    /// The replica (dp index) a saved rank belonged to: rank = (d·F + f)·T + t.
    func replica(ofSavedRank rank: Int) -> Int { rank / (savedMesh.fsdp * savedMesh.tp) }

    private func corrupt(_ what: String) -> CheckpointError { CheckpointError(.corrupt, "\(loaded.path): \(what)") }

    /// An integer tensor every rank saved identically, of `count` elements: the same in every
    /// file read.
    func int64s(_ name: String, count: Int) throws(CheckpointError) -> [Int64] {
        let ranks = loaded.files.keys.sorted()
        guard let first = ranks.first else { throw corrupt("no rank file was read") }
        let values = try loaded.tensor(name, rank: first).int64s()
        guard values.count == count else {
            throw corrupt("tensor \(name) of rank \(first) holds \(values.count) integers, not \(count)")
        }
        for rank in ranks.dropFirst() where try loaded.tensor(name, rank: rank).int64s() != values {
            throw corrupt("tensor \(name) differs between rank files \(first) and \(rank)")
        }
        return values
    }

    /// A list of slice indices (a selection): strictly ascending, each in `0..<bound`, read from
    /// the file of `rank`, or from every file read when `rank` is `nil` (then they must agree).
    func indices(_ name: String, below bound: Int, rank: Int?) throws(CheckpointError) -> [Int] {
        let ranks = rank.map { [$0] } ?? loaded.files.keys.sorted()
        guard let first = ranks.first else { throw corrupt("no rank file was read") }
        let values = try loaded.tensor(name, rank: first).int64s()
        for other in ranks.dropFirst() where try loaded.tensor(name, rank: other).int64s() != values {
            throw corrupt("tensor \(name) differs between rank files \(first) and \(other)")
        }
        guard values.allSatisfy({ $0 >= 0 && $0 < Int64(bound) }), zip(values, values.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw corrupt("tensor \(name) of rank \(first) is not an ascending list of slices below \(bound)")
        }
        return values.map { Int($0) }
    }

    /// A step counter: one integer in `0...limit` (no counter can pass the trainer's step).
    func counter(_ name: String, limit: Int) throws(CheckpointError) -> Int {
        let value = try int64s(name, count: 1)[0]
        guard value >= 0, value <= Int64(limit) else {
            throw corrupt("step counter \(name) is \(value), outside 0...\(limit) (the trainer's step)")
        }
        return Int(value)
    }

    /// The `rows × columns` block of tensor `name`, a block of a `global` matrix. Replicas hold
    /// the same values except Dion's per-replica buffers; with `averageOverReplicas` the block is
    /// the mean over the saved replicas read (summed in replica order, so every reader gets the
    /// same bits; replicas that are all equal are returned as they are), otherwise it comes from
    /// the lowest replica read, or from replica `only` when given.
    func block(_ name: String, global: (rows: Int, columns: Int), rows: Range<Int>, columns: Range<Int>,
               averageOverReplicas: Bool = false, replica only: Int? = nil) throws(CheckpointError) -> [Float] {
        let width = columns.count
        var byReplica = [Int: (values: [Float], covered: [Bool])]()
        for rank in loaded.files.keys.sorted() where only.map({ replica(ofSavedRank: rank) == $0 }) ?? true {
            let tensor = try loaded.tensor(name, rank: rank)
            // The tensor's own checks (CheckpointTensor.init) put the block inside its global shape.
            guard tensor.shape.count == 2, let offsets = tensor.offsets,
                  tensor.globalShape == [global.rows, global.columns] else {
                throw corrupt("tensor \(name) of rank \(rank) is the block \(tensor.shape) of "
                              + "\(tensor.globalShape.map { "\($0)" } ?? "no global shape"); this run's is "
                              + "\(global.rows)×\(global.columns)")
            }
            let values = try tensor.floats()
            let replica = replica(ofSavedRank: rank)
            var entry = byReplica[replica] ?? ([Float](repeating: 0, count: rows.count * width),
                                               [Bool](repeating: false, count: rows.count * width))
            let savedRows = offsets[0]..<(offsets[0] + tensor.shape[0])
            let savedColumns = offsets[1]..<(offsets[1] + tensor.shape[1])
            let commonRows = rows.clamped(to: savedRows), commonColumns = columns.clamped(to: savedColumns)
            for i in commonRows {
                for j in commonColumns {
                    let k = (i - rows.lowerBound) * width + (j - columns.lowerBound)
                    entry.values[k] = values[(i - savedRows.lowerBound) * tensor.shape[1] + (j - savedColumns.lowerBound)]
                    entry.covered[k] = true
                }
            }
            byReplica[replica] = entry
        }
        let replicas = byReplica.keys.sorted()
        for replica in replicas where byReplica[replica]?.covered.contains(false) ?? true {
            throw corrupt("the saved blocks of \(name) (replica \(replica)) do not cover rows \(rows), columns \(columns)")
        }
        guard let first = replicas.first, var result = byReplica[first]?.values else {
            throw corrupt("no block of \(name)")
        }
        let others = replicas.dropFirst().compactMap { byReplica[$0]?.values }
        if averageOverReplicas && others.contains(where: { $0 != result }) {
            for values in others {
                for k in result.indices { result[k] += values[k] }
            }
            for k in result.indices { result[k] /= Float(replicas.count) }
        }
        return result
    }
}
