// The multi-rank test runner: `swift test` launches it under `mpirun -np {1,2,4}` and checks
// that every rank prints its PASS line and the job exits 0 (or, for fault scenarios, that the
// job ends non-zero quickly with the rank's message).
//
//   _MPITestRunner collectives        every collective, type, uneven count, split, overlap, ledger
//   _MPITestRunner throw-on-rank R    rank R throws while the others wait in a barrier
import MPIShim

let arguments = Array(CommandLine.arguments.dropFirst())

FailFast.run {
    let world = try MPIRuntime.world()
    switch arguments.first {
    case "collectives":
        var checker = Checker(rank: world.rank, size: world.size)
        try runCollectiveChecks(world, &checker)
        try runSplitChecks(world, &checker)
        try runNonblockingChecks(world, &checker)
        try runLedgerChecks(world, &checker)
        try runErrorChecks(world, &checker)
        try world.barrier()
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "throw-on-rank":
        let failing = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        if world.rank == failing {
            throw InjectedFailure(rank: world.rank)
        }
        try world.barrier()
        print("unexpected: rank \(world.rank) left the barrier")
    default:
        throw UsageError(message: "usage: _MPITestRunner collectives | throw-on-rank R")
    }
}

struct InjectedFailure: Error, CustomStringConvertible {
    let rank: Int
    var description: String { "injected failure on rank \(rank)" }
}

struct UsageError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
