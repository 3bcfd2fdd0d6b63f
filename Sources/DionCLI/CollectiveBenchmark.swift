import ClusterModel
import Foundation
import MPIShim

/// The collectives `dion bench collectives` measures.
enum BenchmarkedCollective: String, CaseIterable {
    case allreduce, reducescatter, allgather

    /// Bus bandwidth factor of nccl-tests for g ranks.
    func busFactor(_ g: Int) -> Double {
        switch self {
        case .allreduce: 2 * Double(g - 1) / Double(g)
        case .reducescatter, .allgather: Double(g - 1) / Double(g)
        }
    }

    /// The same operation in the cluster model.
    var modelled: CollectiveTime.Operation {
        switch self {
        case .allreduce: .allReduce
        case .reducescatter: .reduceScatter
        case .allgather: .allGather
        }
    }
}

/// One measured point; encoded as one record of `dion bench collectives --json`.
struct BenchmarkRecord: Encodable {
    let op: BenchmarkedCollective
    let ranks: Int
    let bytes: Int
    let seconds: Double
    let meanSeconds: Double
    let iterations: Int
    let ledger: Bool
    /// The α–β model's time for this point on a network preset (`--simulate-network`), if asked.
    var modelSeconds: Double?

    var algbw: Double { Double(bytes) / seconds / 1e9 }
    var busbw: Double { algbw * op.busFactor(ranks) }

    static let header = "op              bytes     iters    best µs    mean µs  algbw GB/s  busbw GB/s"
    static let modelHeader = "   model µs  model/best"

    var row: String {
        String(format: "%-13@ %9d %8d %10.2f %10.2f %11.3f %11.3f", op.rawValue as NSString, bytes, iterations,
               seconds * 1e6, meanSeconds * 1e6, algbw, busbw)
            + (modelSeconds.map { String(format: " %11.2f %11.2f", $0 * 1e6, $0 / seconds) } ?? "")
    }

    enum CodingKeys: String, CodingKey {
        case op, ranks, bytes, seconds, mean_seconds, iterations, algbw_GBps, busbw_GBps, ledger, implementation, model_seconds
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(op.rawValue, forKey: .op)
        try c.encode(ranks, forKey: .ranks)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(meanSeconds, forKey: .mean_seconds)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(algbw, forKey: .algbw_GBps)
        try c.encode(busbw, forKey: .busbw_GBps)
        try c.encode(ledger, forKey: .ledger)
        try c.encode("swift", forKey: .implementation)
        try c.encodeIfPresent(modelSeconds, forKey: .model_seconds)
    }

    /// This point with the model's time on `network` (one link: intra-node if the ranks fit in a node).
    func modelled(on network: NetworkPreset) -> BenchmarkRecord {
        var copy = self
        let inNode = ranks <= network.devicesPerNode
        copy.modelSeconds = CollectiveTime.seconds(op.modelled, bytes: Double(bytes), ranks: ranks,
                                                   bandwidth: inNode ? network.intraBandwidth : network.interBandwidth,
                                                   latency: inNode ? network.intraLatency : network.interLatency)
        return copy
    }
}

/// Times collectives through MPIShim with preallocated buffers, the way the C benchmark
/// (`Scripts/bench/collectives.c`) times raw MPI.
struct CollectiveBenchmark {
    /// The communicator whose collectives are timed (labelled `bench`).
    let comm: Communicator
    /// Bookkeeping (iteration counts, slowest rank) on a communicator whose ledger is off.
    let control: Communicator
    let secondsPerPoint: Double
    let repeats: Int

    init(world: Communicator, secondsPerPoint: Double, repeats: Int) throws {
        comm = try world.duplicate(label: "bench")
        let quiet = CommunicationLedger()
        quiet.isEnabled = false
        control = try world.duplicate(label: "control", ledger: quiet)
        self.secondsPerPoint = secondsPerPoint
        self.repeats = repeats
    }

