import MPIShim

extension ShardedMatrix {
    /// Which dimension `axis` shards in this layout, if any.
    private func dimension(of axis: MeshAxis) -> (rows: Bool, length: Int)? {
        if layout.rows.axis == axis { return (true, rows) }
        if layout.columns.axis == axis { return (false, columns) }
        return nil
    }

    /// This rank's block made whole along the dimension `axis` shards (the FSDP all-gather
    /// before a layer's forward): with `.fsdpColumnParallel` over `fsdp`, this tp rank's rows
    /// with every column. Unchanged when `axis` shards nothing here.
    ///
    /// One all-gather over `axis` (uneven counts for short or empty chunks); each rank receives
    /// (k−1)/k of the result.
    ///
    /// - Returns: the block's height, width and elements (row-major).
    public func allGathered(over axis: MeshAxis, on mesh: DeviceMesh) throws(ShardingError)
        -> (rows: Int, columns: Int, elements: [Float]) {
        guard let (isRows, length) = dimension(of: axis), mesh.shape.size(of: axis) > 1 else {
            return (localRows, localColumns, local)
        }
        let sizes = ChunkSplit.sizes(length: length, parts: mesh.shape.size(of: axis))
        do throws(MPIError) {
            if isRows {
                let all = try mesh.communicator(axis).allGather(local, counts: sizes.map { $0 * localColumns })
                return (rows, localColumns, all)
            }
            let pieces = try mesh.communicator(axis).allGather(local, counts: sizes.map { $0 * localRows })
            return (localRows, columns, Self.interleave(pieces, height: localRows, widths: sizes))
        } catch {
            throw ShardingError(error)
        }
    }

    /// The inverse of `allGathered(over:on:)` for gradients: every rank holds a block `whole`
    /// that is complete along the dimension `axis` shards (same height and width as
    /// `allGathered` returns); the blocks are summed over `axis` and each rank keeps its chunk,
    /// the FSDP reduce-scatter. Unchanged when `axis` shards nothing here.
    ///
    /// - Throws: `ShardingError.shapeMismatch` when `whole` has the wrong size.
    public func reduceScattered(_ whole: [Float], over axis: MeshAxis, on mesh: DeviceMesh) throws(ShardingError) -> [Float] {
        guard let (isRows, length) = dimension(of: axis), mesh.shape.size(of: axis) > 1 else {
            guard whole.count == local.count else {
                throw ShardingError(.shapeMismatch, "gradient block of \(whole.count) elements for a \(localRows)×\(localColumns) block")
            }
            return whole
        }
        let sizes = ChunkSplit.sizes(length: length, parts: mesh.shape.size(of: axis))
        let height = isRows ? rows : localRows, width = isRows ? localColumns : columns
        guard whole.count == height * width else {
            throw ShardingError(.shapeMismatch, "gradient block of \(whole.count) elements, expected \(height)×\(width)")
        }
        do throws(MPIError) {
            if isRows {
                return try mesh.communicator(axis).reduceScatter(whole, counts: sizes.map { $0 * width }, op: .sum)
            }
            // Pack each column chunk contiguously (chunk by chunk, row-major inside).
            var packed = [Float]()
            packed.reserveCapacity(whole.count)
            var start = 0
            for w in sizes {
                for i in 0..<height { packed.append(contentsOf: whole[(i * width + start)..<(i * width + start + w)]) }
                start += w
            }
            return try mesh.communicator(axis).reduceScatter(packed, counts: sizes.map { $0 * height }, op: .sum)
        } catch {
            throw ShardingError(error)
        }
    }

    /// Row-major `height × Σwidths` from column chunks stored one after another.
    static func interleave(_ pieces: [Float], height: Int, widths: [Int]) -> [Float] {
        let total = widths.reduce(0, +)
        var full = [Float](repeating: 0, count: height * total)
        var offset = 0, column = 0
        for width in widths {
            for i in 0..<height {
                for j in 0..<width { full[i * total + column + j] = pieces[offset + i * width + j] }
            }
            offset += width * height
            column += width
        }
        return full
    }
}
