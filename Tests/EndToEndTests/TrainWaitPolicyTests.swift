import Foundation
import Testing
import _TestSupport

/// `DION_WAIT_SLEEP_US` (`WaitPolicy.poll`) under a real `mpirun`: the nonblocking collectives of
/// the training step (FSDP gathers and reduce-scatters, dp buckets) waited for by polling give
/// the same losses, bit for bit, and the same bytes per axis as `MPI_Wait`; the header names the
/// wait, so the test knows which one ran.
@Suite("dion train with polling waits (mpirun)", .serialized)
struct TrainWaitPolicyTests {
    static func train(environment: [String: String]) throws -> (stdout: String, records: [TrainMultiRankTests.Record]) {
        let (result, records) = try TrainMultiRankTests.runTrain(["--mesh", "dp=2,fsdp=2", "--optimizer", "dion"]
                                                                 + TrainMultiRankTests.model, ranks: 4,
                                                                 environment: environment, as: TrainMultiRankTests.Record.self)
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        return (result.standardOutput, records)
    }

    @Test("polling waits: identical losses and bytes to MPI_Wait")
    func identical() throws {
        let blocking = try Self.train(environment: [:])
        let polling = try Self.train(environment: ["DION_WAIT_SLEEP_US": "50"])
        #expect(!blocking.stdout.contains("waits:"), "\(blocking.stdout)")
        #expect(polling.stdout.contains("(waits: MPI_Test for 1000 µs, then every 50 µs)"), "\(polling.stdout)")
        let a = TrainMultiRankTests.losses(blocking.records), b = TrainMultiRankTests.losses(polling.records)
        #expect(a.count == 4 && a == b, "MPI_Wait \(a) vs polling \(b)")
        let steps = { (records: [TrainMultiRankTests.Record]) in records.filter { $0.type == "step" }.map(\.bytes_by_axis) }
        #expect(steps(blocking.records).count == 2 && steps(blocking.records) == steps(polling.records))
    }
}
