/// A bfloat16 value as it crosses the wire: the upper 16 bits of an IEEE fp32 (sign, the 8-bit
/// exponent, 7 stored significand bits). Collectives move it as 2-byte bit patterns
/// (`MPIDatatype.bfloat16`) and never reduce it; arithmetic stays in `Float`.
public struct BFloat16: MPIScalar, Hashable, CustomStringConvertible {
    /// The 16 bits.
    public var bitPattern: UInt16

    /// A value from its bits.
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// `value` rounded to the nearest bfloat16, ties to even; NaN stays NaN (quiet), ±∞ and zeros
    /// keep their sign; finite values beyond bfloat16's largest round to ±∞ as in fp32 arithmetic.
    /// The relative error is at most 2⁻⁸.
    @inlinable
    public init(_ value: Float) { bitPattern = Self.round(value.bitPattern) }

    /// The exact fp32 value.
    @inlinable
    public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    public var description: String { "\(float)" }

    public static var mpiDatatype: MPIDatatype { .bfloat16 }
    public static func _dividing(_ value: BFloat16, by count: Int) -> BFloat16 { BFloat16(value.float / Float(count)) }

    /// Round to nearest even on the fp32 bits: add 0x7FFF plus the lowest kept bit, drop 16 bits.
    /// Branch-free except for NaN, so the loops below vectorize.
    @inlinable @inline(__always)
    static func round(_ bits: UInt32) -> UInt16 {
        let isNaN = (bits & 0x7FFF_FFFF) > 0x7F80_0000
        let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        return isNaN ? UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 : rounded
    }

    /// `values` rounded element by element (`init(_:)`), in one pass the compiler vectorizes.
    public static func encode(_ values: [Float]) -> [BFloat16] {
        [BFloat16](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                out.withMemoryRebound(to: UInt16.self) { bits in
                    UnsafeRawBufferPointer(source).withMemoryRebound(to: UInt32.self) { words in
                        for i in 0..<words.count { bits[i] = round(words[i]) }
                    }
                }
            }
            initialized = values.count
        }
    }

    /// The fp32 values of `values` (exact), in one vectorizable pass.
    public static func decode(_ values: [BFloat16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                out.withMemoryRebound(to: UInt32.self) { words in
                    UnsafeRawBufferPointer(source).withMemoryRebound(to: UInt16.self) { bits in
                        for i in 0..<bits.count { words[i] = UInt32(bits[i]) << 16 }
                    }
                }
            }
            initialized = values.count
        }
    }

    /// `values` after a round trip through bfloat16 (`decode(encode(values))`): what a receiver sees.
    public static func rounded(_ values: [Float]) -> [Float] { decode(encode(values)) }
}
