/// The keyed generator's kernel, eight Philox blocks (32 normals) at a time in SIMD lanes.
///
/// Philox4x32-10 runs on eight counters at once; Box–Muller then turns each block's four
/// uniforms into four normals with a vectorized logarithm and a sine/cosine computed in turns
/// (the angle is 2π·k/2²⁴ for a 24-bit integer k, so the quadrant reduction is exact, in integers). Every lane does
/// the same operations in the same order, so a value does not depend on which lane or which
/// group computes it: a block drawn on one rank equals the same block inside a whole draw.
///
/// The polynomials are Cephes' single-precision ones (log on [√½, √2), sin and cos on
/// [−π/4, π/4]); against a float64 Box–Muller of the same uniforms the normals differ by at most
/// 1.3e-7·(1 + |z|) (`KeyedGeneratorTests` allows 5e-7), where glibc's scalar `logf`/`sinf`/`cosf` took about
/// 37 cycles per normal.
enum NormalLanes {
    typealias Lanes = SIMD8<Float>
    typealias Words = SIMD8<UInt32>

    /// The normals of Philox blocks `first ..< first + 8` of `stream` under key `key`: element
    /// 4·l + j of the result (l a lane, j in 0..<4) is normal j of block first + l.
    @inline(__always)
    static func normals(stream: UInt64, firstBlock first: UInt64, key: (UInt32, UInt32),
                        into out: UnsafeMutablePointer<Float>, scale: Float) {
        let blocks = SIMD8<UInt64>(repeating: first) &+ SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7)
        let r = philox(Words(truncatingIfNeeded: blocks), Words(truncatingIfNeeded: blocks &>> 32),
                       Words(repeating: UInt32(truncatingIfNeeded: stream)),
                       Words(repeating: UInt32(truncatingIfNeeded: stream >> 32)), key: key)
        // Uniforms in (0, 1] for the logarithms, [0, 1) for the angles; 24 bits each.
        // (Signed 32-bit lanes throughout: their conversions to Float are single instructions.)
        let unit: Float = 1.0 / 16_777_216.0
        let u1 = (Lanes(SIMD8<Int32>(truncatingIfNeeded: r.0 &>> 8)) + 1) * unit
        let u2 = (Lanes(SIMD8<Int32>(truncatingIfNeeded: r.2 &>> 8)) + 1) * unit
        let radius1 = (-2 * logarithm(u1)).squareRoot() * scale
        let radius2 = (-2 * logarithm(u2)).squareRoot() * scale
        let (cos1, sin1) = cosineAndSine(turns24: SIMD8<Int32>(truncatingIfNeeded: r.1 &>> 8))
        let (cos2, sin2) = cosineAndSine(turns24: SIMD8<Int32>(truncatingIfNeeded: r.3 &>> 8))
        let n0 = radius1 * cos1, n1 = radius1 * sin1, n2 = radius2 * cos2, n3 = radius2 * sin2
        for l in 0..<8 {
            out[4 * l] = n0[l]
            out[4 * l + 1] = n1[l]
            out[4 * l + 2] = n2[l]
            out[4 * l + 3] = n3[l]
        }
    }

    /// Philox4x32 with 10 rounds on eight counters (c0, c1, c2, c3) and one key.
    @inline(__always)
    static func philox(_ c0: Words, _ c1: Words, _ c2: Words, _ c3: Words,
                       key: (UInt32, UInt32)) -> (Words, Words, Words, Words) {
        var (x0, x1, x2, x3) = (c0, c1, c2, c3)
        var (k0, k1) = key
        for _ in 0..<10 {
            let p0 = SIMD8<UInt64>(truncatingIfNeeded: x0) &* 0xD251_1F53
            let p1 = SIMD8<UInt64>(truncatingIfNeeded: x2) &* 0xCD9E_8D57
            let hi0 = Words(truncatingIfNeeded: p0 &>> 32), lo0 = Words(truncatingIfNeeded: p0)
            let hi1 = Words(truncatingIfNeeded: p1 &>> 32), lo1 = Words(truncatingIfNeeded: p1)
            (x0, x1, x2, x3) = (hi1 ^ x1 ^ Words(repeating: k0), lo1, hi0 ^ x3 ^ Words(repeating: k1), lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }

    /// ln(x) for positive, finite, normal x (Cephes `logf`: x = 2ᵉ·m with m in [√½, √2), a
    /// degree-9 polynomial in m − 1, and e·ln 2 in two parts). The split is integer arithmetic on
    /// the bits (no lane-wise selects, which Swift does not vectorize).
    @inline(__always)
    static func logarithm(_ x: Lanes) -> Lanes {
        let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
        let mantissa = bits & 0x007F_FFFF
        // high = 1 where the mantissa is above √2's (0x3504F3), else 0.
        let high = 0 &- ((0x0035_04F3 &- mantissa) &>> 31)
        let exponent = Lanes((bits &>> 23) &- 127 &+ high)
        let m = unsafeBitCast(mantissa | ((127 &- high) &<< 23), to: Lanes.self)
        let f = m - 1
        let z = f * f
        var p: Lanes = Lanes(repeating: 7.037_683_629_2e-2)
        p = p * f - 1.151_461_031_0e-1
        p = p * f + 1.167_699_874_0e-1
        p = p * f - 1.242_014_084_6e-1
        p = p * f + 1.424_932_278_7e-1
        p = p * f - 1.666_805_766_5e-1
        p = p * f + 2.000_071_476_5e-1
        p = p * f - 2.499_999_399_3e-1
        p = p * f + 3.333_333_117_4e-1
        var y = p * f * z
        y += exponent * -2.121_944_400_5e-4
        y += z * -0.5
        return f + y + exponent * 0.693_359_375
    }

    /// cos(2π·t) and sin(2π·t) for t = k/2²⁴, k in [0, 2²⁴): k = q·2²² + d exactly in integers
    /// (q the nearest quarter turn, |d| ≤ 2²¹), the Cephes polynomials on x = 2π·d/2²⁴ in
    /// [−π/4, π/4], then a rotation by q quarter turns.
    @inline(__always)
    static func cosineAndSine(turns24 k: SIMD8<Int32>) -> (cos: Lanes, sin: Lanes) {
        let quarter = (k &+ (1 << 21)) &>> 22
        let x = Lanes(k &- (quarter &<< 22)) * (2 * Float.pi / 16_777_216.0)
        let z = x * x
        var s: Lanes = Lanes(repeating: -1.951_529_589_1e-4)
        s = s * z + 8.332_160_873_6e-3
        s = s * z - 1.666_665_461_1e-1
        s = s * z * x + x
        var c: Lanes = Lanes(repeating: 2.443_315_711_809_948e-5)
        c = c * z - 1.388_731_625_493_765e-3
        c = c * z + 4.166_664_568_298_827e-2
        c = c * z * z - z * 0.5 + 1
        // Rotation by q quarter turns, (cos, sin)·(cos qπ/2, sin qπ/2), with the factors 0 or ±1
        // from integers: exact, and no lane-wise selects.
        let q = quarter & 3
        let cq = Lanes((1 &- (q & 1)) &* (1 &- (q & 2))), sq = Lanes((q & 1) &* (1 &- (q & 2)))
        let cosine = c * cq - s * sq, sine = s * cq + c * sq
        return (cosine, sine)
    }
}
