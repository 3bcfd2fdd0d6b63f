// The README's MPIShim snippet as a program: in-place and out-of-place collectives, a nonblocking
// all-reduce, the ledger's summary and a Chrome trace of every rank's collectives.
//
//   swift build --product collectives
//   source ../Scripts/mpi-env.sh && mpirun -np 2 .build/debug/collectives [--trace FILE]
//
// Every rank checks the values it receives, so the program is also a small test: it ends non-zero
// (the whole job, through FailFast) when a result is wrong.
import MPIShim

/// A result that is not the one the collectives promise.
struct CollectivesExampleError: Error, CustomStringConvertible {
    let description: String
}

/// `--trace FILE` (default `collectives.trace.json`), the only option.
func tracePath(_ arguments: [String]) throws(CollectivesExampleError) -> String {
    guard let flag = arguments.firstIndex(of: "--trace") else { return "collectives.trace.json" }
    guard flag + 1 < arguments.count else { throw CollectivesExampleError(description: "--trace needs a file name") }
    return arguments[flag + 1]
}

/// Throws unless every element of `values` is `expected`.
func expect(_ values: [Float], equal expected: Float, _ what: String) throws(CollectivesExampleError) {
    guard let wrong = values.first(where: { $0 != expected }) else { return }
    throw CollectivesExampleError(description: "\(what): expected \(expected) everywhere, found \(wrong)")
}

FailFast.run {                                     // any error on any rank aborts the whole job
    let trace = try tracePath(Array(CommandLine.arguments.dropFirst()))
    let world = try MPIRuntime.world()             // MPI_Init_thread once (singleton without mpirun)
    let n = Float(world.size)
    var gradient = [Float](repeating: Float(world.rank), count: 1 << 20)
    try world.allReduce(&gradient, op: .average)   // in place: every rank holds the mean of the ranks
    try expect(gradient, equal: (n - 1) / 2, "allReduce(.average)")
    let shard = try world.reduceScatter(gradient)  // equal blocks (sum); throws if not divisible
    try expect(shard, equal: n * (n - 1) / 2, "reduceScatter")
    let full = try world.allGather(shard)          // every rank's block, in rank order
    try expect(full, equal: n * (n - 1) / 2, "allGather")
    let request = try world.iAllReduce(full)       // ~Copyable request owns the buffer…
    let summed = try request.wait()                // …until wait() hands it back
    try expect(summed, equal: n * n * (n - 1) / 2, "iAllReduce")
    if world.rank == 0 {
        print("rank 0 of \(world.size): every collective returned the expected values")
        print(CommunicationLedger.shared.formattedSummary())
    }
    // Collective over `world`: rank 0 writes one track per rank (chrome://tracing or Perfetto).
    try CommunicationLedger.shared.writeChromeTrace(to: trace, gatheringOver: world)
    if world.rank == 0 { print("wrote \(trace)") }
}
