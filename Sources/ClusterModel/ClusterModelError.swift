/// An error from the cluster model: an unknown preset or model, a bad mesh or shape list.
public struct ClusterModelError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
