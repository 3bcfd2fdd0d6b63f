import MPIShim

/// Nonblocking collectives: several in flight at once on one and on two communicators,
/// overlapped with local work, completed by `test()` polling and by `wait()`.
func runNonblockingChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size, r = world.rank
    let other = try world.duplicate(label: "overlap")
    let n = 4096
    let data = (0..<n).map { Float(contribution(rank: r, index: $0)) }
    let expectedSum = (0..<n).map { i in Float((0..<g).reduce(0) { $0 + contribution(rank: $1, index: i) }) }

    var reduce = try world.iAllReduce(data)
    let gather = try other.iAllGather([Int64(r), Int64(r * r)])
    let scatter = try world.iReduceScatter((0..<(2 * g)).map { Double(r + $0) })
    let average = try other.iAllReduce(data, op: .average)

    // Local work while the collectives progress.
    var localSum: Float = 0
    for value in data { localSum += value }
    try checker.expect(localSum > 0, true, "local work during overlap")

    var polls = 0
    while try !reduce.test() {
        polls += 1
    }
    try checker.expect(try reduce.wait(), expectedSum, "iAllReduce after test() polling (\(polls) polls)")
    try checker.expect(try gather.wait(), (0..<g).flatMap { [Int64($0), Int64($0 * $0)] }, "iAllGather")
    let expectedScatter = (0..<2).map { j in Double((0..<g).reduce(0) { $0 + $1 + 2 * r + j }) }
    try checker.expect(try scatter.wait(), expectedScatter, "iReduceScatter")
    try checker.expect(try average.wait(), expectedSum.map { $0 / Float(g) }, "iAllReduce average")

    // Packed in place (the fill writes the request's buffer) and read in place (wait(reading:)).
    var filled = 0
    let packed = try world.iAllReduce(count: n, op: .average) { (message: UnsafeMutableBufferPointer<Float>) in
        for i in message.indices { message[i] = data[i] }
        filled = message.count
    }
    let read = try packed.wait { result in Array(result) }
    try checker.expect(filled, n, "iAllReduce(count:fill:) hands the fill all \(n) elements")
    try checker.expect(read, expectedSum.map { $0 / Float(g) }, "iAllReduce(count:fill:) average, read by wait(reading:)")
    let empty = try world.iAllReduce(count: 0, op: .sum) { (message: UnsafeMutableBufferPointer<Double>) in filled = message.count }
    try checker.expect(try empty.wait { $0.count }, 0, "an empty packed iAllReduce")
    try checker.expect(filled, 0, "the empty fill saw no elements")
    try world.barrier()
}
