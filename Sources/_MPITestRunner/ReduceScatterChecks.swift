import Foundation
import MPIShim

/// The nonblocking reduce-scatters (`DirectReduction`): uneven blocks with empty ones, sum and
/// average, Float and Double, three in flight on one communicator completed out of order (one by
/// `test()` polling), each bit for bit the binomial-tree sum that libnbc computes.
func runReduceScatterChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size, r = world.rank
    let counts = (0..<g).map { $0 % 3 == 1 ? 0 : 300 + 41 * $0 }
    let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
    let total = counts.reduce(0, +)
    // Values whose sums round differently in different orders.
    func value(_ rank: Int, _ k: Int) -> Double { sin(Double(rank * 7919 + k)) * 1000 + 1e-3 * Double(k % 7) }
    let floats = (0..<total).map { Float(value(r, $0)) }
    let doubles = (0..<total).map { value(r, $0) * 3 }
    let block = 64
    let even = (0..<(block * g)).map { Float(value(r + 11, $0)) }

    let uneven = try world.iReduceScatter(floats, counts: counts, op: .sum)
    var averaged = try world.iReduceScatter(doubles, counts: counts, op: .average)
    let equal = try world.iReduceScatter(even, op: .sum)

    try checker.expect(try equal.wait(), (0..<block).map { e in
        binomialSum((0..<g).map { Float(value($0 + 11, r * block + e)) })
    }, "iReduceScatter in equal blocks, the binomial tree's sum")
    var polls = 0
    while try !averaged.test() { polls += 1 }
    try checker.expect(try averaged.wait(), (0..<counts[r]).map { e in
        binomialSum((0..<g).map { value($0, offsets[r] + e) * 3 }) / Double(g)
    }, "iReduceScatter average in uneven blocks (counts \(counts)) after \(polls) polls")
    try checker.expect(try uneven.wait(), (0..<counts[r]).map { e in
        binomialSum((0..<g).map { Float(value($0, offsets[r] + e)) })
    }, "iReduceScatter sum in uneven blocks (counts \(counts)), waited last")
}

/// The sum libnbc's binomial reduce forms: element i combined with i + 2^(k−1) in round k.
func binomialSum<T: FloatingPoint>(_ contributions: [T]) -> T {
    var slots = contributions
    var distance = 1
    while distance < slots.count {
        for lower in stride(from: 0, to: slots.count - distance, by: 2 * distance) {
            slots[lower] = slots[lower] + slots[lower + distance]
        }
        distance *= 2
    }
    return slots[0]
}
