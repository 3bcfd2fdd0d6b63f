/// One trainable tensor of the model, named by its position in `TransformerParameters.all`.
///
/// The identity a parameter is keyed by everywhere: the weights a `ParameterSource` serves, the
/// gradients it receives, its optimizer slot, its initialization stream and Dion's random stream
/// (`randomStreamKey`, the position as a `UInt64`, unchanged from when it was a bare index).
public struct ParameterID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The position in `TransformerParameters.all`.
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The parameter at `position` in `TransformerParameters.all`.
    public init(_ position: Int) { rawValue = position }

    /// The key of this parameter's random streams (initialization, Dion's Q₀, Muon's owner):
    /// its position, so the numbers are those of every earlier run.
    public var randomStreamKey: UInt64 { UInt64(rawValue) }

    public var description: String { "parameter \(rawValue)" }

    public static func < (a: ParameterID, b: ParameterID) -> Bool { a.rawValue < b.rawValue }
}
