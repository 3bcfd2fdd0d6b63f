import DionCore

/// Standard normal numbers that are a pure function of (seed, stream, element index), from the
/// counter-based Philox4x32-10 generator (Salmon et al., SC 2011) and one Box–Muller transform
/// per pair of elements (vectorized, `NormalLanes`). A matrix drawn whole and the same matrix assembled from blocks drawn on
/// different ranks are bit-identical, so every replica and shard agrees on Q₀ and on every RCQR
/// sketch without communication.
public struct KeyedNormalGenerator: Sendable, Hashable {
    /// The seed shared by all ranks.
    public let seed: UInt64

    /// A generator whose every number is a function of `seed`, a stream and an index.
    public init(seed: UInt64) { self.seed = seed }

    /// A stream number from its parts (e.g. parameter id, role, step), well mixed.
    public static func stream(_ parts: UInt64...) -> UInt64 {
        parts.reduce(0x243F_6A88_85A3_08D3) { splitMix($0 ^ $1) }
    }

    static func splitMix(_ value: UInt64) -> UInt64 { SplitMix64.mix(value) }

    /// Philox4x32 with 10 rounds on counter (index, stream) and key (seed).
    static func philox(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var c = counter
        var k = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
            k = (k.0 &+ 0x9E37_79B9, k.1 &+ 0xBB67_AE85)
        }
        return c
    }

    /// The standard normal at `index` of `stream`.
    ///
    /// Philox block k = index / 4 (counter (k, stream), key seed) gives four uniforms; two
    /// Box–Muller transforms (`NormalLanes`) turn them into four normals, of which lane
    /// index % 4 is returned.
    public func normal(stream: UInt64, index: UInt64) -> Float {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { buffer in
            guard let base = buffer.baseAddress else { return .nan }
            NormalLanes.normals(stream: stream, firstBlock: index / 4, key: key, into: base, scale: 1)
            return base[Int(index % 4)]
        }
    }

    /// The Philox key: the seed's two halves.
    var key: (UInt32, UInt32) { (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    /// The block `rows × columns` of the `globalRows × globalColumns` matrix of `stream` whose
    /// element (i, j) is `scale · normal(stream, i · globalColumns + j)`.
    public func block(stream: UInt64, globalColumns: Int, rows: Range<Int>, columns: Range<Int>,
                      scale: Float = 1) -> Matrix {
        var m = Matrix(rows: rows.count, columns: columns.count)
        guard !columns.isEmpty, !rows.isEmpty else { return m }
        let key = key
        m.elements.withUnsafeMutableBufferPointer { out in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { group in
                guard let out = out.baseAddress, let group = group.baseAddress else { return }
                var k = 0
                for i in rows {
                    let start = i * globalColumns + columns.lowerBound, end = i * globalColumns + columns.upperBound
                    // Eight Philox blocks (32 normals) at a time, from the block holding `start`:
                    // the whole groups inside the row straight into `out`, the partial ones at
                    // either end through `group`.
                    var first = start / 4
                    var index = start
                    while index < end {
                        let groupStart = 4 * first
                        let whole = index == groupStart ? (end - index) / 32 : 0
                        if whole > 0 {
                            NormalLanes.normals(stream: stream, firstBlock: UInt64(first), groups: whole, key: key,
                                                into: out + k, scale: scale)
                            k += 32 * whole
                            index += 32 * whole
                            first += 8 * whole
                            continue
                        }
                        let upto = min(end, groupStart + 32)
                        NormalLanes.normals(stream: stream, firstBlock: UInt64(first), key: key, into: group, scale: scale)
                        (out + k).update(from: group + (index - groupStart), count: upto - index)
                        k += upto - index
                        index = upto
                        first += 8
                    }
                }
            }
        }
        return m
    }

    /// The whole `rows × columns` matrix of `stream`.
    public func matrix(stream: UInt64, rows: Int, columns: Int, scale: Float = 1) -> Matrix {
        block(stream: stream, globalColumns: columns, rows: 0..<rows, columns: 0..<columns, scale: scale)
    }
}
