import MPIShim

extension ShardedMatrix {
    /// The whole matrix, row-major, on every rank of the mesh.
    ///
    /// All-gathers the blocks over the axis that shards the rows (uneven counts when shards
    /// are short or empty), then over the axis that shards the columns. Collective over those
    /// axis communicators; recorded in the ledger under `fsdp`/`tp`.
    ///
    /// Bytes moved per rank: (k−1)/k of the gathered data per sharded axis of size k (ring), at
    /// `wire.elementSize` bytes per element: with `.bf16` the gather over an axis of more than one
    /// rank moves (and so returns) every element rounded to bfloat16.
    public func gathered(on mesh: DeviceMesh, wire: WirePrecision = .fp32) throws(ShardingError) -> [Float] {
        // Nothing crosses the wire over an axis of one rank: no rounding there.
        func format(_ axis: MeshAxis) -> WirePrecision { mesh.shape.size(of: axis) > 1 ? wire : .fp32 }
        do throws(MPIError) {
            // Rows: blocks of (row shard × local columns) stack vertically.
            var block = local
            var height = localRows
            if let axis = layout.rows.axis {
                let counts = ChunkSplit.sizes(length: rows, parts: mesh.shape.size(of: axis)).map { $0 * localColumns }
                block = try mesh.communicator(axis).allGather(block, counts: counts, wire: format(axis))
                height = rows
            }
            guard let axis = layout.columns.axis else { return block }
            // Columns: each rank's (rows × its columns) block, row-major; interleave row by row.
            let widths = ChunkSplit.sizes(length: columns, parts: mesh.shape.size(of: axis))
            let pieces = try mesh.communicator(axis).allGather(block, counts: widths.map { $0 * height }, wire: format(axis))
            var full = [Float](repeating: 0, count: rows * columns)
            var offset = 0
            var column = 0
            for width in widths {
                for i in 0..<height {
                    for j in 0..<width { full[i * columns + column + j] = pieces[offset + i * width + j] }
                }
                offset += width * height
                column += width
            }
            return full
        } catch {
            throw ShardingError(error)
        }
    }

    /// The same matrix under another layout: gathered, then each rank keeps its new block.
    ///
    /// Simple and exact; it moves the whole matrix through an all-gather, so it is meant for
    /// checkpoints, tests and re-meshing, not for a training step's hot path.
    public func redistributed(to newLayout: ShardLayout, on mesh: DeviceMesh) throws(ShardingError) -> ShardedMatrix {
        if newLayout == layout { return self }
        return try ShardedMatrix(scattering: try gathered(on: mesh), rows: rows, columns: columns, layout: newLayout,
                                 mesh: mesh)
    }
}
