/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast sequence of well-mixed 64-bit values,
/// and its mixing step on its own (a good hash of one integer). Written once for the keyed
/// generator's stream numbers, the benchmarks' reproducible inputs and the tests' mutations.
public struct SplitMix64: Sendable, Hashable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The next value of the sequence.
    public mutating func next() -> UInt64 {
        let value = Self.mix(state)
        state &+= 0x9E37_79B9_7F4A_7C15
        return value
    }

    /// One SplitMix64 step from `value`: the value the sequence gives after state `value`.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
