import MPIShim

/// Sub-communicators: two halves (by parity) reduce independently, keys reorder ranks, a rank
/// with no color gets no communicator, and a duplicate works like its parent.
func runSplitChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size, r = world.rank
    let parity = r % 2
    guard let half = try world.split(color: parity, key: -r, label: "half") else {
        throw CheckFailure(description: "split returned nil for a colored rank")
    }
    let members = (0..<g).filter { $0 % 2 == parity }
    try checker.expect(half.size, members.count, "split size")
    // key = −rank reverses the order inside each half.
    try checker.expect(half.rank, members.reversed().firstIndex(of: r) ?? -1, "split rank ordered by key")
    try checker.expect(half.label, "half", "split label")
    var value = [Int64(r + 1), Int64(100 * (r + 1))]
    try half.allReduce(&value)
    let expected = members.reduce(0) { $0 + Int64($1 + 1) }
    try checker.expect(value, [expected, 100 * expected], "allReduce inside half \(parity)")

    // A rank without a color gets nil; the others still form a communicator.
    let excluded = g - 1
    let rest = try world.split(color: r == excluded ? nil : 0, key: r, label: "rest")
    if r == excluded {
        try checker.expect(rest == nil, true, "uncolored rank gets nil")
    } else if let rest {
        try checker.expect(rest.size, g - 1, "split without the last rank")
        try checker.expect(try rest.allReduced([Int32(1)]), [Int32(g - 1)], "allReduce without the last rank")
    } else {
        throw CheckFailure(description: "colored rank got nil")
    }

    let copy = try world.duplicate(label: "copy")
    try checker.expect(copy.rank, r, "duplicate rank")
    try checker.expect(copy.size, g, "duplicate size")
    try checker.expect(try copy.allReduced([Double(r)], op: .max), [Double(g - 1)], "allReduce on duplicate")
    try world.barrier()
}
