/// Several matrices gathered or reduce-scattered over one mesh axis as one message: the FSDP
/// all-gather of a block's weights and the reduce-scatter of its gradients, one collective per
/// block instead of one per matrix.
///
/// The message is rank-major: rank r's part holds, matrix after matrix (in the order given),
/// that matrix's chunk r along the dimension `axis` shards — whole rows for a row split, the
/// column chunk packed row by row for a column split (as `ShardedMatrix.allGathered` and
/// `reduceScattered` lay out one matrix). Matrices the axis does not shard take no part. The
/// ring-model bytes are those of the per-matrix collectives summed (`RingCost` is linear in the
/// counts), so batching changes the number of collectives, not the bytes.
public struct AxisBatch: Sendable {
    /// One matrix of the batch.
    struct Member: Sendable {
        /// Whether the axis shards this matrix (with more than one rank).
        let sharded: Bool
        /// Whether it shards the rows (else the columns).
        let rows: Bool
        /// Chunk length per rank along the sharded dimension.
        let sizes: [Int]
        /// Height and width of the block made whole along the axis.
        let height: Int
        let width: Int
        /// Elements of the matrix in rank r's part of the message.
        func count(_ r: Int) -> Int { sizes[r] * (rows ? width : height) }
    }

    let members: [Member]
    /// Elements per rank in the gathered message (the reduce-scatter's blocks).
    public let counts: [Int]
    /// This rank's index on the axis.
    public let rank: Int
    /// Whether there is a collective to issue (some matrix is sharded by the axis).
    public var isCollective: Bool { members.contains(where: \.sharded) }

    /// The batch of `matrices` (this rank's shards) over `axis`.
    public init(_ matrices: [ShardedMatrix], over axis: MeshAxis, on mesh: DeviceMesh) {
        let parts = mesh.shape.size(of: axis)
        rank = mesh.index(on: axis)
        let members = matrices.map { x in
            let byRows = x.layout.rows.axis == axis, byColumns = x.layout.columns.axis == axis
            guard parts > 1, byRows || byColumns else {
                return Member(sharded: false, rows: true, sizes: [], height: x.localRows, width: x.localColumns)
            }
            let sizes = ChunkSplit.sizes(length: byRows ? x.rows : x.columns, parts: parts)
            return Member(sharded: true, rows: byRows, sizes: sizes, height: byRows ? x.rows : x.localRows,
                          width: byRows ? x.localColumns : x.columns)
        }
        self.members = members
        counts = (0..<parts).map { r in members.reduce(0) { $0 + ($1.sharded ? $1.count(r) : 0) } }
    }

    /// What this rank contributes to the all-gather: its shards of the sharded matrices, concatenated.
    public func gatherInput(_ matrices: [ShardedMatrix]) -> [Float] {
        var message = [Float]()
        message.reserveCapacity(counts[rank])
        for (x, m) in zip(matrices, members) where m.sharded { message.append(contentsOf: x.local) }
        return message
    }

    /// Every matrix made whole along the axis, from the gathered message (an unsharded matrix is
    /// its local block).
    ///
    /// - Returns: per matrix, its height, width and elements (row-major).
    public func unpackGathered(_ message: [Float], _ matrices: [ShardedMatrix]) -> [(rows: Int, columns: Int, elements: [Float])] {
        var pieces = members.map { m in [Float](repeating: 0, count: m.sharded ? m.height * m.width : 0) }
        var offset = 0
        message.withUnsafeBufferPointer { source in
            for r in counts.indices {
                for (k, m) in members.enumerated() where m.sharded {
                    let count = m.count(r)
                    pieces[k].withUnsafeMutableBufferPointer { whole in
                        if m.rows {
                            let start = m.sizes[..<r].reduce(0, +) * m.width
                            for e in 0..<count { whole[start + e] = source[offset + e] }
                        } else {
                            let column = m.sizes[..<r].reduce(0, +), w = m.sizes[r]
                            for i in 0..<m.height {
                                for j in 0..<w { whole[i * m.width + column + j] = source[offset + i * w + j] }
                            }
                        }
                    }
                    offset += count
                }
            }
        }
        return members.indices.map { k in
            members[k].sharded ? (members[k].height, members[k].width, pieces[k])
                : (matrices[k].localRows, matrices[k].localColumns, matrices[k].local)
        }
    }

    /// The reduce-scatter's input from whole blocks (each `height × width` as `unpackGathered`
    /// returns): rank by rank, each sharded matrix's chunk for that rank.
    ///
    /// - Throws: `ShardingError.shapeMismatch` when a block has the wrong size.
    public func reduceScatterInput(_ wholes: [[Float]]) throws(ShardingError) -> [Float] {
        for (whole, m) in zip(wholes, members) where whole.count != m.height * m.width {
            throw ShardingError(.shapeMismatch, "gradient block of \(whole.count) elements, expected \(m.height)×\(m.width)")
        }
        var message = [Float]()
        message.reserveCapacity(counts.reduce(0, +))
        for r in counts.indices {
            for (whole, m) in zip(wholes, members) where m.sharded {
                if m.rows {
                    let start = m.sizes[..<r].reduce(0, +) * m.width
                    message.append(contentsOf: whole[start..<(start + m.count(r))])
                } else {
                    let column = m.sizes[..<r].reduce(0, +), w = m.sizes[r]
                    for i in 0..<m.height {
                        message.append(contentsOf: whole[(i * m.width + column)..<(i * m.width + column + w)])
                    }
                }
            }
        }
        return message
    }

    /// The blocks `splitReduced` needs besides the reduced message: those of the matrices the axis
    /// does not shard (the others are empty, so a caller keeping them while the reduce-scatter is
    /// in flight holds no reference to buffers it may reuse).
    public func unshardedBlocks(_ wholes: [[Float]]) -> [[Float]] {
        zip(wholes, members).map { $1.sharded ? [] : $0 }
    }

    /// Each matrix's piece of this rank's reduced block (a sharded matrix's shard; an unsharded
    /// one's whole block is taken from `wholes`).
    public func splitReduced(_ block: [Float], wholes: [[Float]]) -> [[Float]] {
        reducedPieces(block, wholes: wholes).map { Array($0) }
    }

    /// `splitReduced(_:wholes:)` without copying: each piece is a slice of `block` (or of its
    /// whole block), sharing its storage.
    public func reducedPieces(_ block: [Float], wholes: [[Float]]) -> [ArraySlice<Float>] {
        var offset = 0
        return members.indices.map { k in
            let m = members[k]
            guard m.sharded else { return wholes[k][...] }
            let count = m.count(rank)
            defer { offset += count }
            return block[offset..<(offset + count)]
        }
    }
}
