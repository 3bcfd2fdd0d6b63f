/// A nonblocking collective in flight, held by reference so that a queue can keep it (`Request`
/// is `~Copyable`), with what its caller needs at completion (the parameters it carries). A collective that did
/// not need to move anything (one rank on the axis) is created finished, holding its result.
public final class InFlightCollective {
    private var request: Request<Float>?
    private var result: [Float]?
    /// The parameters whose data the message carries, in message order.
    public let indices: [Int]
    /// Blocks kept for the completion (e.g. gradients the axis does not shard).
    public let kept: [[Float]]
    /// For a gradient reduce-scatter: whether it carries the step's last micro-batch (its
    /// completion makes the shards final). Fixed when issued, not when MPI completes it.
    public let last: Bool

    public init(_ request: consuming Request<Float>, indices: [Int], kept: [[Float]] = [], last: Bool = true) {
        self.request = consume request
        self.indices = indices
        self.kept = kept
        self.last = last
    }

    public init(finished result: [Float], indices: [Int], kept: [[Float]] = [], last: Bool = true) {
        self.request = nil
        self.result = result
        self.indices = indices
        self.kept = kept
        self.last = last
    }

    /// Whether it has completed (drives MPI's progress engine once when it has not).
    ///
    /// The corresponding MPI function is `MPI_Test`.
    public func test() throws(MPIError) -> Bool {
        guard var pending = request.take() else { return true }
        do throws(MPIError) {
            let done = try pending.test()
            request = consume pending
            return done
        } catch {
            request = consume pending
            throw error
        }
    }

    /// Blocks until it completes and returns the received data (once).
    ///
    /// The corresponding MPI function is `MPI_Wait`.
    public func wait() throws(MPIError) -> [Float] {
        if let pending = request.take() { result = try pending.wait() }
        defer { result = nil }
        return result ?? []
    }

    /// Blocks until it completes and hands the received data to `body` without copying it (once).
    ///
    /// The corresponding MPI function is `MPI_Wait`.
    public func wait<R>(reading body: (UnsafeBufferPointer<Float>) -> R) throws(MPIError) -> R {
        if let pending = request.take() { return try pending.wait(reading: body) }
        defer { result = nil }
        return (result ?? []).withUnsafeBufferPointer(body)
    }
}
