import Foundation
import Testing
import _TestSupport

/// Issue 15, defects 6, 8, 9 and 10, under a real `mpirun` (2 ranks): crafted checkpoints with
/// valid checksums, overflowing and infinite flags, unclear messages, and resumes that must be
/// refused — each refused on every rank with a clear message, never a trap or a silent run.
@Suite("dion train hardening (mpirun)", .serialized)
struct TrainHardeningTests {
    static let flags = ["--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch-size", "4",
                        "--eval-every", "0", "--eval-batches", "1", "--log-every", "1"]

    static func dion() throws -> String { try #require(TrainMultiRankTests.dion) }

    static func run(_ arguments: [String], ranks: Int = 2, timeout: Double = 120) throws -> MPIJob.Result {
        try MPIJob(executable: try dion(), arguments: arguments, ranks: ranks, timeout: timeout).run()
    }

    static func train(_ extra: [String], data: String = TrainMultiRankTests.corpus.path) throws -> MPIJob.Result {
        try run(["train", "--mesh", "dp=2", "--data", data] + flags + extra)
    }

    /// The job failed cleanly: non-zero, in time, no trap or signal, and no training step ran.
    static func expectRefused(_ result: MPIJob.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0 && !result.timedOut, "\(what): \(result)", sourceLocation: sourceLocation)
        for marker in ["Fatal error", "Backtrace", "signal", "SIGILL", "Illegal instruction", "| loss"] {
            #expect(!(result.standardError + result.standardOutput).contains(marker), "\(what): '\(marker)' in \(result)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Every one of `ranks` ranks printed its error containing `message`.
    static func expectEveryRank(_ result: MPIJob.Result, _ message: String, ranks: Int = 2,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = result.standardError.split(separator: "\n")
        for rank in 0..<ranks {
            #expect(lines.contains { $0.hasPrefix("[rank \(rank)/\(ranks)] error:") && $0.contains(message) },
                    "rank \(rank) did not print '\(message)': \(result)", sourceLocation: sourceLocation)
        }
    }

    static func scratch(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A 2-rank dp=2 Dion checkpoint at step 2 of 6 (written once, copied per test).
    static let saved: Result<URL, any Error> = Result {
        let directory = scratch("hardening-base").appendingPathComponent("ckpt")
        let result = try train(["--steps", "6", "--stop-at", "2", "--checkpoint-dir", directory.path])
        guard result.status == 0, result.standardOutput.contains("stopped at step 2 of 6") else {
            throw CheckpointSurgery.SurgeryError(description: "the base run failed: \(result)")
        }
        return directory
    }

    /// A fresh copy of the saved checkpoint directory and its `step-00000002` surgery.
    static func copyOfSaved() throws -> (directory: URL, surgery: CheckpointSurgery) {
        let copy = scratch("hardening").appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: try saved.get(), to: copy)
        return (copy, CheckpointSurgery(path: copy.appendingPathComponent("step-00000002")))
    }

    // MARK: - Defect 6

    /// (what, the edit, the message every rank prints, whether `dion checkpoint inspect` must refuse too)
    static let crafted: [(String, @Sendable (CheckpointSurgery) throws -> Void, String, Bool)] = [
        ("tensor offset + byteCount overflow", { try $0.editTensor(rank: 1, "param.embed") { $0["offset"] = Int.max; $0["byteCount"] = 16 } },
         "does not lie inside", true),
        ("shape product overflow", { try $0.editTensor(rank: 1, "param.embed") { $0["shape"] = [1 << 32, 1 << 32, 4] } },
         "more elements than an Int can count", true),
        ("offsets without globalShape", { try $0.editTensor(rank: 1, "param.embed") { $0["globalShape"] = nil } },
         "needs both globalShape and offsets", true),
        ("step counter of length 0", { try $0.editTensor(rank: 1, "dion.step.layers.0.wq") { $0["shape"] = [0]; $0["byteCount"] = 0 } },
         "holds 0 integers, not 1", false),
        ("negative trainer step", { s in
            for rank in 0..<2 { try s.setInt64s(rank: rank, "trainer.state", [-5, 0, 0, 0]) }
            try s.editManifest { $0["step"] = -5 } }, "step -5 is negative", false),
        ("rank files disagree on the step", { try $0.setInt64s(rank: 1, "trainer.state", [1, 0, 0, 0]) },
         "the rank files hold step 1 but the manifest says step 2", false),
        ("rank files disagree on the skipped steps", { try $0.setInt64s(rank: 1, "trainer.state", [2, 0, 1, 0]) },
         "disagree on the trainer state", false),
        ("manifest worldSize -1", { try $0.editManifest { $0["worldSize"] = -1 } }, "worldSize -1", true),
    ]

    @Test("crafted checkpoints with valid checksums are refused on every rank, and by checkpoint inspect",
          arguments: 0..<crafted.count)
    func craftedCheckpoint(index: Int) throws {
        let (what, edit, message, inspectRefuses) = Self.crafted[index]
        let (directory, surgery) = try Self.copyOfSaved()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try edit(surgery)
        try surgery.reseal()
        let resumed = try Self.train(["--steps", "6", "--checkpoint-dir", directory.path, "--resume"])
        Self.expectRefused(resumed, what)
        Self.expectEveryRank(resumed, message)
        #expect(!resumed.standardOutput.contains("resumed from"), "\(what): \(resumed)")
        if inspectRefuses {
            let inspect = try Self.run(["checkpoint", "inspect", surgery.path.path], ranks: 1)
            Self.expectRefused(inspect, "inspect: \(what)")
            #expect(inspect.standardError.contains(message), "inspect: \(what): \(inspect)")
        }
    }

    @Test("a manifest edited without resealing is refused by its own checksum")
    func manifestChecksum() throws {
        let (directory, surgery) = try Self.copyOfSaved()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try surgery.editManifest { $0["mesh"] = "fsdp=2" }
        let resumed = try Self.train(["--steps", "6", "--checkpoint-dir", directory.path, "--resume"])
        Self.expectRefused(resumed, "unsealed manifest")
        Self.expectEveryRank(resumed, "the manifest is corrupt")
    }

    // MARK: - Defect 8

    static let overflowing: [([String], String)] = [
        (["train", "--mesh", "dp=4294967296,fsdp=4294967296"], "more processes than an Int can count"),
        (["train", "--batch-size", "1099511627776"], "--batch-size 1099511627776 over"),
        (["train", "--seq-len", "100000"], "--seq-len 100000"),
        (["bench", "collectives", "--seconds-per-point", "inf"], "--seconds-per-point must be"),
        (["bench", "collectives", "--min-bytes", "4611686018427387904", "--max-bytes", "9223372036854775807"],
         "--max-bytes ≤"),
        (["bench", "optimizer", "--threads", "0", "--shape", "64x64"], "--threads must be in 1...1024"),
    ]

    @Test("overflowing or infinite flags give a clear error on every rank", arguments: 0..<overflowing.count)
    func overflowingFlags(index: Int) throws {
        let (arguments, message) = Self.overflowing[index]
        let isTrain = arguments.first == "train"
        let result = try Self.run(arguments + (isTrain ? ["--data", TrainMultiRankTests.corpus.path, "--steps", "2"] : []))
        Self.expectRefused(result, arguments.joined(separator: " "))
        #expect(!result.standardOutput.contains("inf%") && !result.standardOutput.contains("GFLOP/s"), "\(result)")
        if isTrain {
            Self.expectEveryRank(result, message)
        } else {
            // Argument validation runs before MPI starts: each process prints the parser's message
            // and exits 64 on its own. mpirun forwards the two processes' stderr in chunks that can
            // interleave mid-line (CI once split one copy across mpirun's banner), so only the
            // status and at least one whole copy of the message are asserted.
            #expect(result.status == 64, "\(message): \(result)")
            #expect(result.standardError.contains(message), "\(message): \(result)")
        }
    }

    // MARK: - Defect 9

    @Test("clear messages: a directory as --data, a short text, a negative tensor shape, the watchdog timeout, the mesh, checkpoint layouts")
    func clearMessages() throws {
        let root = Self.scratch("messages")
        defer { try? FileManager.default.removeItem(at: root) }
        let directoryData = try Self.train(["--steps", "2", "--data", root.path])
        Self.expectRefused(directoryData, "directory as --data")
        Self.expectEveryRank(directoryData, "\(root.path) is a directory; --data takes a text file")

        let short = root.appendingPathComponent("short.txt")
        try Data(repeating: 0x61, count: 100).write(to: short)
        let tooShort = try Self.train(["--steps", "2"], data: short.path)
        Self.expectRefused(tooShort, "short text")
        Self.expectEveryRank(tooShort, "\(short.path) has 100 bytes, split into 90 for training and 10")

        for (value, shown) in [("inf", "got inf"), ("-1", "got -1.0"), ("nan", "got nan")] {
            let timeout = try Self.train(["--steps", "2", "--collective-timeout=\(value)"])
            Self.expectRefused(timeout, "--collective-timeout \(value)")
            Self.expectEveryRank(timeout, "--collective-timeout must be a number of seconds from 0 (off) to 10000000, \(shown)")
        }
        let interval = try Self.train(["--steps", "2", "--progress-interval", "1000001"])
        Self.expectRefused(interval, "--progress-interval 1000001")
        Self.expectEveryRank(interval, "--progress-interval must be 0 (off) to 1000000 µs, got 1000001")

        let dion = try Self.dion()
        let common = ["--data", TrainMultiRankTests.corpus.path, "--steps", "2"] + Self.flags
        let meshes = try MPIJob(executable: dion, arguments: ["train", "--mesh", "dp=2"] + common
                                    + [":", "-np", "1", dion, "train", "--mesh", "fsdp=2"] + common, ranks: 1).run()
        Self.expectRefused(meshes, "different meshes")
        Self.expectEveryRank(meshes, "rank 1 was started with mesh dp=1,fsdp=2,tp=1 but rank 0 with dp=2,fsdp=1,tp=1")

        for (what, edit, message) in [
            ("negative shape", { (s: CheckpointSurgery) throws in
                try s.editTensor(rank: 0, "param.embed") { $0["shape"] = ($0["shape"] as? [Int] ?? []).map { -$0 } } },
             "has a negative dimension"),
            ("a block without offsets", { (s: CheckpointSurgery) throws in
                try s.editTensor(rank: 0, "param.embed") { $0["globalShape"] = nil; $0["offsets"] = nil } },
             "corrupt checkpoint:")] as [(String, (CheckpointSurgery) throws -> Void, String)] {
            let (directory, surgery) = try Self.copyOfSaved()
            defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
            try edit(surgery)
            try surgery.reseal()
            let resumed = try Self.train(["--steps", "6", "--checkpoint-dir", directory.path, "--resume"])
            Self.expectRefused(resumed, what)
            Self.expectEveryRank(resumed, message)
            #expect(!resumed.standardError.contains("invalid training configuration"), "\(what): \(resumed)")
        }
    }

    // MARK: - Defect 10

    static let foreignResumes: [([String], String)] = [
        (["--batch-size", "8"], "checkpoint batch-size 4, this run batch-size 8"),
        (["--grad-accum", "2"], "checkpoint grad-accum 1, this run grad-accum 2"),
        (["--schedule", "wsd"], "checkpoint schedule cosine, this run schedule wsd"),
        (["--weight-decay", "0.1"], "checkpoint weight-decay 0.01, this run weight-decay 0.1"),
        (["--data", "OTHER"], "checkpoint data "),
        (["--steps", "2"], "the run starts at step 2 (its checkpoint) but --steps is 2: nothing to train"),
        (["--stop-at", "1"], "--stop-at 1 is not after step 2"),
    ]

    @Test("resume refuses what it must not accept, on every rank", arguments: 0..<foreignResumes.count)
    func resumeRefusals(index: Int) throws {
        var (flags, message) = Self.foreignResumes[index]
        let (directory, _) = try Self.copyOfSaved()
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        if let k = flags.firstIndex(of: "OTHER") {
            let other = directory.deletingLastPathComponent().appendingPathComponent("other.txt")
            try Data(try Data(contentsOf: TrainMultiRankTests.corpus).reversed()).write(to: other)
            flags[k] = other.path
        }
        let steps = flags.contains("--steps") ? [] : ["--steps", "6"]
        let result = try Self.train(steps + ["--checkpoint-dir", directory.path, "--resume"] + flags)
        Self.expectRefused(result, flags.joined(separator: " "))
        Self.expectEveryRank(result, message)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["step-00000002"],
                "nothing was saved: \(result)")
    }

