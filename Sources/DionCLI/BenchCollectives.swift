import ArgumentParser
import ClusterModel
import Foundation
import MPIShim

/// `dion bench collectives`: all-reduce, reduce-scatter and all-gather bandwidth through
/// MPIShim, 4 KiB to 64 MiB, with algorithm and bus bandwidth (nccl-tests' definitions).
struct BenchCollectives: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives",
        abstract: "All-reduce, reduce-scatter and all-gather bandwidth, 4 KiB to 64 MiB (run under mpirun).",
        discussion: """
            Message size is the full vector: the reduced buffer for all-reduce, the input for \
            reduce-scatter, the output for all-gather. busbw = algbw × 2(g−1)/g for all-reduce \
            and × (g−1)/g for the others. Each point is the best of --repeats timed loops; the \
            time of a loop is the slowest rank's. Compare with Scripts/bench-collectives.sh, which \
            runs the raw C MPI program beside this one.
            """)

    @Option(help: "Comma-separated operations: allreduce, reducescatter, allgather.")
    var ops: String = "allreduce,reducescatter,allgather"

    @Option(help: "Smallest message in bytes (powers of 4 from here).")
    var minBytes: Int = 4096

    @Option(help: "Largest message in bytes.")
    var maxBytes: Int = 64 << 20

    @Option(help: "Target seconds per timed loop (iterations are chosen from a warm-up).")
    var secondsPerPoint: Double = 0.2

    @Option(help: "Timed loops per point; the best is reported.")
    var repeats: Int = 3

    @Flag(help: "Turn the communication ledger off (it is on by default, as in real runs).")
    var noLedger = false

    @Option(help: "Also measure the ledger's cost: alternate on/off rounds of this many all-reduces of 4 KiB (0 = skip).")
    var ledgerOverheadIterations: Int = 0

    @Flag(help: "Instead of the sweep, time each size through MPIShim and straight through the C API, alternating in one process (median of 21 blocks each way).")
    var inProcessBaseline = false

    @Option(help: "Write the records as a JSON array to this file (rank 0).")
    var json: String?

    @Option(help: "Also print the α–β model's time for each point on this network preset (dion simulate --list-networks).")
    var simulateNetwork: String?

    /// The largest message: two buffers of it per rank must fit in memory, and the sweep's ×4
    /// steps must not overflow.
    static let largestMessage = 1 << 34

    /// The longest timed loop.
    static let longestPoint = 3600.0

    func validate() throws {
        guard minBytes >= 4, maxBytes >= minBytes, maxBytes <= Self.largestMessage else {
            throw ValidationError("need 4 ≤ --min-bytes ≤ --max-bytes ≤ \(Self.largestMessage) (16 GiB), got --min-bytes "
                                  + "\(minBytes) and --max-bytes \(maxBytes)")
        }
        guard repeats >= 1, repeats <= 1_000_000 else { throw ValidationError("--repeats must be in 1...1000000, got \(repeats)") }
        guard secondsPerPoint.isFinite, secondsPerPoint > 0, secondsPerPoint <= Self.longestPoint else {
            throw ValidationError("--seconds-per-point must be a number of seconds in (0, \(Int(Self.longestPoint))], got "
                                  + "\(secondsPerPoint)")
        }
        guard ledgerOverheadIterations >= 0, ledgerOverheadIterations <= 100_000_000 else {
            throw ValidationError("--ledger-overhead-iterations must be in 0...100000000, got \(ledgerOverheadIterations)")
        }
        _ = try parsedOperations()
    }

    func parsedOperations() throws -> [BenchmarkedCollective] {
        try ops.split(separator: ",").map { name in
            guard let op = BenchmarkedCollective(rawValue: name.lowercased()) else {
                throw ValidationError("unknown operation '\(name)'; use allreduce, reducescatter, allgather")
            }
            return op
        }
    }

    func run() throws {
        FailFast.run {
            let world = try MPIRuntime.world()
            let network = try simulateNetwork.map { name throws(ClusterModelError) in try NetworkPreset.named(name) }
            let bench = try CollectiveBenchmark(world: world, secondsPerPoint: secondsPerPoint, repeats: repeats)
            CommunicationLedger.shared.isEnabled = !noLedger
            var sizes: [Int] = []
            var size = minBytes
            while size <= maxBytes { sizes.append(size); size *= 4 }
            if world.rank == 0 {
                print("dion bench collectives: \(world.size) ranks, MPI thread level "
                      + "\(MPIRuntime.providedThreadLevel?.description ?? "?"), ledger \(noLedger ? "off" : "on")")
                if !inProcessBaseline { print(BenchmarkRecord.header + (network == nil ? "" : BenchmarkRecord.modelHeader)) }
            }
            if inProcessBaseline {
                try bench.inProcessBaseline(try parsedOperations(), sizes: sizes, json: json)
                return
            }
            var records: [BenchmarkRecord] = []
            for op in try parsedOperations() {
                for bytes in sizes {
                    var record = try bench.measure(op, bytes: bytes, ledger: !noLedger)
                    if let network { record = record.modelled(on: network) }
                    records.append(record)
                    if world.rank == 0 { print(record.row) }
                }
            }
            if ledgerOverheadIterations > 0 {
                let overhead = try bench.ledgerOverhead(iterations: ledgerOverheadIterations)
                if world.rank == 0 { print(overhead) }
            }
            if world.rank == 0, let json {
                try JSONOutput.write(records, to: json)
                print("wrote \(json)")
            }
        }
    }
}
