/// The element types of MPI buffers that MPIShim moves.
public enum MPIDatatype: String, Sendable, Hashable, Codable, CaseIterable {
    case float32
    case float64
    case int32
    case int64
    case uint8
    /// bfloat16 bit patterns (`BFloat16`): moved, never reduced.
    case bfloat16

    /// Size of one element in bytes.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .float64, .int64: 8
        case .uint8: 1
        case .bfloat16: 2
        }
    }

    /// Whether `ReductionOp.average` is defined for this type.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// Index in `allCases` (declaration order), the compact form the ledger stores.
    var code: UInt8 {
        switch self {
        case .float32: 0
        case .float64: 1
        case .int32: 2
        case .int64: 3
        case .uint8: 4
        case .bfloat16: 5
        }
    }
}

/// A Swift type that maps one-to-one onto an MPI datatype.
///
/// `Float`, `Double`, `Int32`, `Int64`, `UInt8` and `BFloat16` conform. The protocol is not meant
/// for other conformances: MPIShim only knows the MPI handles of these six types.
public protocol MPIScalar: BitwiseCopyable, Sendable, Equatable {
    /// The MPI datatype of this Swift type.
    static var mpiDatatype: MPIDatatype { get }
    /// `value / count`, used to turn a sum into an average (floating-point types only).
    static func _dividing(_ value: Self, by count: Int) -> Self
}

extension Float: MPIScalar {
    public static var mpiDatatype: MPIDatatype { .float32 }
    public static func _dividing(_ value: Float, by count: Int) -> Float { value / Float(count) }
}

extension Double: MPIScalar {
    public static var mpiDatatype: MPIDatatype { .float64 }
    public static func _dividing(_ value: Double, by count: Int) -> Double { value / Double(count) }
}

extension Int32: MPIScalar {
    public static var mpiDatatype: MPIDatatype { .int32 }
    public static func _dividing(_ value: Int32, by count: Int) -> Int32 { value / Int32(truncatingIfNeeded: count) }
}

extension Int64: MPIScalar {
    public static var mpiDatatype: MPIDatatype { .int64 }
    public static func _dividing(_ value: Int64, by count: Int) -> Int64 { value / Int64(count) }
}

extension UInt8: MPIScalar {
    public static var mpiDatatype: MPIDatatype { .uint8 }
    public static func _dividing(_ value: UInt8, by count: Int) -> UInt8 { value / UInt8(truncatingIfNeeded: count) }
}
