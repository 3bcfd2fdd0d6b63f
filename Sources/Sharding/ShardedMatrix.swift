import LinearAlgebra

/// A 2-D `Float` matrix distributed over a `DeviceMesh`: its global shape, its layout, and
/// this rank's block, a `Matrix`. Blocks follow `ChunkSplit`, so shards may be short or empty.
///
/// The block is the one representation of a local shard from the model to the optimizers: the
/// optimizer math takes it `inout` (`BLAS.gemm(…, into: &x.block)`), and `local` is the same
/// storage seen as an array for the collectives — no conversion, no copy.
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
    /// This rank's block, `rowRange.count × columnRange.count`.
    public var block: Matrix

    /// This rank's block's elements, row-major: the storage of `block`, not a copy (mutating it
    /// mutates the block in place). Assigning keeps the block's shape, so it must have
    /// `localRows · localColumns` elements.
    public var local: [Float] {
        get { block.elements }
        _modify { yield &block.elements }
        set { block.elements = newValue }
    }

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
        guard local.count == r.count * c.count,
              let block = try? Matrix(rows: r.count, columns: c.count, elements: local) else {
            throw ShardingError(.shapeMismatch, "this rank's block of a \(rows)×\(columns) matrix under \(layout) is "
                                + "\(r.count)×\(c.count) = \(r.count * c.count) elements, got \(local.count)")
        }
        self.rows = rows
        self.columns = columns
        self.layout = layout
        self.rowRange = r
        self.columnRange = c
        self.block = block
    }

    /// Wraps this rank's block of a distributed matrix (the block's storage is kept, not copied).
    ///
    /// - Throws: `ShardingError.shapeMismatch` when `block` is not the shape of this rank's block.
    public init(rows: Int, columns: Int, layout: ShardLayout, block: Matrix, mesh: DeviceMesh) throws(ShardingError) {
        try self.init(rows: rows, columns: columns, layout: layout, local: block.elements, mesh: mesh)
        guard block.rows == localRows, block.columns == localColumns else {
            throw ShardingError(.shapeMismatch, "this rank's block of a \(rows)×\(columns) matrix under \(layout) is "
                                + "\(localRows)×\(localColumns), got \(block.rows)×\(block.columns)")
        }
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
