/// The one rule that picks a layout for a chosen work orientation, and the check that a given
/// layout keeps it. `MeshParameters` (the training job) and `MeshReplay` (`dion replay --mesh`)
/// both call these, so a matrix is never reinterpreted in the other orientation by a mesh.
extension DionWorkGeometry {
    /// The single-device rule: Dion works on B = Mᵀ when m < n (P then has n rows, Q has m rows),
    /// on B = M otherwise — square matrices included.
    public static func singleDeviceTransposed(rows m: Int, columns n: Int) -> Bool { m < n }

    /// The layout that keeps the work orientation `transposed` on every mesh.
    ///
    /// B's rows (P's side) go over `tp` and B's columns (Q's side) over `fsdp`, each only when that
    /// axis has more than one rank; the replicate axis never shards. So `transposed` puts M's rows
    /// over `fsdp` and its columns over `tp` (the row-parallel family: `.fsdp`, `.rowParallel`,
    /// `.fsdpRowParallel`), and `!transposed` M's rows over `tp` and its columns over `fsdp` (the
    /// column-parallel family). On a mesh with neither axis the layout is `.replicated`, whose
    /// orientation the caller states (`preferTransposed:`).
    ///
    /// - Parameters:
    ///   - transposed: the work orientation to keep (B = Mᵀ).
    ///   - mesh: the mesh the matrix is sharded on.
    /// - Returns: the layout; every combination of orientation and mesh has one.
    public static func layout(keepingTransposed transposed: Bool, on mesh: MeshShape) -> ShardLayout {
        let qSide: DimensionPlacement = mesh.fsdp > 1 ? .sharded(.fsdp) : .replicated
        let pSide: DimensionPlacement = mesh.tp > 1 ? .sharded(.tp) : .replicated
        return transposed ? ShardLayout(unchecked: qSide, pSide) : ShardLayout(unchecked: pSide, qSide)
    }

    /// The geometry of `layout` for an m×n matrix whose work orientation must be `transposed`.
    ///
    /// A replicated layout takes `transposed`; a sharded one must imply it.
    ///
    /// - Parameters:
    ///   - layout: the layout the matrix is sharded with.
    ///   - m: rows of M.
    ///   - n: columns of M.
    ///   - transposed: the orientation the caller's data (Q₀, the reported Q) is in.
    ///   - mesh: the mesh, to name the layout that would keep the orientation.
    /// - Throws: `ShardingError.invalidLayout` when the layout implies the other orientation (for
    ///   square matrices too, where the shapes cannot tell the two apart), naming the layout that
    ///   keeps it; or when the layout is not one Dion can step.
    public init(layout: ShardLayout, rows m: Int, columns n: Int, keepingTransposed transposed: Bool,
                on mesh: MeshShape) throws(ShardingError) {
        try self.init(layout: layout, rows: m, columns: n, preferTransposed: transposed)
        guard self.transposed == transposed else {
            func name(_ t: Bool) -> String { t ? "B = Mᵀ (Q has m = \(m) rows)" : "B = M (Q has n = \(n) rows)" }
            throw ShardingError(.invalidLayout, "\(layout) makes Dion work on \(name(self.transposed)) for this \(m)×\(n) "
                                + "matrix, but its orientation is \(name(transposed)); sharding it this way would read "
                                + "Q as the other factor. The layout that keeps the orientation on \(mesh) is "
                                + "\(Self.layout(keepingTransposed: transposed, on: mesh))")
        }
    }
}