    func measure(_ op: BenchmarkedCollective, bytes: Int, ledger: Bool) throws -> BenchmarkRecord {
        let g = comm.size
        let elements = Swift.max(g, bytes / MemoryLayout<Float>.stride / g * g)
        let block = elements / g
        // Page-aligned, like the C baseline: malloc placement changed copy speed by up to 4x here.
        let input = pageAlignedFloats(elements, value: 1)
        let output = pageAlignedFloats(elements, value: 0)
        defer { input.deallocate(); output.deallocate() }
        let body: () throws -> Void
        switch op {
        case .allreduce:
            body = { try comm.allReduce(UnsafeBufferPointer(input), into: output) }
        case .reducescatter:
            let out = UnsafeMutableBufferPointer(rebasing: output[0..<block])
            body = { try comm.reduceScatter(UnsafeBufferPointer(input), into: out) }
        case .allgather:
            let inp = UnsafeBufferPointer(rebasing: input[0..<block])
            body = { try comm.allGather(inp, into: output) }
        }
        // Warm up, then pick the iteration count from rank 0's estimate so every rank agrees.
        for _ in 0..<3 { try body() }
        let estimate = try timedLoop(iterations: 3, body) / 3
        var iterations = [Int64(Swift.min(100_000, Swift.max(5, Int(secondsPerPoint / Swift.max(estimate, 1e-9)))))]
        try control.broadcast(&iterations, root: 0)
        let n = Int(iterations[0])
        var times: [Double] = []
        for _ in 0..<repeats { times.append(try timedLoop(iterations: n, body) / Double(n)) }
        comm.ledger.reset()
        return BenchmarkRecord(op: op, ranks: g, bytes: elements * MemoryLayout<Float>.stride,
                               seconds: times.min() ?? 0, meanSeconds: times.reduce(0, +) / Double(times.count),
                               iterations: n, ledger: ledger)
    }

    /// Seconds for `iterations` calls, as seen by the slowest rank.
    func timedLoop(iterations: Int, _ body: () throws -> Void) throws -> Double {
        try control.barrier()
        let start = MPIRuntime.wallTime()
        for _ in 0..<iterations { try body() }
        let elapsed = [MPIRuntime.wallTime() - start]
        return try control.allReduced(elapsed, op: .max)[0]
    }

    /// The ledger's cost on 4 KiB all-reduces, two ways, in alternating on/off rounds:
    /// on the benchmark communicator (the real collective, noisy on a shared machine) and on a
    /// communicator of this rank alone (MPI does almost nothing, so the difference is the
    /// recording itself, measured precisely), expressed against the real collective's time.
    func ledgerOverhead(iterations: Int) throws -> String {
        let buffer = pageAlignedFloats(1024, value: 1)
        defer { buffer.deallocate() }
        let ledger = comm.ledger
        let wasEnabled = ledger.isEnabled
        defer { ledger.isEnabled = wasEnabled }
        guard let alone = try comm.split(color: comm.rank, key: 0, label: "self", ledger: ledger) else {
            return "ledger overhead: could not make a single-rank communicator"
        }
        func medians(_ target: Communicator, _ iterations: Int) throws -> (off: Double, on: Double) {
            var off: [Double] = []
            var on: [Double] = []
            for round in 0..<10 {
                for enabled in (round % 2 == 0 ? [false, true] : [true, false]) {
                    ledger.isEnabled = enabled
                    let t = try timedLoop(iterations: iterations) { try target.allReduce(buffer, op: .sum) }
                    (enabled ? { on.append($0) } : { off.append($0) })(t / Double(iterations))
                    ledger.reset()
                }
            }
            return (off.sorted()[off.count / 2], on.sorted()[on.count / 2])
        }
        let real = try medians(comm, iterations)
        let local = try medians(alone, iterations * 10)
        let cost = local.on - local.off
        return String(format: "ledger overhead, 4 KiB all-reduce, %d ranks: real collective off %.3f µs, on %.3f µs "
                      + "(%+.2f%%, medians of 10 alternating rounds of %d); recording cost alone %.1f ns per collective "
                      + "(single-rank communicator, %.1f vs %.1f ns) = %.2f%% of the real collective",
                      comm.size, real.off * 1e6, real.on * 1e6, (real.on / real.off - 1) * 100, iterations,
                      cost * 1e9, local.on * 1e9, local.off * 1e9, cost / real.off * 100)
    }
}

/// A page-aligned buffer of `count` floats set to `value`.
func pageAlignedFloats(_ count: Int, value: Float) -> UnsafeMutableBufferPointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 4096)
    let buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
    buffer.initialize(repeating: value)
    return buffer
}
