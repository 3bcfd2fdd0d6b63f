import MPIShim

/// A nonblocking collective of the training step in flight (`PendingCollective`), with the
/// parameters it carries and what its completion needs.
final class InFlightCollective {
    private let pending: PendingCollective
    /// The parameters whose data the message carries, in message order.
    let indices: [Int]
    /// Blocks kept for the completion (e.g. gradients the axis does not shard).
    let kept: [[Float]]
    /// For a gradient reduce-scatter: whether it carries the step's last micro-batch (its
    /// completion makes the shards final). Fixed when issued, not when MPI completes it.
    let last: Bool

    init(_ request: consuming Request<Float>, indices: [Int], kept: [[Float]] = [], last: Bool = true) {
        pending = PendingCollective(request)
        self.indices = indices
        self.kept = kept
        self.last = last
    }

    init(finished result: [Float], indices: [Int], kept: [[Float]] = [], last: Bool = true) {
        pending = PendingCollective(finished: result)
        self.indices = indices
        self.kept = kept
        self.last = last
    }

    /// Whether it has completed (`PendingCollective.test`).
    func test() throws(MPIError) -> Bool { try pending.test() }

    /// Blocks until it completes and returns the received data (once).
    func wait() throws(MPIError) -> [Float] { try pending.wait() }

    /// Blocks until it completes and hands the received data to `body` without copying it (once).
    func wait<R>(reading body: (UnsafeBufferPointer<Float>) -> R) throws(MPIError) -> R { try pending.wait(reading: body) }
}
