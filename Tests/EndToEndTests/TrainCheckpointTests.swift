import Foundation
import Testing
import _TestSupport

/// Checkpoints of `dion train` under a real `mpirun`: stopping with `--stop-at` and resuming on
/// the same mesh gives byte-identical final checkpoints (weights and every optimizer state) to
/// an uninterrupted run; a checkpoint resumes onto another mesh with the same losses within
/// fp32 tolerance; a checkpoint of another configuration is refused on every rank.
@Suite("dion train checkpoints (mpirun)", .serialized)
struct TrainCheckpointTests {
    static let flags = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq-len", "16", "--batch-size", "8",
                        "--steps", "6", "--eval-every", "0", "--eval-batches", "1", "--log-every", "1"]

    static func scratch() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func train(ranks: Int, mesh: String, directory: URL, optimizer: String = "dion", extra: [String]) throws
        -> (result: MPIJob.Result, losses: [Double]) {
        let dion = try #require(TrainMultiRankTests.dion)
        let metrics = directory.appendingPathComponent("metrics-\(UUID()).jsonl")
        let result = try MPIJob(executable: dion, arguments: ["train", "--mesh", mesh, "--optimizer", optimizer, "--data",
                                                             TrainMultiRankTests.corpus.path, "--metrics", metrics.path,
                                                             "--checkpoint-dir", directory.appendingPathComponent("ckpt").path]
                                    + flags + extra, ranks: ranks, timeout: 180).run()
        let records = (try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n")
            .compactMap { try? JSONDecoder().decode(TrainMultiRankTests.Record.self, from: Data($0.utf8)) } ?? []
        return (result, records.compactMap { $0.type == "step" ? $0.train_loss : nil })
    }

    static func rankFiles(_ directory: URL, step: Int) throws -> [String: Data] {
        let path = directory.appendingPathComponent(String(format: "ckpt/step-%08d", step))
        var files = [String: Data]()
        for name in try FileManager.default.contentsOfDirectory(atPath: path.path) where name.hasPrefix("rank-") {
            files[name] = try Data(contentsOf: path.appendingPathComponent(name))
        }
        return files
    }

    @Test("stop and resume on the same mesh is bit-identical",
          arguments: [(1, "dp=1", "dion"), (2, "fsdp=2", "dion"), (4, "dp=2,fsdp=2", "dion"), (4, "fsdp=2,tp=2", "dion"),
                      (4, "dp=4", "muon"), (2, "tp=2", "adamw")])
    func bitExactResume(ranks: Int, mesh: String, optimizer: String) throws {
        let whole = Self.scratch(), split = Self.scratch()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        let a = try Self.train(ranks: ranks, mesh: mesh, directory: whole, optimizer: optimizer, extra: [])
        #expect(a.result.status == 0, "\(a.result)")
        let b1 = try Self.train(ranks: ranks, mesh: mesh, directory: split, optimizer: optimizer, extra: ["--stop-at", "3"])
        #expect(b1.result.status == 0 && b1.result.standardOutput.contains("stopped at step 3 of 6"), "\(b1.result)")
        let b2 = try Self.train(ranks: ranks, mesh: mesh, directory: split, optimizer: optimizer, extra: ["--resume"])
        #expect(b2.result.status == 0 && b2.result.standardOutput.contains("resumed from"), "\(b2.result)")
        #expect(a.losses == b1.losses + b2.losses, "losses \(a.losses) vs \(b1.losses) + \(b2.losses)")
        let final = try Self.rankFiles(whole, step: 6), resumed = try Self.rankFiles(split, step: 6)
        #expect(final.count == ranks && final == resumed, "the step-6 rank files differ")
    }

    @Test("a checkpoint resumes onto another mesh with the same losses",
          arguments: [(4, "fsdp=4", 2, "fsdp=2"), (4, "fsdp=4", 4, "dp=2,fsdp=2"), (4, "fsdp=4", 1, "dp=1"),
                      (4, "dp=4", 4, "fsdp=2,tp=2"), (2, "tp=2", 4, "dp=2,tp=2")])
    func reshard(fromRanks: Int, from: String, toRanks: Int, to: String) throws {
        let whole = Self.scratch(), split = Self.scratch()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        let a = try Self.train(ranks: fromRanks, mesh: from, directory: whole, extra: [])
        let b1 = try Self.train(ranks: fromRanks, mesh: from, directory: split, extra: ["--stop-at", "3"])
        let b2 = try Self.train(ranks: toRanks, mesh: to, directory: split, extra: ["--resume"])
        let saved = try meshDescription(from)
        #expect(b2.result.status == 0 && b2.result.standardOutput.contains("saved on \(saved)"), "\(b2.result)")
        let resumed = b1.losses + b2.losses
        #expect(a.losses.count == 6 && resumed.count == 6, "\(a.losses) \(resumed)")
        for (x, y) in zip(a.losses, resumed) { #expect(abs(x - y) <= 2e-5 * abs(x), "\(from) → \(to): \(a.losses) vs \(resumed)") }
    }

    func meshDescription(_ text: String) throws -> String {
        var values = ["dp": 1, "fsdp": 1, "tp": 1]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=")
            values[String(kv[0])] = Int(kv[1])
        }
        return "dp=\(values["dp"] ?? 1),fsdp=\(values["fsdp"] ?? 1),tp=\(values["tp"] ?? 1)"
    }

    @Test("a checkpoint of another configuration is refused on every rank")
    func foreignCheckpointRefused() throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Self.train(ranks: 2, mesh: "dp=2", directory: directory, extra: ["--stop-at", "2"])
        let other = try Self.train(ranks: 2, mesh: "dp=2", directory: directory, optimizer: "muon", extra: ["--resume"])
        #expect(other.result.status != 0 && !other.result.timedOut, "\(other.result)")
        for rank in 0..<2 {
            #expect(other.result.standardError.contains("[rank \(rank)/2] error:") &&
                    other.result.standardError.contains("another model configuration"), "\(other.result)")
        }
    }

    @Test("an unusable checkpoint directory or a resume without a checkpoint stops every rank before step 1",
          arguments: [("unwritable", "cannot create the checkpoint directory"), ("empty", "no complete checkpoint")])
    func unusableDirectory(kind: String, message: String) throws {
        let directory = Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dion = try #require(TrainMultiRankTests.dion)
        var arguments = ["train", "--mesh", "dp=2", "--data", TrainMultiRankTests.corpus.path] + Self.flags
        if kind == "unwritable" {
            // A path below a regular file cannot be created, even by root.
            let file = directory.appendingPathComponent("a-file")
            try Data("x".utf8).write(to: file)
            arguments += ["--checkpoint-dir", file.appendingPathComponent("ckpt").path]
        } else {
            arguments += ["--checkpoint-dir", directory.appendingPathComponent("ckpt").path, "--resume"]
        }
        let result = try MPIJob(executable: dion, arguments: arguments, ranks: 2, timeout: 60).run()
        #expect(result.status != 0 && !result.timedOut && !result.standardOutput.contains("| loss"), "\(result)")
        for rank in 0..<2 {
            #expect(result.standardError.contains("[rank \(rank)/2] error:") && result.standardError.contains(message),
                    "\(result)")
        }
    }
}
