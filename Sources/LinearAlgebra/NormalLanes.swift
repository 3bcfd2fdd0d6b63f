import CNormalLanes

/// The keyed generator's kernel: Philox4x32-10 on eight counters at a time, then Box–Muller on
/// each block's four uniforms, in SIMD lanes (the C target `CNormalLanes`, the only call site).
///
/// Box–Muller uses a vectorized logarithm and a sine/cosine computed in turns (the angle is
/// 2π·k/2²⁴ for a 24-bit integer k, so the quadrant reduction is exact, in integers). Every lane
/// does the same operations in the same order, so a value does not depend on which lane or which
/// group computes it: a block drawn on one rank equals the same block inside a whole draw.
///
/// The polynomials are Cephes' single-precision ones (log on [√½, √2), sin and cos on
/// [−π/4, π/4]); against a float64 Box–Muller of the same uniforms the normals differ by at most
/// 1.3e-7·(1 + |z|) (`KeyedGeneratorTests` allows 5e-7), where glibc's scalar `logf`/`sinf`/`cosf` took about
/// 37 cycles per normal. The kernel is C because Swift's `SIMD8<Float>` arithmetic left the
/// polynomials scalar; its numbers are the ones the earlier Swift kernel drew, bit for bit
/// (`KeyedGeneratorTests` pins them).
enum NormalLanes {
    /// Normals per group: eight Philox blocks of four.
    static let groupSize = 32

    /// The normals of Philox blocks `first ..< first + 8·groups` of `stream` under key `key`,
    /// times `scale`: element 32·g + 4·l + j of `out` is normal j of block first + 8·g + l.
    ///
    /// - Precondition: `out` has room for `32·groups` floats (the caller's invariant).
    @inline(__always)
    static func normals(stream: UInt64, firstBlock first: UInt64, groups: Int = 1, key: (UInt32, UInt32),
                        into out: UnsafeMutablePointer<Float>, scale: Float) {
        CNormalLanes_normals(stream, first, Int64(groups), key.0, key.1, out, scale)
    }
}
