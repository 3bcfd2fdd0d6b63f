import MPIShim

/// Every blocking collective over every element type, with counts that are empty, tiny, not
/// divisible by the communicator size, and uneven per rank (zero-length contributions included).
func runCollectiveChecks(_ world: Communicator, _ checker: inout Checker) throws {
    try checkType(Float.self, world, &checker)
    try checkType(Double.self, world, &checker)
    try checkType(Int32.self, world, &checker)
    try checkType(Int64.self, world, &checker)
    try checkType(UInt8.self, world, &checker)
    try world.barrier()
}

func checkType<T: TestScalar>(_: T.Type, _ comm: Communicator, _ checker: inout Checker) throws {
    let g = comm.size, r = comm.rank
    let name = "\(T.mpiDatatype.rawValue)"
    for count in [0, 1, 7, 1000] {
        let mine = (0..<count).map { T(testValue: contribution(rank: r, index: $0)) }
        let sum = (0..<count).map { i in T(testValue: (0..<g).reduce(0) { $0 + contribution(rank: $1, index: i) }) }
        let maximum = (0..<count).map { T(testValue: contribution(rank: g - 1, index: $0)) }
        let minimum = (0..<count).map { T(testValue: contribution(rank: 0, index: $0)) }

        var buffer = mine
        try comm.allReduce(&buffer)
        try checker.expect(buffer, sum, "\(name) allReduce sum in place, count \(count)")
        try checker.expect(try comm.allReduced(mine, op: .sum), sum, "\(name) allReduced sum, count \(count)")
        try checker.expect(try comm.allReduced(mine, op: .max), maximum, "\(name) allReduce max, count \(count)")
        try checker.expect(try comm.allReduced(mine, op: .min), minimum, "\(name) allReduce min, count \(count)")
        if T.mpiDatatype.isFloatingPoint {
            // Averages of these integers over g ∈ {1, 2, 4} are exact in binary floating point.
            let mean = sum.map { T._dividing($0, by: g) }
            var averaged = mine
            try comm.allReduce(&averaged, op: .average)
            try checker.expect(averaged, mean, "\(name) allReduce average, count \(count)")
        }

        // Broadcast from every root.
        for root in 0..<g {
            var data = r == root ? mine : [T](repeating: T(testValue: 0), count: count)
            try comm.broadcast(&data, root: root)
            let expected = (0..<count).map { T(testValue: contribution(rank: root, index: $0)) }
            try checker.expect(data, expected, "\(name) broadcast from \(root), count \(count)")
        }
    }

    // Reduce-scatter and all-gather, equal blocks (including empty blocks).
    for block in [0, 1, 5] {
        let input = (0..<(block * g)).map { T(testValue: contribution(rank: r, index: $0)) }
        let reduced = try comm.reduceScatter(input)
        let expected = (0..<block).map { j in
            T(testValue: (0..<g).reduce(0) { $0 + contribution(rank: $1, index: r * block + j) })
        }
        try checker.expect(reduced, expected, "\(name) reduceScatter block \(block)")

        let gathered = try comm.allGather((0..<block).map { T(testValue: contribution(rank: r, index: $0)) })
        let all = (0..<g).flatMap { q in (0..<block).map { T(testValue: contribution(rank: q, index: $0)) } }
        try checker.expect(gathered, all, "\(name) allGather block \(block)")
    }

    // Uneven blocks: rank i owns (3i + 1) mod 4 elements, so some ranks own none.
    let counts = (0..<g).map { (3 * $0 + 1) % 4 }
    let total = counts.reduce(0, +)
    let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
    let input = (0..<total).map { T(testValue: contribution(rank: r, index: $0)) }
    let reducedV = try comm.reduceScatter(input, counts: counts)
    let expectedV = (0..<counts[r]).map { j in
        T(testValue: (0..<g).reduce(0) { $0 + contribution(rank: $1, index: offsets[r] + j) })
    }
    try checker.expect(reducedV, expectedV, "\(name) reduceScatter uneven counts \(counts)")

    let mineV = (0..<counts[r]).map { T(testValue: contribution(rank: r, index: $0)) }
    let allV = (0..<g).flatMap { q in (0..<counts[q]).map { T(testValue: contribution(rank: q, index: $0)) } }
    try checker.expect(try comm.allGather(mineV, counts: counts), allV, "\(name) allGather uneven counts \(counts)")
    let discovered = try comm.allGatherVariable(mineV)
    try checker.expect(discovered.values, allV, "\(name) allGatherVariable values")
    try checker.expect(discovered.counts, counts, "\(name) allGatherVariable counts")

    // All-to-all: block for destination d from source s holds values encoding (s, d).
    let blk = 3
    let sendEqual = (0..<(g * blk)).map { T(testValue: 10 * r + $0 / blk + $0 % blk) }
    let receivedEqual = try comm.allToAll(sendEqual)
    let expectedEqual = (0..<(g * blk)).map { T(testValue: 10 * ($0 / blk) + r + $0 % blk) }
    try checker.expect(receivedEqual, expectedEqual, "\(name) allToAll equal blocks")

    // Uneven all-to-all: s sends (s + d) mod 3 elements to d (zero-length blocks included).
    let sendCounts = (0..<g).map { (r + $0) % 3 }
    let sendV = (0..<g).flatMap { d in (0..<sendCounts[d]).map { T(testValue: 10 * r + d + $0) } }
    let receiveCounts = (0..<g).map { (($0 + r) % 3) }
    let expectedA2AV = (0..<g).flatMap { s in (0..<receiveCounts[s]).map { T(testValue: 10 * s + r + $0) } }
    try checker.expect(try comm.allToAll(sendV, sendCounts: sendCounts, receiveCounts: receiveCounts), expectedA2AV,
                       "\(name) allToAll uneven, counts given")
    try checker.expect(try comm.allToAll(sendV, sendCounts: sendCounts), expectedA2AV,
                       "\(name) allToAll uneven, counts exchanged")
}
