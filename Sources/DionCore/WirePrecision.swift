/// The element format of an optimizer's data on the wire (`--wire`): what its collectives move
/// when they carry matrices (Muon's update, the slices Dion2, NorDion2 and NorMuon route to an
/// owner and back). Compute stays fp32 either way; flags, scores, norms and indices keep their own
/// types.
public enum WirePrecision: String, Sendable, Hashable, Codable, CaseIterable {
    /// 4 bytes per element: the values themselves.
    case fp32
    /// 2 bytes per element: each fp32 rounded to nearest, ties to even, to bfloat16 (8 significant
    /// bits, fp32's exponent range) before it is sent, and widened back on arrival. The relative
    /// error of one element is at most 2⁻⁸ (zero for values already representable). What the Dion
    /// reference sends.
    case bf16

    /// Bytes per element on the wire.
    public var elementSize: Int {
        switch self {
        case .fp32: 4
        case .bf16: 2
        }
    }

    /// The largest relative error one element picks up crossing the wire: 0 for fp32, 2⁻⁸ for bf16
    /// (half a unit in the last of bfloat16's 8 significant bits).
    public var unitRoundoff: Double {
        switch self {
        case .fp32: 0
        case .bf16: 0x1p-8
        }
    }

    /// Parses `fp32` or `bf16`.
    ///
    /// - Throws: `OptimizerChoiceError` saying what is accepted.
    public static func parse(_ text: String) throws(OptimizerChoiceError) -> WirePrecision {
        guard let wire = WirePrecision(rawValue: text) else {
            throw OptimizerChoiceError(message: "bad wire precision '\(text)'; use fp32 or bf16")
        }
        return wire
    }
}
