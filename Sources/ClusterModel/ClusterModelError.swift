/// An error from the cluster model: an unknown preset or model, a bad mesh or shape list.
public struct ClusterModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the model, mesh, network or optimizer given.
    public let message: String

    /// An error explained by `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
