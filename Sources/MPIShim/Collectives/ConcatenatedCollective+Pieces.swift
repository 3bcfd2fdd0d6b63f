extension ConcatenatedCollective {
    /// Reduce-scatters the selected parts in one message: part i is cut into consecutive pieces
    /// of `pieces[i][f]` elements, piece f going to rank f; afterwards part i holds this rank's
    /// piece, reduced. Rank f's block of the message is its pieces of the selected parts in order
    /// (uneven and empty pieces allowed: Dion sends a whole P₀ to one owner this way).
    ///
    /// Bytes moved per rank: those of one `MPI_Reduce_scatter` with the summed block counts.
    public static func reduceScatter(_ parts: inout [[Float]], where selected: [Bool], pieces: [[Int]],
                                     over communicator: Communicator, op: ReductionOp) throws(MPIError) {
        let chosen = parts.indices.filter { selected[$0] }
        guard !chosen.isEmpty else { return }
        let (message, counts) = piecesMessage(parts, chosen, pieces: pieces, ranks: communicator.size)
        let mine = try communicator.reduceScatter(message, counts: counts, op: op)
        split(mine, into: &parts, chosen, pieces: pieces, rank: communicator.rank)
    }

    /// All-gathers the selected parts in one message, the inverse of `reduceScatter`: part i
    /// holds this rank's piece (`pieces[i][rank]` elements) and afterwards the pieces of every
    /// rank in rank order.
    ///
    /// Bytes moved per rank: those of one `MPI_Allgatherv` with the summed block counts.
    public static func allGather(_ parts: inout [[Float]], where selected: [Bool], pieces: [[Int]],
                                 over communicator: Communicator) throws(MPIError) {
        let chosen = parts.indices.filter { selected[$0] }
        guard !chosen.isEmpty else { return }
        let counts = gatheredCounts(chosen, pieces: pieces, ranks: communicator.size)
        let gathered = try communicator.allGather(concatenated(parts, chosen), counts: counts)
        assemble(gathered, into: &parts, chosen, pieces: pieces, ranks: communicator.size)
    }

    /// The message of a reduce-scatter of the parts `chosen` in pieces (rank f's block: its piece
    /// of each part, in order) and each rank's block length: what `reduceScatter(_:where:pieces:…)`
    /// sends, for a caller that issues the collective itself (e.g. nonblocking).
    public static func piecesMessage(_ parts: [[Float]], _ chosen: [Int], pieces: [[Int]],
                                     ranks: Int) -> (message: [Float], counts: [Int]) {
        var message: [Float] = []
        message.reserveCapacity(chosen.reduce(0) { $0 + parts[$1].count })
        var counts = [Int](repeating: 0, count: ranks)
        for f in 0..<ranks {
            for i in chosen {
                let start = pieces[i][..<f].reduce(0, +)
                message.append(contentsOf: parts[i][start..<(start + pieces[i][f])])
                counts[f] += pieces[i][f]
            }
        }
        return (message, counts)
    }

    /// Cuts this rank's reduced block (`mine`) into the parts `chosen`: part i gets its piece
    /// (`pieces[i][rank]` elements), the inverse of `piecesMessage` on one rank.
    public static func split(_ mine: [Float], into parts: inout [[Float]], _ chosen: [Int], pieces: [[Int]], rank: Int) {
        var offset = 0
        for i in chosen {
            let count = pieces[i][rank]
            parts[i] = Array(mine[offset..<(offset + count)])
            offset += count
        }
    }

    /// Each rank's block of an all-gather of the parts `chosen` in pieces: the sum of its pieces.
    public static func gatheredCounts(_ chosen: [Int], pieces: [[Int]], ranks: Int) -> [Int] {
        (0..<ranks).map { f in chosen.reduce(0) { $0 + pieces[$1][f] } }
    }

    /// Reassembles the parts `chosen` from an all-gather of every rank's pieces (rank order, each
    /// rank's pieces in part order): part i becomes whole (the sum of its pieces long).
    public static func assemble(_ gathered: [Float], into parts: inout [[Float]], _ chosen: [Int], pieces: [[Int]],
                                ranks: Int) {
        var whole = chosen.map { i in [Float](repeating: 0, count: pieces[i].reduce(0, +)) }
        var offset = 0
        for f in 0..<ranks {
            for (j, i) in chosen.enumerated() {
                let start = pieces[i][..<f].reduce(0, +), count = pieces[i][f]
                whole[j].replaceSubrange(start..<(start + count), with: gathered[offset..<(offset + count)])
                offset += count
            }
        }
        for (j, i) in chosen.enumerated() { parts[i] = whole[j] }
    }
}
