import Checkpointing
import Sharding

/// Cuts a rank's block of a tensor out of the blocks of a checkpoint's rank files (any mesh to
/// any mesh: each saved block carries its offsets in the global tensor).
struct BlockAssembler {
    let loaded: LoadedCheckpoint
    let savedMesh: MeshShape

    /// The replica (dp index) a saved rank belonged to: rank = (d·F + f)·T + t.
    func replica(ofSavedRank rank: Int) -> Int { rank / (savedMesh.fsdp * savedMesh.tp) }

    /// An integer tensor every rank saved identically, from the first file read.
    func int64s(_ name: String) throws -> [Int64] {
        guard let rank = loaded.files.keys.sorted().first else {
            throw TrainingError(.invalidConfiguration, "\(loaded.path): no rank file was read")
        }
        return try loaded.tensor(name, rank: rank).int64s()
    }

    /// The `rows × columns` block of tensor `name`. Replicas hold the same values except Dion's
    /// per-replica buffers; with `averageOverReplicas` the block is the mean over the saved
    /// replicas read (summed in replica order, so every reader gets the same bits; replicas that
    /// are all equal are returned as they are), otherwise it comes from the lowest replica read,
    /// or from replica `only` when given.
    func block(_ name: String, rows: Range<Int>, columns: Range<Int>, averageOverReplicas: Bool = false,
               replica only: Int? = nil) throws -> [Float] {
        let width = columns.count
        var byReplica = [Int: (values: [Float], covered: [Bool])]()
        for rank in loaded.files.keys.sorted() where only.map({ replica(ofSavedRank: rank) == $0 }) ?? true {
            let tensor = try loaded.tensor(name, rank: rank)
            guard tensor.shape.count == 2, let offsets = tensor.offsets else {
                throw TrainingError(.invalidConfiguration, "\(loaded.path): tensor \(name) of rank \(rank) has no block offsets")
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
            throw TrainingError(.invalidConfiguration, "\(loaded.path): the saved blocks of \(name) (replica \(replica)) do not "
                                + "cover rows \(rows), columns \(columns)")
        }
        guard let first = replicas.first, var result = byReplica[first]?.values else {
            throw TrainingError(.invalidConfiguration, "\(loaded.path): no block of \(name)")
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