    @Test("--stop-at without --checkpoint-dir, an unwritable --trace, and ranks with different flags are refused before step 1")
    func startRefusals() throws {
        let stopAt = try Self.train(["--steps", "6", "--stop-at", "3"])
        Self.expectRefused(stopAt, "--stop-at without --checkpoint-dir")
        Self.expectEveryRank(stopAt, "--stop-at saves a checkpoint to continue from with --resume; it needs --checkpoint-dir")

        let trace = try Self.train(["--steps", "6", "--trace", "/nonexistent-dion-dir/run.trace.json"])
        Self.expectRefused(trace, "unwritable --trace")
        Self.expectEveryRank(trace, "cannot write the trace file /nonexistent-dion-dir/run.trace.json: No such file or "
                             + "directory (on rank 0)")

        let dion = try Self.dion()
        let common = ["--mesh", "dp=2", "--data", TrainMultiRankTests.corpus.path, "--steps", "2"] + Self.flags
        let flags = try MPIJob(executable: dion, arguments: ["train", "--lr", "0.01"] + common
                                   + [":", "-np", "1", dion, "train", "--lr", "0.02"] + common, ranks: 1).run()
        Self.expectRefused(flags, "different --lr")
        Self.expectEveryRank(flags, "--lr is '0.01' on rank 0 but '0.02' on rank 1")
    }
}
