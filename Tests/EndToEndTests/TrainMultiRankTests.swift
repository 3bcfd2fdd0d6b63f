import Foundation
import Testing
import _TestSupport

/// `dion train` under a real `mpirun`: the loss curve of a 2-step run is the same on every mesh
/// as on one process (within fp32 reassociation), and bad flags stop every rank with a clear
/// message instead of a hang. Runs on an explicit synthetic text file (`--data`).
@Suite("dion train (mpirun)", .serialized)
struct TrainMultiRankTests {
    static let dion = MPIJob.builtProduct("dion")

    /// A deterministic ~24 KB text (the job itself never falls back to synthetic data).
    static let corpus = TestCorpus.url()

    static let model = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq-len", "16", "--batch-size", "8",
                        "--steps", "2", "--warmup", "0", "--eval-every", "1", "--eval-batches", "1", "--log-every", "1"]

    struct Record: Decodable {
        let type: String
        let step: Int?
        let train_loss: Double?
        let val_loss: Double?
        let lr: Double?
        let tokens_per_s: Double?
        let comm_bytes: Int?
        let bytes_by_axis: [String: Int]?
    }

    /// Runs `dion train arguments` on `ranks` ranks with the test corpus as `--data` and a temporary
    /// `--metrics` file, and returns the job and its metrics records decoded as `R` (none when the
    /// run wrote no file). The callers assert on the job's status.
    static func runTrain<R: Decodable>(_ arguments: [String], ranks: Int, timeout: Double = 180,
                                       environment: [String: String] = [:],
                                       as _: R.Type) throws -> (result: MPIJob.Result, records: [R]) {
        let dion = try #require(Self.dion, "the dion executable was not built next to the tests")
        let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: metrics) }
        let result = try MPIJob(executable: dion, arguments: ["train"] + arguments + ["--data", corpus.path, "--metrics", metrics.path],
                                ranks: ranks, timeout: timeout, environment: environment).run()
        let lines = (try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n") ?? []
        return (result, try lines.map { try JSONDecoder().decode(R.self, from: Data($0.utf8)) })
    }

    /// Runs `dion train` and returns its metrics records.
    static func train(ranks: Int, mesh: String, optimizer: String, extra: [String] = []) throws -> [Record] {
        let (result, records) = try runTrain(["--mesh", mesh, "--optimizer", optimizer] + model + extra, ranks: ranks,
                                             as: Record.self)
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        #expect(result.standardOutput.contains("Summary"), "\(result)")
        return records
    }

    static func losses(_ records: [Record]) -> [Double] {
        records.compactMap { $0.type == "step" ? $0.train_loss : $0.type == "eval" ? $0.val_loss : nil }
    }

    @Test("every mesh gives the single-process loss curve",
          arguments: [(2, "dp=2", "dion"), (2, "fsdp=2", "dion"), (2, "tp=2", "dion"),
                      (4, "dp=4", "dion"), (4, "fsdp=4", "dion"), (4, "tp=4", "dion"), (4, "dp=2,fsdp=2", "dion"),
                      (4, "fsdp=2,tp=2", "dion"), (4, "dp=2,tp=2", "dion"),
                      (4, "fsdp=4", "muon"), (4, "dp=2,tp=2", "muon"), (4, "fsdp=2,tp=2", "adamw"), (4, "dp=4", "adamw")])
    func meshEquivalence(ranks: Int, mesh: String, optimizer: String) throws {
        let reference = Self.losses(try Self.train(ranks: 1, mesh: "dp=1", optimizer: optimizer))
        let distributed = Self.losses(try Self.train(ranks: ranks, mesh: mesh, optimizer: optimizer))
        #expect(reference.count == 4 && distributed.count == 4, "train, val, train, val: \(reference) \(distributed)")
        for (a, b) in zip(reference, distributed) {
            // fp32 sums reassociate across shards; after two steps the loss moves by ~1e-6 relative.
            #expect(abs(a - b) <= 2e-5 * abs(a), "\(optimizer) on \(mesh): \(distributed) vs one process \(reference)")
        }
        #expect(reference[2] < reference[0], "the loss falls: \(reference)")
    }

    @Test("metrics records carry the documented fields; Dion's compressed sync moves less over dp than AdamW")
    func metricsAndCompressedSync() throws {
        let dion = try Self.train(ranks: 4, mesh: "dp=4", optimizer: "dion", extra: ["--rank-fraction", "1/8"])
        let adamw = try Self.train(ranks: 4, mesh: "dp=4", optimizer: "adamw")
        let step = try #require(dion.first { $0.type == "step" })
        #expect(step.step == 1 && step.train_loss != nil && step.lr != nil && step.tokens_per_s != nil && step.comm_bytes != nil)
        #expect(dion.contains { $0.type == "eval" && $0.val_loss != nil })
        #expect(dion.first?.type == "run" && dion.last?.type == "summary")
        let dionDP = try #require(step.bytes_by_axis?["dp"])
        let adamwDP = try #require(adamw.first { $0.type == "step" }?.bytes_by_axis?["dp"])
        #expect(dionDP < adamwDP, "dp bytes per step: Dion \(dionDP), AdamW \(adamwDP)")
    }

    @Test("bad flags stop every rank with a clear message",
          arguments: [(["--mesh", "dp=3"], "needs 3 processes but the job has 2"),
                      (["--optimizer", "sgd"], "The value 'sgd' is invalid for '--optimizer <optimizer>'"),
                      (["--mesh", "tp=2", "--heads", "3", "--d-model", "24"], "--heads 3 is not divisible by tp=2"),
                      (["--data", "/nonexistent/corpus.txt"], "run Scripts/fetch-data.sh"),
                      (["--batch-size", "3"], "--batch-size 3 must be a positive multiple")])
    func badFlags(flags: [String], message: String) throws {
        let dion = try #require(Self.dion)
        var arguments = ["train", "--data", Self.corpus.path, "--steps", "2", "--layers", "1", "--d-model", "16",
                         "--heads", "2", "--seq-len", "8"]
        arguments += flags
        let result = try MPIJob(executable: dion, arguments: arguments, ranks: 2, timeout: 60).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        #expect(result.standardError.contains(message), "\(result)")
    }
}
