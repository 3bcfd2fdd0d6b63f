import Checkpointing
import Foundation
import Testing
import _TestSupport

/// Issue 15, defects 2–5, under a real `mpirun`: a fresh run never deletes another run's
/// checkpoints; a resume that needs identical replicas gets them; every step has a metrics record,
/// NaN or not; a metrics write failure stops every rank cleanly instead of killing rank 0.
@Suite("dion train reliability (mpirun)", .serialized)
struct TrainReliabilityTests {
    static let flags = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq-len", "16", "--batch-size", "8",
                        "--eval-every", "0", "--eval-batches", "1", "--log-every", "1"]

    static func train(ranks: Int = 2, mesh: String = "dp=2", _ extra: [String], timeout: Double = 180) throws -> MPIJob.Result {
        let dion = try #require(TrainMultiRankTests.dion)
        return try MPIJob(executable: dion, arguments: ["train", "--mesh", mesh, "--data", TrainMultiRankTests.corpus.path]
                              + flags + extra, ranks: ranks, timeout: timeout).run()
    }

    static func scratch(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The complete checkpoints in `directory`: step → the run id in its manifest.
    static func checkpoints(_ directory: URL) throws -> [Int: String?] {
        var out = [Int: String?]()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.hasPrefix("step-") && name.dropFirst(5).allSatisfy(\.isNumber) {
            let manifest = try CheckpointStore.manifest(at: directory.appendingPathComponent(name).path)
            out[manifest.step] = manifest.run
        }
        return out
    }

    static func tensors(_ directory: URL, step: Int, rank: Int) throws -> [String: CheckpointTensor] {
        let path = directory.appendingPathComponent(String(format: "step-%08d", step)).path
        return try CheckpointStore.readRankFile(rank, at: path, manifest: try CheckpointStore.manifest(at: path))
    }

    // MARK: - Defect 2

    @Test("a fresh run refuses a directory holding another run's checkpoints; overwrite and prune touch only checkpoints")
    func checkpointOwnership() throws {
        let root = Self.scratch("own")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("ckpt")
        let a = try Self.train(["--steps", "8", "--checkpoint-dir", dir.path, "--checkpoint-every", "2"])
        #expect(a.status == 0, "\(a)")
        let first = try Self.checkpoints(dir)
        #expect(Set(first.keys) == [6, 8], "run A keeps its newest 2: \(first)")
        let runA = try #require(first[8] ?? nil, "run A's manifests carry a run id")
        #expect(first[6] == runA)
        let manifestA = try Data(contentsOf: dir.appendingPathComponent("step-00000008/manifest.json"))

        // A second fresh run into the same directory is refused on every rank before step 1.
        let b = try Self.train(["--steps", "100", "--stop-at", "4", "--lr", "0.005", "--checkpoint-dir", dir.path,
                                "--checkpoint-every", "2"])
        #expect(b.status != 0 && !b.timedOut && !b.standardOutput.contains("| loss"), "\(b)")
        for rank in 0..<2 {
            #expect(b.standardError.contains("[rank \(rank)/2] error:") && b.standardError.contains("another run")
                    && b.standardError.contains("--overwrite-checkpoints"), "\(b)")
        }
        #expect(try Self.checkpoints(dir) == first, "the refused run touched nothing")
        #expect(try Data(contentsOf: dir.appendingPathComponent("step-00000008/manifest.json")) == manifestA)

        // With --overwrite-checkpoints it deletes run A's checkpoints and nothing else.
        try Data("keep me".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("step-notes"), withIntermediateDirectories: true)
        let c = try Self.train(["--steps", "100", "--stop-at", "4", "--lr", "0.005", "--checkpoint-dir", dir.path,
                                "--checkpoint-every", "2", "--overwrite-checkpoints"])
        #expect(c.status == 0 && c.standardOutput.contains("stopped at step 4 of 100"), "\(c)")
        #expect(c.standardOutput.contains("removed 2 checkpoints of another run"), "\(c)")
        let second = try Self.checkpoints(dir)
        let runC = try #require(second[4] ?? nil)
        #expect(Set(second.keys) == [2, 4] && second[2] == runC && runC != runA, "\(second)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes.txt").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("step-notes").path))

        // A resume continues run C's lineage and prunes its older checkpoints.
        let d = try Self.train(["--steps", "100", "--stop-at", "8", "--lr", "0.005", "--checkpoint-dir", dir.path,
                                "--checkpoint-every", "2", "--resume"])
        #expect(d.status == 0 && d.standardOutput.contains("resumed from") && d.standardOutput.contains("step   8/100"), "\(d)")
        let third = try Self.checkpoints(dir)
        #expect(Set(third.keys) == [6, 8] && third.values.allSatisfy { $0 == runC }, "\(third)")
    }

    // MARK: - Defect 3

    @Test("resuming a compressed dp=2 Dion run with a sync that needs identical replicas keeps the replicas identical",
          arguments: [["--grad-clip", "1"], ["--sync", "uncompressed"]])
    func resumeSynchronizesReplicas(resumeFlags: [String]) throws {
        let root = Self.scratch("sync")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("ckpt")
        let first = try Self.train(["--steps", "6", "--stop-at", "3", "--checkpoint-dir", dir.path])
        #expect(first.status == 0 && first.standardOutput.contains("stopped at step 3 of 6"), "\(first)")
        // The precondition of the defect: the compressed sync left per-replica Dion buffers.
        let saved = (try Self.tensors(dir, step: 3, rank: 0), try Self.tensors(dir, step: 3, rank: 1))
        let momenta = saved.0.keys.filter { $0.hasPrefix("dion.momentum.") }
        #expect(momenta.count == 12, "\(saved.0.keys.sorted())")
        #expect(momenta.contains { saved.0[$0] != saved.1[$0] }, "the replicas' Dion buffers were already equal")

        let resumed = try Self.train(["--steps", "6", "--checkpoint-dir", dir.path, "--resume"] + resumeFlags)
        #expect(resumed.status == 0 && resumed.standardOutput.contains("resumed from")
                && resumed.standardOutput.contains("step 6/6 | loss"), "\(resumed)")
        let final = (try Self.tensors(dir, step: 6, rank: 0), try Self.tensors(dir, step: 6, rank: 1))
        let compared = final.0.keys.filter { $0.hasPrefix("param.") || $0.hasPrefix("dion.momentum.") }
        #expect(compared.count > 20, "\(final.0.keys.sorted())")
        for name in compared.sorted() {
            let a = try #require(final.0[name]).floats(), b = try #require(final.1[name]).floats()
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(a.count == b.count && difference == 0, "\(resumeFlags): \(name) differs between the replicas by up to \(difference)")
        }
    }

    // MARK: - Defect 4

    /// A metrics record as a reader without the Swift types sees it.
    struct Line: Decodable {
        let type: String
        let step: Int?
        let train_loss: Double?
        let final_train_loss: Double?
        let skipped: Bool?
        let non_finite: [String: String]?
    }

    @Test("every step has a metrics record; a NaN loss is null plus a non_finite flag")
    func nanMetricsRecords() throws {
        let root = Self.scratch("nan-metrics")
        defer { try? FileManager.default.removeItem(at: root) }
        let metrics = root.appendingPathComponent("m.jsonl")
        let result = try Self.train(["--steps", "8", "--debug-nan-steps", "4,5", "--debug-fault-rank", "1",
                                     "--metrics", metrics.path])
        #expect(result.status == 0 && result.standardOutput.contains("8 (2 skipped)"), "\(result)")
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        let steps = records.filter { $0.type == "step" }
        #expect(steps.compactMap(\.step) == Array(1...8), "\(lines.joined(separator: "\n"))")
        for record in steps {
            let bad = record.step == 4 || record.step == 5
            #expect(record.skipped == bad)
            #expect(bad ? record.train_loss == nil && record.non_finite == ["train_loss": "nan"]
                        : record.train_loss?.isFinite == true && record.non_finite == nil, "step \(record.step ?? -1)")
        }
        #expect(records.map(\.type) == ["run"] + Array(repeating: "step", count: 8) + ["eval", "summary"])
        #expect(records.last?.final_train_loss?.isFinite == true)
    }

    @Test("a run whose every step is skipped still writes its summary, with final_train_loss null")
    func nanSummaryRecord() throws {
        let root = Self.scratch("nan-summary")
        defer { try? FileManager.default.removeItem(at: root) }
        let metrics = root.appendingPathComponent("m.jsonl")
        let result = try Self.train(["--steps", "2", "--debug-nan-steps", "1,2", "--metrics", metrics.path])
        #expect(result.status == 0 && result.standardOutput.contains("2 (2 skipped)"), "\(result)")
        let records = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(records.map(\.type) == ["run", "step", "step", "eval", "summary"])
        let summary = try #require(records.last)
        #expect(summary.final_train_loss == nil && summary.non_finite == ["final_train_loss": "nan"])
    }

    // MARK: - Defect 5

    @Test("a metrics file that cannot be written (/dev/full) stops every rank with the error, no crash")
    func metricsDeviceFull() throws {
        let root = Self.scratch("full")
        defer { try? FileManager.default.removeItem(at: root) }
        let devFull = try FileManager.default.attributesOfItem(atPath: "/dev/full")
        #expect(devFull[.type] as? FileAttributeType == .typeCharacterSpecial, "/dev/full must be the device")
        let result = try Self.train(["--steps", "6", "--metrics", "/dev/full", "--checkpoint-dir",
                                     root.appendingPathComponent("ckpt").path], timeout: 60)
        #expect(result.status != 0 && result.status < 128 && !result.timedOut, "\(result)")
        for rank in 0..<2 {
            #expect(result.standardError.contains("[rank \(rank)/2] error:")
                    && result.standardError.contains("metrics file /dev/full")
                    && result.standardError.contains("No space left on device"), "\(result)")
        }
        #expect(!result.standardOutput.contains("| loss"), "no step completes: \(result)")
        #expect(!result.standardError.contains("Fatal error") && !result.standardError.contains("signal"), "\(result)")
        let stillDevice = try FileManager.default.attributesOfItem(atPath: "/dev/full")
        #expect(stillDevice[.type] as? FileAttributeType == .typeCharacterSpecial, "/dev/full was replaced")
    }

    @Test("a metrics disk that fills up mid-run: every rank reports it, the last step is checkpointed, the file stays parseable",
          .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func metricsDiskFullMidRun() throws {
        let root = Self.scratch("tmpfs")
        let mountPoint = root.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        Self.shell("mount -t tmpfs -o size=16k tmpfs '\(mountPoint.path)'")
        defer {
            Self.shell("umount '\(mountPoint.path)'")
            try? FileManager.default.removeItem(at: root)
        }
        try #require(Self.isMounted(mountPoint), "could not mount a tmpfs at \(mountPoint.path)")
        let metrics = mountPoint.appendingPathComponent("m.jsonl")
        let dir = root.appendingPathComponent("ckpt")
        let result = try Self.train(["--steps", "400", "--metrics", metrics.path, "--checkpoint-dir", dir.path,
                                     "--checkpoint-every", "1000", "--log-every", "1000"], timeout: 240)
        #expect(result.status != 0 && result.status < 128 && !result.timedOut, "\(result)")
        for rank in 0..<2 {
            #expect(result.standardError.contains("[rank \(rank)/2] error:")
                    && result.standardError.contains("metrics file \(metrics.path)")
                    && result.standardError.contains("No space left on device"), "\(result)")
        }
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "the file ends with a whole line")
        let records = try lines.dropLast().map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        let lastStep = try #require(records.last?.step, "\(records.count) records")
        #expect(lastStep > 10 && lastStep < 400 && records.dropFirst().map(\.step) == (1...lastStep).map { Optional($0) })
        // The checkpoint policy is honoured: the state after the last completed step is saved.
        let saved = try Self.checkpoints(dir)
        #expect(saved.count == 1 && (saved.keys.first == lastStep || saved.keys.first == lastStep + 1),
                "checkpoints \(saved.keys.sorted()) after the last record of step \(lastStep)")
        #expect(result.standardOutput.contains("checkpoint: step \(saved.keys.first ?? -1)"), "\(result)")
    }

    /// Runs a shell command. Its status is not used: once the test host has initialized MPI,
    /// Open MPI's SIGCHLD handling can reap the child first (see `MPIJob.run`); callers check
    /// the effect instead.
    static func shell(_ command: String) {
        _ = system(command)
    }

    /// Whether a file system is mounted at `url` (from /proc/self/mounts).
    static func isMounted(_ url: URL) -> Bool {
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        return mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first == Substring(url.path) }
    }
}
