import MPIShim

/// One rank's failure before training, made every rank's: `agree(over:_:)` runs a body on every
/// rank, exchanges whether it failed (one all-gather of a flag) and, if any rank failed, the
/// first failing rank's message, which every rank then throws. For steps that only some ranks
/// do (rank 0 opens the metrics and trace files), so that a refusal is printed by every rank
/// and none is left waiting in the next collective.
public struct RankFailure: Error, Sendable, CustomStringConvertible {
    /// The failing rank's error, as it described it.
    public let message: String
    /// The first rank that failed.
    public let rank: Int
    /// The number of ranks that agreed (the rank is named only when there are several).
    public let ranks: Int

    public var description: String { ranks > 1 ? "\(message) (on rank \(rank))" : message }

    /// Runs `body` on every rank and agrees on whether it failed (collective over `world`).
    ///
    /// - Throws: `RankFailure` on every rank when `body` threw on any; `TrainingError.communication`
    ///   (with the `MPIError`) when the collectives fail.
    public static func agree<T>(over world: Communicator, _ body: () throws -> T) throws -> T {
        var result: T?
        var failure: String?
        do {
            result = try body()
        } catch {
            failure = "\(error)"
        }
        let flags: [Int32]
        var texts: (values: [UInt8], counts: [Int]) = ([], [])
        do throws(MPIError) {
            flags = try world.allGather([failure == nil ? 0 : 1])
            if flags.contains(1) { texts = try world.allGatherVariable(Array((failure ?? "").utf8)) }
        } catch {
            throw TrainingError(communication: error, while: "agreeing on a failure across ranks")
        }
        guard let rank = flags.firstIndex(of: 1) else {
            guard let result else { throw TrainingError(.io, "no result on a rank that did not fail") }
            return result
        }
        let start = texts.counts[..<rank].reduce(0, +)
        throw RankFailure(message: String(decoding: texts.values[start..<(start + texts.counts[rank])], as: UTF8.self),
                          rank: rank, ranks: world.size)
    }
}
