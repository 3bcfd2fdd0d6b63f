/// A 2-D `Float` matrix distributed over a `DeviceMesh`: its global shape, its layout, and
/// this rank's block (row-major). Blocks follow `ChunkSplit`, so shards may be short or empty.
public struct ShardedMatrix: Sendable, Equatable {
    /// Global rows.
    public let rows: Int
    /// Global columns.
    public let columns: Int
    /// Where each dimension lives.
    public let layout: ShardLayout
    /// The global rows this rank holds.
    public let rowRange: Range<Int>
    /// The global columns this rank holds.
    public let columnRange: Range<Int>
    /// This rank's block, `rowRange.count × columnRange.count`, row-major.
    public var local: [Float]

    /// The block of a `rows × columns` matrix that this rank holds under `layout`.
    public static func blockRanges(rows: Int, columns: Int, layout: ShardLayout,
                                   mesh: DeviceMesh) -> (rows: Range<Int>, columns: Range<Int>) {
        func range(_ placement: DimensionPlacement, _ length: Int) -> Range<Int> {
            guard let axis = placement.axis else { return 0..<length }
            return ChunkSplit.range(of: mesh.index(on: axis), length: length, parts: mesh.shape.size(of: axis))
        }
        return (range(layout.rows, rows), range(layout.columns, columns))
    }

    /// Wraps this rank's block of a distributed matrix.
    ///
    /// - Throws: `ShardingError.shapeMismatch` when `local` is not the size of this rank's block.
    public init(rows: Int, columns: Int, layout: ShardLayout, local: [Float], mesh: DeviceMesh) throws(ShardingError) {
        guard rows >= 0, columns >= 0 else {
            throw ShardingError(.shapeMismatch, "a matrix cannot have \(rows)×\(columns) elements")
        }
        let (r, c) = Self.blockRanges(rows: rows, columns: columns, layout: layout, mesh: mesh)
        guard local.count == r.count * c.count else {
            throw ShardingError(.shapeMismatch, "this rank's block of a \(rows)×\(columns) matrix under \(layout) is "
                                + "\(r.count)×\(c.count) = \(r.count * c.count) elements, got \(local.count)")
        }
        self.rows = rows
        self.columns = columns
        self.layout = layout
        self.rowRange = r
        self.columnRange = c
        self.local = local
    }

    /// Distributes a matrix every rank already holds whole: each rank keeps its block. No
    /// communication.
    ///
    /// - Throws: `ShardingError.shapeMismatch` when `global.count != rows · columns`.
    public init(scattering global: [Float], rows: Int, columns: Int, layout: ShardLayout,
                mesh: DeviceMesh) throws(ShardingError) {
        guard global.count == rows * columns, rows >= 0, columns >= 0 else {
            throw ShardingError(.shapeMismatch, "a \(rows)×\(columns) matrix needs \(rows * columns) elements, "
                                + "got \(global.count)")
        }
        let (r, c) = Self.blockRanges(rows: rows, columns: columns, layout: layout, mesh: mesh)
        var block = [Float]()
        block.reserveCapacity(r.count * c.count)
        for i in r { block.append(contentsOf: global[(i * columns + c.lowerBound)..<(i * columns + c.upperBound)]) }
        try self.init(rows: rows, columns: columns, layout: layout, local: block, mesh: mesh)
    }

    /// This rank's block height.
    public var localRows: Int { rowRange.count }
    /// This rank's block width.
    public var localColumns: Int { columnRange.count }
}
