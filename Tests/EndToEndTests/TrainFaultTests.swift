import Checkpointing
import Foundation
import Testing
import _TestSupport

/// Faults during `dion train` under a real `mpirun`: a NaN gradient on one rank skips the step on
/// every rank with weights and optimizer state untouched; too many in a row abort the job with a
/// clear message; a stalled rank is caught by the collective watchdog; a SIGKILLed rank ends the
/// job within 30 s.
@Suite("dion train faults (mpirun)", .serialized)
struct TrainFaultTests {
    static let flags = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq-len", "16", "--batch-size", "8",
                        "--eval-every", "0", "--eval-batches", "1", "--log-every", "1"]

    static func run(ranks: Int, mesh: String, _ extra: [String], timeout: Double = 120,
                    monitor: ((String) -> Void)? = nil) throws -> MPIJob.Result {
        let dion = try #require(TrainMultiRankTests.dion)
        return try MPIJob(executable: dion, arguments: ["train", "--mesh", mesh, "--data", TrainMultiRankTests.corpus.path]
                              + flags + extra, ranks: ranks, timeout: timeout).run(monitor: monitor)
    }

    @Test("a NaN gradient on one rank skips the step everywhere and leaves weights and state untouched",
          arguments: [(2, "dp=2", "dion"), (4, "fsdp=2,tp=2", "dion"), (4, "dp=2,fsdp=2", "adamw")])
    func nanSkipsStep(ranks: Int, mesh: String, optimizer: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.run(ranks: ranks, mesh: mesh, ["--optimizer", optimizer, "--steps", "4", "--debug-nan-steps", "3",
                                                             "--debug-fault-rank", "\(ranks - 1)", "--checkpoint-dir",
                                                             directory.path, "--checkpoint-every", "1", "--keep", "4"])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("SKIPPED (non-finite)") && result.standardOutput.contains("4 (1 skipped)"),
                "\(result)")
        for rank in 0..<ranks {
            let before = try Self.tensors(directory, step: 2, rank: rank), after = try Self.tensors(directory, step: 3, rank: rank)
            #expect(before.count == after.count && before.count > 3)
            for (name, tensor) in before where name != "trainer.state" {
                #expect(after[name] == tensor, "rank \(rank): \(name) changed in the skipped step")
            }
            #expect(after["trainer.state"] != before["trainer.state"], "the step counter moves on")
        }
    }

    static func tensors(_ directory: URL, step: Int, rank: Int) throws -> [String: CheckpointTensor] {
        let path = directory.appendingPathComponent(String(format: "step-%08d", step)).path
        return try CheckpointStore.readRankFile(rank, at: path, manifest: try CheckpointStore.manifest(at: path))
    }

    @Test("consecutive non-finite steps abort every rank after --max-bad-steps")
    func tooManyBadSteps() throws {
        let result = try Self.run(ranks: 2, mesh: "fsdp=2", ["--steps", "6", "--debug-nan-steps", "2,3", "--max-bad-steps", "2"])
        #expect(result.status != 0 && !result.timedOut, "\(result)")
        for rank in 0..<2 {
            #expect(result.standardError.contains("[rank \(rank)/2] error: non-finite training: 2 consecutive steps"), "\(result)")
        }
    }

    @Test("a stalled rank is reported by the collective watchdog")
    func stallWatchdog() throws {
        let result = try Self.run(ranks: 4, mesh: "dp=2,fsdp=2", ["--steps", "4", "--debug-stall-step", "2",
                                                                   "--debug-fault-rank", "2", "--collective-timeout", "3"],
                                  timeout: 60)
        #expect(result.status != 0 && !result.timedOut && result.seconds < 30, "\(result)")
        #expect(result.standardError.contains("did not complete within 3.0 s") &&
                result.standardError.contains("ranks that did not arrive: [2]"), "\(result)")
    }

    @Test("SIGKILL of one training rank ends the job within 30 s")
    func sigkill() throws {
        nonisolated(unsafe) var killed = false
        let result = try Self.run(ranks: 4, mesh: "fsdp=4", ["--steps", "100000", "--debug-print-pids"], timeout: 60) { output in
            guard !killed, output.contains("/100000 | loss"),
                  let pid = MPIJob.pid(ofRank: 1, in: output) else { return }
            killed = kill(pid, SIGKILL) == 0
        }
        #expect(killed, "rank 1's pid never appeared: \(result)")
        #expect(!result.timedOut && result.status != 0 && result.seconds < 30, "\(result)")
    }

    @Test("a job that outlives its timeout is killed with all its ranks")
    func timeoutKillsRanks() throws {
        let result = try Self.run(ranks: 2, mesh: "dp=2", ["--steps", "100000", "--debug-print-pids"], timeout: 5)
        #expect(result.timedOut, "\(result)")
        let pids = (0..<2).compactMap { MPIJob.pid(ofRank: $0, in: result.standardOutput) }
        #expect(pids.count == 2, "\(result)")
        for pid in pids { #expect(Self.ended(pid), "rank pid \(pid) survived the timeout") }
    }

    /// Whether `pid` is gone or a zombie (killed, not yet reaped by its orphaned parent) within 5 s.
    static func ended(_ pid: Int32) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        repeat {
            guard kill(pid, 0) == 0, let fields = MPIJob.statFields(pid) else { return true }
            if fields.first == "Z" { return true }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        return false
    }
}
