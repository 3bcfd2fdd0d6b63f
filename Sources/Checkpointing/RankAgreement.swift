import MPIShim

/// Makes a local failure everyone's: all ranks exchange whether they failed, and if any did,
/// every rank throws the first failing rank's error (naming that rank). Every rank calls the
/// same collectives whatever happened locally, so a failure on one rank never leaves the
/// others waiting.
package enum RankAgreement {
    /// Exchanges whether each rank failed; throws the first failing rank's error on every rank.
    package static func agree(_ local: CheckpointError?, over communicator: Communicator) throws(CheckpointError) {
        let code = local.map { Int64(CheckpointError.Code.all.firstIndex(of: $0.code) ?? 0) } ?? -1
        let codes: [Int64]
        let messages: (values: [UInt8], counts: [Int])
        do throws(MPIError) {
            codes = try communicator.allGather([code])
            guard codes.contains(where: { $0 >= 0 }) else { return }
            messages = try communicator.allGatherVariable(Array((local?.message ?? "").utf8))
        } catch {
            throw CheckpointError(communication: error, while: "agreeing on a failure across ranks")
        }
        guard let first = codes.firstIndex(where: { $0 >= 0 }) else { return }
        let start = messages.counts[..<first].reduce(0, +)
        let text = String(decoding: messages.values[start..<(start + messages.counts[first])], as: UTF8.self)
        let kind = CheckpointError.Code.all.indices.contains(Int(codes[first])) ? CheckpointError.Code.all[Int(codes[first])]
                                                                                 : .corrupt
        throw CheckpointError(kind, communicator.size > 1 ? "\(text) (on rank \(first))" : text)
    }

    /// Runs `body`, turning its error into the agreed one.
    package static func run<T>(over communicator: Communicator, _ body: () throws(CheckpointError) -> T) throws(CheckpointError) -> T? {
        var result: T?
        var failure: CheckpointError?
        do {
            result = try body()
        } catch {
            failure = error
        }
        try agree(failure, over: communicator)
        return result
    }
}
