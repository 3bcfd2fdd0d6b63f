import Foundation
import MPIShim

/// The progress thread (`MPIRuntime.startProgressThread`): a large nonblocking all-reduce left
/// alone (no MPI call on this thread) has not completed after 200 ms without the thread — Open MPI
/// moves it only inside MPI calls — and has completed after 2 s with it (ample on a loaded machine:
/// alone it takes a few milliseconds). Also: the in-flight count returns
/// to zero, bad intervals and a second start are refused, and every rank counts the others as
/// node-local (`nodeLocalSize`, one machine).
func runProgressThreadChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let g = world.size, r = world.rank
    let n = 1 << 20  // 4 MiB: many fragments and rounds on every transport
    let data = [Float](repeating: Float(r + 1), count: n)
    let expected = [Float](repeating: Float(g * (g + 1) / 2), count: n)

    func leftAlone(_ label: String, microseconds: UInt32) throws -> Bool {
        try world.barrier()
        var request = try world.iAllReduce(data)
        usleep(microseconds)
        let done = try request.test()
        try checker.expect(try request.wait(), expected, "\(label): the all-reduce's result")
        return done
    }

    try checker.expect(MPIRuntime.progressThreadRunning, false, "no progress thread before it is started")
    // One machine: every rank shares this node (what `dion train` sizes its default interval by).
    try checker.expect(try world.nodeLocalSize(), g, "ranks on this node")
    let without = try leftAlone("without the thread", microseconds: 200_000)
    // One rank has nothing to move; with several, nothing moved while no MPI call ran.
    try checker.expect(without, g == 1, "without the thread, completed after 200 ms and one MPI_Test")

    for bad: UInt32 in [0, MPIRuntime.maximumProgressInterval + 1] {
        try checker.expectThrows("an interval of \(bad) µs is refused", code: .invalidArgument) { () throws(MPIError) in
            try MPIRuntime.startProgressThread(intervalMicroseconds: bad)
        }
    }
    try MPIRuntime.startProgressThread(intervalMicroseconds: 100)
    try checker.expect(MPIRuntime.progressThreadRunning, true, "the progress thread runs")
    try checker.expectThrows("a second start is refused", code: .invalidArgument) { () throws(MPIError) in
        try MPIRuntime.startProgressThread(intervalMicroseconds: 100)
    }
    let with = try leftAlone("with the thread", microseconds: 2_000_000)
    try checker.expect(with, true, "with the thread, completed after 2 s and one MPI_Test")
    try checker.expect(MPIRuntime.nonblockingCollectivesInFlight, 0, "nothing left in flight")
    try world.barrier()
}
