import Testing
@testable import LinearAlgebra

/// Philox4x32-10 against the known-answer vectors published with Random123 (Salmon et al., SC 2011;
/// `kat_vectors`: counter[4] key[2] → output[4]). The keyed normal generator and with it every Q₀,
/// sketch and test matrix rest on this function, so a wrong round or key schedule fails here first.
@Suite("Philox4x32-10 known answers")
struct PhiloxKnownAnswerTests {
    @Test("the three Random123 vectors", arguments: [
        ((UInt32(0), UInt32(0), UInt32(0), UInt32(0)), (UInt32(0), UInt32(0)),
         (UInt32(0x6627_E8D5), UInt32(0xE169_C58D), UInt32(0xBC57_AC4C), UInt32(0x9B00_DBD8))),
        ((UInt32.max, UInt32.max, UInt32.max, UInt32.max), (UInt32.max, UInt32.max),
         (UInt32(0x408F_276D), UInt32(0x41C8_3B0E), UInt32(0xA20B_C7C6), UInt32(0x6D54_51FD))),
        ((UInt32(0x243F_6A88), UInt32(0x85A3_08D3), UInt32(0x1319_8A2E), UInt32(0x0370_7344)),
         (UInt32(0xA409_3822), UInt32(0x299F_31D0)),
         (UInt32(0xD16C_FE09), UInt32(0x94FD_CCEB), UInt32(0x5001_E420), UInt32(0x2412_6EA1))),
    ])
    func knownAnswer(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32),
                     expected: (UInt32, UInt32, UInt32, UInt32)) {
        let out = KeyedNormalGenerator.philox(counter: counter, key: key)
        #expect([out.0, out.1, out.2, out.3] == [expected.0, expected.1, expected.2, expected.3])
    }
}
