// The multi-rank test runner: `swift test` launches it under `mpirun -np {1,2,4}` and checks
// that every rank prints its PASS line and the job exits 0 (or, for fault scenarios, that the
// job ends non-zero quickly with the rank's message).
//
//   _MPITestRunner collectives        every collective, type, uneven count, split, overlap, ledger
//   _MPITestRunner progress-thread    a nonblocking all-reduce left alone completes only with the progress thread
//   _MPITestRunner throw-on-rank R    rank R throws while the others wait in a barrier
//   _MPITestRunner sharding MESH      layouts, scatter/gather/redistribute on mesh MESH (dp=…,fsdp=…,tp=…)
//   _MPITestRunner axis-batch MESH    AxisBatch: a block gathered/reduce-scattered as one message = per matrix
//   _MPITestRunner mesh M0 [M1 …]     rank r builds mesh M(r mod count); prints ACCEPTED/REJECTED
//   _MPITestRunner collectives-guarded   the collectives with --debug-collectives and the watchdog on
//   _MPITestRunner mismatch R         --debug-collectives: rank R issues a different collective
//   _MPITestRunner stall R SECONDS    watchdog (2 s): rank R sleeps SECONDS before a barrier
//   _MPITestRunner freeze R           watchdog (2 s): rank R stops itself (SIGSTOP) before a barrier
//   _MPITestRunner placement MESH     every rank prints its host name and its coordinate on mesh MESH
//   _MPITestRunner wait-for-kill      every rank prints its pid, then all-reduces in a loop for 60 s
//   _MPITestRunner dion-equivalence MESH   distributed vs single-process Dion, 5 steps, many shapes
//   _MPITestRunner dion2-equivalence MESH  distributed vs single-process Dion2/NorDion2/NorMuon, every mode
//   _MPITestRunner wire MESH               --wire bf16 vs fp32: Muon/Dion2/NorDion2/NorMuon update bound, bytes halved
//   _MPITestRunner dion2-refuse WHAT MESH  bad input on every rank (fraction | local | layout): must abort
//   _MPITestRunner replay-mesh MESH FIXTURE…   MeshReplay of recorded cases vs their single-process replay
//   _MPITestRunner checkpoint-save DIR STEP [die-after-file|huge]   save (or crash / overflow while saving)
//   _MPITestRunner checkpoint-load DIR [CONFIG]                      load the latest; LOADED/REFUSED per rank
import Foundation
import MPIShim

let arguments = Array(CommandLine.arguments.dropFirst())

FailFast.run {
    let world = try MPIRuntime.world()
    switch arguments.first {
    case "collectives", "collectives-guarded":
        if arguments.first == "collectives-guarded" {
            MPIRuntime.debugCollectives = true
            try MPIRuntime.startCollectiveWatchdog(timeout: 60, period: 0.2)
        }
        var checker = Checker(rank: world.rank, size: world.size)
        try runCollectiveChecks(world, &checker)
        try runSplitChecks(world, &checker)
        try runNonblockingChecks(world, &checker)
        try runReduceScatterChecks(world, &checker)
        try runLedgerChecks(world, &checker)
        try runErrorChecks(world, &checker)
        try world.barrier()
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "progress-thread":
        var checker = Checker(rank: world.rank, size: world.size)
        try runProgressThreadChecks(world, &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "sharding":
        var checker = Checker(rank: world.rank, size: world.size)
        try runShardingChecks(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)", &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "axis-batch":
        var checker = Checker(rank: world.rank, size: world.size)
        try runAxisBatchChecks(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)", &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "mesh":
        try runMeshRejection(world, meshes: Array(arguments.dropFirst()))
    case "mismatch":
        let odd = arguments.count > 1 ? Int(arguments[1]) ?? 1 : 1
        MPIRuntime.debugCollectives = true
        if world.rank == odd {
            _ = try world.allGather([Float](repeating: 1, count: 3))
        } else {
            _ = try world.allReduced([Float](repeating: 1, count: 1024))
        }
        print("unexpected: rank \(world.rank) passed a mismatched collective")
    case "stall":
        let stalled = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 30 : 30
        try MPIRuntime.startCollectiveWatchdog(timeout: 2, period: 0.25)
        if world.rank == stalled { Thread.sleep(forTimeInterval: seconds) }
        _ = try world.allReduced([Double(world.rank)])
        print("unexpected: rank \(world.rank) finished the stalled collective")
    case "freeze":
        let frozen = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        try MPIRuntime.startCollectiveWatchdog(timeout: 2, period: 0.25)
        try world.barrier()
        if world.rank == frozen {
            print("FROZEN rank \(world.rank) pid \(ProcessInfo.processInfo.processIdentifier)")
            fflush(nil)
            kill(getpid(), SIGSTOP)
        }
        _ = try world.allReduced([Double(world.rank)])
        print("unexpected: rank \(world.rank) finished the collective with a frozen rank")
    case "placement":
        try runPlacementReport(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)")
    case "wait-for-kill":
        print("PID rank \(world.rank) \(ProcessInfo.processInfo.processIdentifier)")
        fflush(nil)
        let start = MPIRuntime.wallTime()
        while MPIRuntime.wallTime() - start < 60 {
            _ = try world.allReduced([Float](repeating: 1, count: 1024))
        }
        print("unexpected: rank \(world.rank) was never killed")
    case "dion-equivalence":
        var checker = Checker(rank: world.rank, size: world.size)
        let meshText = arguments.count > 1 ? arguments[1] : "dp=\(world.size)"
        try runDionEquivalence(world, mesh: meshText, &checker)
        try runDataParallelSyncChecks(world, mesh: meshText, &checker)
        try runBaselineChecks(world, mesh: meshText, &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "dion-backward-stage":
        var checker = Checker(rank: world.rank, size: world.size)
        try runDionBackwardStageChecks(world, mesh: arguments.count > 1 ? arguments[1] : "fsdp=\(world.size)", &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "dion2-equivalence":
        var checker = Checker(rank: world.rank, size: world.size)
        try runDion2Equivalence(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)", &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "wire":
        var checker = Checker(rank: world.rank, size: world.size)
        try runWireChecks(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)", &checker)
        print("PASS rank \(world.rank)/\(world.size) checks=\(checker.passed)")
    case "dion2-refuse":
        try runDion2BadInput(world, what: arguments.count > 1 ? arguments[1] : "fraction",
                             mesh: arguments.count > 2 ? arguments[2] : "dp=\(world.size)")
    case "replay-mesh":
        var checker = Checker(rank: world.rank, size: world.size)
        try runReplayMeshChecks(world, mesh: arguments.count > 1 ? arguments[1] : "dp=\(world.size)",
                                fixtures: Array(arguments.dropFirst(2)), &checker)
    case "checkpoint-save", "checkpoint-load":
        try runCheckpointScenario(world, arguments)
    case "throw-on-rank":
        let failing = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
        if world.rank == failing {
            throw InjectedFailure(rank: world.rank)
        }
        try world.barrier()
        print("unexpected: rank \(world.rank) left the barrier")
    default:
        throw UsageError(message: "usage: _MPITestRunner collectives | throw-on-rank R | sharding MESH | mesh M…")
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
