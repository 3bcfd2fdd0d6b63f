/// How Dion synchronizes gradients over the replicate (`dp`) axis.
public enum DionDataParallelSync: String, Sendable, Hashable, Codable {
    /// Compressed when it pays (`usesCompressedSync`), else uncompressed.
    case automatic
    /// All-reduce-average the gradient, then step (every replica holds the same buffer).
    case uncompressed
    /// Never all-reduce the gradient: average P₀ and R over `dp` instead; replicas keep their
    /// own buffers, whose mean follows the single-device recursion (§2.1).
    case compressed
    /// The caller has already averaged the gradient over `dp` (e.g. to clip by the global
    /// gradient norm); the step moves nothing over `dp` (§2.1: "with sync False, DP
    /// gradients must already be averaged").
    case averagedByCaller

    /// Whether Dion's step on an m×n matrix of `layout` and rank r averages P₀ and R over `dp`
    /// instead of the gradient. Automatic: when it pays — r < min(m, n), (m + n)·r < m·n, and the
    /// sharded factors (⌈p/T⌉ + ⌈q/F⌉)·r beat the sharded gradient block they replace (decided
    /// from global shapes, so every rank agrees). The rule the step and every plan call.
    public func usesCompressedSync(rows m: Int, columns n: Int, layout: ShardLayout, rank r: Int,
                                   mesh: MeshShape) -> Bool {
        switch self {
        case .uncompressed, .averagedByCaller: return false
        case .compressed: return mesh.replicate > 1
        case .automatic:
            guard mesh.replicate > 1, r < min(m, n), (m + n) * r < m * n,
                  let geometry = try? DionWorkGeometry(layout: layout, rows: m, columns: n) else { return false }
            let size = { (axis: MeshAxis?) in axis.map { mesh.size(of: $0) } ?? 1 }
            let pShard = ChunkSplit.chunkSize(length: geometry.p, parts: size(geometry.innerAxis))
            let qShard = ChunkSplit.chunkSize(length: geometry.q, parts: size(geometry.outerAxis))
            let block = ChunkSplit.chunkSize(length: m, parts: size(layout.rows.axis))
                * ChunkSplit.chunkSize(length: n, parts: size(layout.columns.axis))
            return (pShard + qShard) * r < block
        }
    }
}
