import CFiniteness

/// Whether every float of a buffer is finite, in one vectorized pass (`CFiniteness`: a float is
/// NaN or ±∞ exactly when its exponent bits are all ones; AVX-512 and AVX2 copies picked at load
/// time, and the scan stops within 64 elements of the first non-finite one).
public enum Finiteness {
    /// `true` when no element of `buffer` is NaN or ±∞ (an empty buffer is finite).
    public static func allFinite(_ buffer: UnsafeBufferPointer<Float>) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        return CFiniteness_all_finite(base, buffer.count)
    }

    /// `true` when no element of `elements` is NaN or ±∞.
    public static func allFinite(_ elements: [Float]) -> Bool {
        elements.withUnsafeBufferPointer { allFinite($0) }
    }
}
