/// Whether every float of a buffer is finite, in one vectorizable pass.
///
/// A float is NaN or ±∞ exactly when its exponent bits are all ones, so the largest
/// `bits & 0x7F80_0000` over the buffer is `0x7F80_0000` exactly when one element is not finite.
/// Integer `max` is associative, so the compiler vectorizes the loop (a floating-point sum of
/// x·0 would need reassociation it may not do).
public enum Finiteness {
    private static let exponentMask: UInt32 = 0x7F80_0000

    /// `true` when no element of `buffer` is NaN or ±∞ (an empty buffer is finite).
    public static func allFinite(_ buffer: UnsafeBufferPointer<Float>) -> Bool {
        UnsafeRawBufferPointer(buffer).withMemoryRebound(to: UInt32.self) { bits in
            var largest: UInt32 = 0
            for b in bits { largest = max(largest, b & exponentMask) }
            return largest < exponentMask
        }
    }

    /// `true` when no element of `elements` is NaN or ±∞.
    public static func allFinite(_ elements: [Float]) -> Bool {
        elements.withUnsafeBufferPointer { allFinite($0) }
    }
}
