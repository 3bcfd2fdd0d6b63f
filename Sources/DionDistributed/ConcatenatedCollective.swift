import MPIShim

/// Batches one collective over several matrices: the selected parts are concatenated into one
/// message, all-reduced once, and cut back into their parts. Every rank of the communicator must
/// select parts of the same sizes in the same order (the batched step guarantees it: which
/// matrices take part depends only on global shapes and agreed flags); with nothing selected, no
/// collective is issued.
enum ConcatenatedCollective {
    static func allReduce<T: MPIScalar>(_ parts: inout [[T]], where selected: [Bool], over communicator: Communicator,
                                        op: ReductionOp) throws(MPIError) {
        let chosen = parts.indices.filter { selected[$0] }
        guard !chosen.isEmpty else { return }
        if chosen.count == 1 {
            try communicator.allReduce(&parts[chosen[0]], op: op)
            return
        }
        var message: [T] = []
        message.reserveCapacity(chosen.reduce(0) { $0 + parts[$1].count })
        for i in chosen { message.append(contentsOf: parts[i]) }
        try communicator.allReduce(&message, op: op)
        var offset = 0
        for i in chosen {
            let count = parts[i].count
            parts[i] = Array(message[offset..<(offset + count)])
            offset += count
        }
    }
}
