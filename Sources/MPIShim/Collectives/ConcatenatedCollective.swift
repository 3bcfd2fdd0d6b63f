/// Batches one collective over several buffers: the selected parts are concatenated into one
/// message, all-reduced once, and cut back into their parts. Every rank of the communicator must
/// select parts of the same sizes in the same order (a batched optimizer step guarantees it:
/// which matrices take part depends only on global shapes and agreed flags; the training's
/// gradient synchronizer uses one bucket per block); with nothing selected, no collective is
/// issued. Used by the distributed optimizers and by `Training`'s gradient synchronization.
public enum ConcatenatedCollective {
    /// All-reduces the parts where `selected` is `true` as one message (a single part goes alone,
    /// without copying).
    ///
    /// - Parameters:
    ///   - parts: the buffers; the selected ones are replaced by their reduced values.
    ///   - selected: one flag per part, the same on every rank.
    ///   - communicator: the group to reduce over.
    ///   - op: the reduction.
    /// - Throws: `MPIError` from the collective.
    ///
    /// Bytes moved per rank: those of one all-reduce of the selected parts' total length.
    /// The corresponding MPI function is `MPI_Allreduce`.
    public static func allReduce<T: MPIScalar>(_ parts: inout [[T]], where selected: [Bool], over communicator: Communicator,
                                        op: ReductionOp) throws(MPIError) {
        let chosen = parts.indices.filter { selected[$0] }
        guard !chosen.isEmpty else { return }
        if chosen.count == 1 {
            try communicator.allReduce(&parts[chosen[0]], op: op)
            return
        }
        var message = concatenated(parts, chosen)
        try communicator.allReduce(&message, op: op)
        split(message, into: &parts, chosen)
    }

    /// The parts `chosen` one after another (one message).
    public static func concatenated<T>(_ parts: [[T]], _ chosen: [Int]) -> [T] {
        var message: [T] = []
        message.reserveCapacity(chosen.reduce(0) { $0 + parts[$1].count })
        for i in chosen { message.append(contentsOf: parts[i]) }
        return message
    }

    /// Cuts `message` back into the parts `chosen` (each keeps its length), the inverse of `concatenated`.
    public static func split<T>(_ message: [T], into parts: inout [[T]], _ chosen: [Int]) {
        var offset = 0
        for i in chosen {
            let count = parts[i].count
            parts[i] = Array(message[offset..<(offset + count)])
            offset += count
        }
    }
}
