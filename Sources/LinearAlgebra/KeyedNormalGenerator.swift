import DionCore
import Foundation

/// Standard normal numbers that are a pure function of (seed, stream, element index), from the
/// counter-based Philox4x32-10 generator (Salmon et al., SC 2011) and one Box–Muller transform
/// per element. A matrix drawn whole and the same matrix assembled from blocks drawn on
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
    /// Box–Muller transforms turn them into four normals, of which lane index % 4 is returned.
    public func normal(stream: UInt64, index: UInt64) -> Float {
        let four = normals(stream: stream, block: index / 4)
        switch index % 4 {
        case 0: return four.0
        case 1: return four.1
        case 2: return four.2
        default: return four.3
        }
    }

    /// The four normals of Philox block `block`.
    @inline(__always)
    func normals(stream: UInt64, block: UInt64) -> (Float, Float, Float, Float) {
        let r = Self.philox(counter: (UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                                      UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        // Uniforms in (0, 1] for the logarithms, [0, 1) for the angles; 24 bits each (Float).
        let scale: Float = 1.0 / 16_777_216.0
        let u1 = (Float(r.0 >> 8) + 1) * scale, v1 = Float(r.1 >> 8) * scale
        let u2 = (Float(r.2 >> 8) + 1) * scale, v2 = Float(r.3 >> 8) * scale
        let radius1 = (-2 * logf(u1)).squareRoot(), radius2 = (-2 * logf(u2)).squareRoot()
        let angle1 = 2 * Float.pi * v1, angle2 = 2 * Float.pi * v2
        return (radius1 * cosf(angle1), radius1 * sinf(angle1), radius2 * cosf(angle2), radius2 * sinf(angle2))
    }

    /// The block `rows × columns` of the `globalRows × globalColumns` matrix of `stream` whose
    /// element (i, j) is `scale · normal(stream, i · globalColumns + j)`.
    public func block(stream: UInt64, globalColumns: Int, rows: Range<Int>, columns: Range<Int>,
                      scale: Float = 1) -> Matrix {
        var m = Matrix(rows: rows.count, columns: columns.count)
        guard !columns.isEmpty else { return m }
        m.elements.withUnsafeMutableBufferPointer { out in
            var k = 0
            for i in rows {
                var index = UInt64(i * globalColumns + columns.lowerBound)
                let end = UInt64(i * globalColumns + columns.upperBound)
                while index < end {
                    let block = index / 4
                    let four = normals(stream: stream, block: block)
                    var lane = Int(index % 4)
                    while lane < 4 && index < end {
                        let value: Float
                        switch lane {
                        case 0: value = four.0
                        case 1: value = four.1
                        case 2: value = four.2
                        default: value = four.3
                        }
                        out[k] = scale * value
                        k += 1
                        lane += 1
                        index += 1
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
