/// A nonblocking collective in flight, held by reference so that a queue can keep it (`Request`
/// is `~Copyable`). One created finished (a collective that had nothing to move, e.g. one rank on
/// the axis) holds its result from the start.
public final class PendingCollective {
    private var request: Request<Float>?
    private var result: [Float]?

    /// Holds `request` until it is tested complete or waited for.
    public init(_ request: consuming Request<Float>) {
        self.request = consume request
    }

    /// A collective already complete, with its received data.
    public init(finished result: [Float]) {
        self.request = nil
        self.result = result
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
