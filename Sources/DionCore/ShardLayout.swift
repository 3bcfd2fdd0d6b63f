/// Where one tensor dimension lives on the mesh.
public enum DimensionPlacement: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Every rank holds the whole dimension.
    case replicated
    /// The dimension is split in chunks over the ranks of one mesh axis.
    case sharded(MeshAxis)

    public var description: String {
        switch self {
        case .replicated: "replicated"
        case .sharded(let axis): "sharded(\(axis.label))"
        }
    }

    /// The axis the dimension is split over, `nil` when replicated.
    public var axis: MeshAxis? {
        if case .sharded(let axis) = self { return axis }
        return nil
    }
}

/// The placement of a 2-D weight stored (out, in) = (rows, columns).
///
/// Layouts a training job uses: `fsdp` (rows over fsdp, the FSDP2 default), `columnParallel`
/// (output rows over tp), `rowParallel` (input columns over tp), and the 2-D combinations
/// `fsdpColumnParallel` (rows over tp, columns over fsdp) and `fsdpRowParallel` (rows over
/// fsdp, columns over tp). The replicate axis never shards: data-parallel replicas hold
/// whole copies.
public struct ShardLayout: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Placement of dimension 0 (rows, output features).
    public let rows: DimensionPlacement
    /// Placement of dimension 1 (columns, input features).
    public let columns: DimensionPlacement

    /// A layout from one placement per dimension.
    ///
    /// - Throws: `ShardingError.invalidLayout` when both dimensions are sharded over the same
    ///   axis, or a dimension is sharded over the replicate axis.
    public init(rows: DimensionPlacement = .replicated, columns: DimensionPlacement = .replicated) throws(ShardingError) {
        if rows.axis == .replicate || columns.axis == .replicate {
            throw ShardingError(.invalidLayout, "the replicate (dp) axis holds whole copies and cannot shard a "
                                + "dimension; shard over fsdp or tp")
        }
        if let axis = rows.axis, axis == columns.axis {
            throw ShardingError(.invalidLayout, "rows and columns are both sharded over \(axis.label); one axis can "
                                + "shard only one dimension (the Dion reference rejects this 'strided' sharding too)")
        }
        self.rows = rows
        self.columns = columns
    }

    /// A layout from the list of axes each dimension is sharded over.
    ///
    /// - Throws: `ShardingError.invalidLayout` when a dimension lists two or more axes:
    ///   sharding one dimension over two axes would make shards strided slices that neither
    ///   Dion's orthonormalization nor a row/column-parallel linear can use; shard the other
    ///   dimension over the second axis instead.
    public init(rowAxes: [MeshAxis], columnAxes: [MeshAxis]) throws(ShardingError) {
        for (name, axes) in [("rows", rowAxes), ("columns", columnAxes)] where axes.count > 1 {
            throw ShardingError(.invalidLayout, "\(name) sharded over \(axes.map(\.label).joined(separator: " and ")): "
                                + "one dimension can be sharded over one mesh axis only; shard the other dimension "
                                + "over the second axis (e.g. rows over tp, columns over fsdp)")
        }
        try self.init(rows: rowAxes.first.map { .sharded($0) } ?? .replicated,
                      columns: columnAxes.first.map { .sharded($0) } ?? .replicated)
    }

    /// A layout the caller knows is valid (no axis twice, never the replicate axis).
    init(unchecked rows: DimensionPlacement, _ columns: DimensionPlacement) {
        self.rows = rows
        self.columns = columns
    }

    /// Whole matrix on every rank.
    public static let replicated = ShardLayout(unchecked: .replicated, .replicated)
    /// FSDP: rows over fsdp.
    public static let fsdp = ShardLayout(unchecked: .sharded(.fsdp), .replicated)
    /// Tensor-parallel column-parallel linear: output rows over tp.
    public static let columnParallel = ShardLayout(unchecked: .sharded(.tp), .replicated)
    /// Tensor-parallel row-parallel linear: input columns over tp.
    public static let rowParallel = ShardLayout(unchecked: .replicated, .sharded(.tp))
    /// Column-parallel with FSDP on the other dimension: rows over tp, columns over fsdp.
    public static let fsdpColumnParallel = ShardLayout(unchecked: .sharded(.tp), .sharded(.fsdp))
    /// Row-parallel with FSDP on the other dimension: rows over fsdp, columns over tp.
    public static let fsdpRowParallel = ShardLayout(unchecked: .sharded(.fsdp), .sharded(.tp))

    /// Every named layout.
    public static let all: [ShardLayout] = [.replicated, .fsdp, .columnParallel, .rowParallel, .fsdpColumnParallel,
                                            .fsdpRowParallel]

    public var description: String { "(rows: \(rows), columns: \(columns))" }
}
