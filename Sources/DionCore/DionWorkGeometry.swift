/// How a sharded matrix maps onto Dion's work matrix B (p×q) under a layout (§2 paths A, B, C):
/// the orientation, and which mesh axis shards each side of B.
///
/// B's rows (p, the side P lives on) may be sharded over `tp` only (the "inner" axis of path C);
/// its columns (q, the side Q and R live on) over `fsdp` only (the "outer" axis). So FSDP on dim 0
/// (`.fsdp`, `.fsdpRowParallel`) and row-parallel TP transpose (B = Mᵀ); column-parallel TP and
/// FSDP on dim 1 keep B = M; the replicated layout follows the single-device rule (B = Mᵀ when m < n)
/// unless the caller chooses (so that a training job can keep each matrix's orientation the same
/// on every mesh, and with it the optimizer's arithmetic).
public struct DionWorkGeometry: Sendable, Hashable {
    /// B = Mᵀ.
    public let transposed: Bool
    /// p: rows of B, global (the side P lives on).
    public let p: Int
    /// q: columns of B, global (the side Q and R live on).
    public let q: Int
    /// The axis sharding B's rows (`tp`) or `nil`.
    public let innerAxis: MeshAxis?
    /// The axis sharding B's columns (`fsdp`) or `nil`.
    public let outerAxis: MeshAxis?

    /// - Throws: `ShardingError.invalidLayout` when the layout shards B's rows over anything but
    ///   `tp`, its columns over anything but `fsdp`, or uses the replicate axis.
    /// - Parameter preferTransposed: the orientation to use when the layout does not force one
    ///   (a replicated layout); `nil` applies the single-device rule.
    public init(layout: ShardLayout, rows m: Int, columns n: Int, preferTransposed: Bool? = nil) throws(ShardingError) {
        let (rowAxis, columnAxis) = (layout.rows.axis, layout.columns.axis)
        let transposed: Bool
        if rowAxis == .fsdp || columnAxis == .tp {
            transposed = true
        } else if rowAxis == .tp || columnAxis == .fsdp {
            transposed = false
        } else {
            transposed = preferTransposed ?? Self.singleDeviceTransposed(rows: m, columns: n)
        }
        let inner = transposed ? columnAxis : rowAxis
        let outer = transposed ? rowAxis : columnAxis
        guard inner == nil || inner == .tp, outer == nil || outer == .fsdp else {
            throw ShardingError(.invalidLayout, "Dion shards P's side over tp and Q's side over fsdp; \(layout) puts "
                                + "\(inner.map { "\($0)" } ?? "nothing") on P's side and \(outer.map { "\($0)" } ?? "nothing") "
                                + "on Q's side")
        }
        self.transposed = transposed
        (p, q) = transposed ? (n, m) : (m, n)
        innerAxis = inner
        outerAxis = outer
    }

    /// The inner axis when it has more than one rank on `mesh`.
    public func inner(on mesh: MeshShape) -> MeshAxis? { innerAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil } }
    /// The outer axis when it has more than one rank on `mesh`.
    public func outer(on mesh: MeshShape) -> MeshAxis? { outerAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil } }
}
