import Foundation

/// Standard normal numbers that are a pure function of (seed, stream, element index), from the
/// counter-based Philox4x32-10 generator (Salmon et al., SC 2011) and one Box–Muller transform
/// per element. A matrix drawn whole and the same matrix assembled from blocks drawn on
/// different ranks are bit-identical, so every replica and shard agrees on Q₀ and on every RCQR
/// sketch without communication.
public struct KeyedNormalGenerator: Sendable, Hashable {
    /// The seed shared by all ranks.
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// A stream number from its parts (e.g. parameter id, role, step), well mixed.
    public static func stream(_ parts: UInt64...) -> UInt64 {
        parts.reduce(0x243F_6A88_85A3_08D3) { splitMix($0 ^ $1) }
    }

    static func splitMix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
    public func normal(stream: UInt64, index: UInt64) -> Float {
        let r = Self.philox(counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                                      UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        // u1 in (0, 1] avoids log(0); u2 in [0, 1).
        let u1 = (Double(r.0) + 1) / 4_294_967_296.0
        let u2 = Double(r.1) / 4_294_967_296.0
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// The block `rows × columns` of the `globalRows × globalColumns` matrix of `stream` whose
    /// element (i, j) is `scale · normal(stream, i · globalColumns + j)`.
    public func block(stream: UInt64, globalColumns: Int, rows: Range<Int>, columns: Range<Int>,
                      scale: Float = 1) -> Matrix {
        var m = Matrix(rows: rows.count, columns: columns.count)
        for (bi, i) in rows.enumerated() {
            for (bj, j) in columns.enumerated() {
                m.elements[bi * columns.count + bj] = scale * normal(stream: stream, index: UInt64(i * globalColumns + j))
            }
        }
        return m
    }

    /// The whole `rows × columns` matrix of `stream`.
    public func matrix(stream: UInt64, rows: Int, columns: Int, scale: Float = 1) -> Matrix {
        block(stream: stream, globalColumns: columns, rows: 0..<rows, columns: 0..<columns, scale: scale)
    }
}
