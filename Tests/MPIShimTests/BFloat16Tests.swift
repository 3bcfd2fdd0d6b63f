import Testing
import MPIShim

/// bfloat16 rounding, the wire format of `--wire bf16`, against cases worked out by hand and a
/// sweep of the bound it promises.
@Suite("bfloat16 wire format")
struct BFloat16Tests {
    @Test("round to nearest, ties to even, on the 16 dropped bits")
    func ties() {
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties to the even 1.
        #expect(BFloat16(Float(1) + 0x1p-8).float == 1)
        // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even): up.
        #expect(BFloat16(Float(1) + 3 * 0x1p-8).float == 1 + 0x1p-6)
        // Just above the tie rounds up, just below rounds down.
        #expect(BFloat16(Float(1) + 0x1p-8 + 0x1p-20).float == 1 + 0x1p-7)
        #expect(BFloat16(Float(1) + 0x1p-8 - 0x1p-20).float == 1)
        #expect(BFloat16(Float(-1.5)).float == -1.5)
    }

    @Test("zeros, infinities, NaN and overflow")
    func specials() {
        #expect(BFloat16(Float(0)).bitPattern == 0)
        #expect(BFloat16(-Float(0)).bitPattern == 0x8000)
        #expect(BFloat16(Float.infinity).float == .infinity)
        #expect(BFloat16(-Float.infinity).float == -.infinity)
        #expect(BFloat16(Float.nan).float.isNaN)
        // A NaN whose payload sits in the dropped bits stays NaN (not ∞).
        #expect(BFloat16(Float(bitPattern: 0x7F80_0001)).float.isNaN)
        #expect(BFloat16(Float.greatestFiniteMagnitude).float == .infinity)
    }

    @Test("relative error at most 2⁻⁸, representable values unchanged, bulk == scalar")
    func bound() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values = [Float]()
        for _ in 0..<10_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let bits = UInt32(truncatingIfNeeded: state >> 32) & 0x3FFF_FFFF | 0x0080_0000  // finite, normal
            values.append(Float(bitPattern: bits) * (state & 1 == 0 ? 1 : -1))
        }
        let rounded = BFloat16.rounded(values)
        #expect(zip(values, rounded).allSatisfy { abs($1 - $0) <= 0x1p-8 * abs($0) })
        #expect(zip(values, BFloat16.encode(values)).allSatisfy { BFloat16($0) == $1 })
        #expect(BFloat16.rounded(rounded) == rounded)
    }
}
