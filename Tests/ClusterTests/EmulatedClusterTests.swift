import Foundation
import Testing
import _TestSupport

/// The emulated cluster (`Scripts/cluster.sh`): network namespaces as hosts joined by shaped TCP
/// links, with the unchanged binaries running across them under `mpirun`. Every test brings up
/// its own cluster and tears it down, also when it fails.
@Suite("Emulated cluster (namespaces, mpirun across hosts)", .serialized, .enabled(if: EmulatedCluster.isAvailable))
struct EmulatedClusterTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")
    static let dion = MPIJob.builtProduct("dion")

    static let corpus = TestCorpus.url(seed: 7, name: "dion-cluster-test")

    /// A tiny model, logged every 5 steps: at ≈ 1 ms a step, a line per step (1000 lines/s) made
    /// rank 0 wait seconds in its terminal writes (Open MPI forwards a rank's stdout through a
    /// pseudo-terminal, which the launcher on the emulated cluster drains slowly), long enough for
    /// the 3 s watchdog of `hostKilled` to end the job on its own before the kill.
    static let model = ["--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch-size", "8",
                        "--eval-every", "0", "--log-every", "5"]

    /// Runs `body` on a fresh 2-host × 2-slot cluster at `bandwidth`, then removes it whatever happened.
    static func withCluster<R>(bandwidth: String = "1gbit", _ body: (EmulatedCluster) throws -> R) throws -> R {
        let cluster = try EmulatedCluster.up(hosts: 2, slots: 2, bandwidth: bandwidth)
        defer {
            _ = try? EmulatedCluster.down()
        }
        return try body(cluster)
    }

    @Test("up builds the hosts, down leaves no namespace, link or process behind, and up is idempotent")
    func lifecycle() throws {
        try Self.withCluster { _ in
            let second = try EmulatedCluster.up(hosts: 2, slots: 2, bandwidth: "100mbit")  // replaces the first
            let present = Set(try EmulatedCluster.leftovers())
            #expect(present == ["dion-h1", "dion-h2", "dion-v1", "dion-v2", "dion-br0"], "\(present)")
            let counters = try second.counters()
            #expect(counters.keys.sorted() == ["dion-h1", "dion-h2"])
        }
        #expect(try EmulatedCluster.leftovers().isEmpty)
        let processes = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)  // the test itself survives
        #expect(processes.contains("Name:"))
    }

    @Test("collectives are correct across hosts, and ranks fill a host before the next one (inner axis inside a host)")
    func collectivesAndPlacement() throws {
        let runner = try #require(Self.runner)
        try Self.withCluster { cluster in
            let launcher = try cluster.launcher()
            let result = try MPIJob(executable: runner, arguments: ["collectives"], ranks: 4, timeout: 120,
                                    launcher: launcher).run()
            #expect(result.status == 0 && !result.timedOut, "\(result)")
            // The same checks as on shared memory (MultiRankTests), across hosts.
            #expect(result.ranChecks(ranks: 4, total: try #require(MPIJob.collectiveChecks[4])), "checks per rank \(result.checkCounts(ranks: 4)): \(result)")
            for mesh in ["dp=2,tp=2", "dp=2,fsdp=2"] {
                let placed = try MPIJob(executable: runner, arguments: ["placement", mesh], ranks: 4, timeout: 60,
                                        launcher: launcher).run()
                #expect(placed.status == 0, "\(placed)")
                // "PLACE rank R host H dp D fsdp F tp T"
                let rows = placed.standardOutput.split(separator: "\n").filter { $0.hasPrefix("PLACE ") }
                    .map { $0.split(separator: " ").map(String.init) }
                #expect(rows.count == 4, "\(placed)")
                for row in rows {
                    let rank = Int(row[2]) ?? -1, host = row[4], dp = Int(row[6]) ?? -1
                    #expect(host == "dion-h\(rank / 2 + 1)", "rank \(rank) on \(host)")
                    #expect(dp == rank / 2, "\(mesh): the inner axis pairs stay in one host, dp crosses: \(row)")
                }
            }
        }
    }

    @Test("training across hosts gives the losses of shared memory bit for bit; the kernel counts the ledger's bytes plus framing")
    func trainingAcrossHosts() throws {
        let dion = try #require(Self.dion)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-train-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func train(_ metrics: String, launcher: String) throws -> MPIJob.Result {
            try MPIJob(executable: dion, arguments: ["train", "--mesh", "dp=2,tp=2", "--data", Self.corpus.path, "--steps", "5",
                                                     "--metrics", directory.appendingPathComponent(metrics).path] + Self.model,
                       ranks: 4, timeout: 180, launcher: launcher).run()
        }
        let local = try train("shm.jsonl", launcher: "mpirun")
        #expect(local.status == 0, "\(local)")
        try Self.withCluster { cluster in
            let before = try cluster.counters()
            let remote = try train("cluster.jsonl", launcher: try cluster.launcher())
            let after = try cluster.counters()
            #expect(remote.status == 0, "\(remote)")
            let shmLosses = try Self.losses(directory.appendingPathComponent("shm.jsonl"))
            let clusterLosses = try Self.losses(directory.appendingPathComponent("cluster.jsonl"))
            #expect(shmLosses.count == 5 && clusterLosses == shmLosses, "shm \(shmLosses) vs cluster \(clusterLosses)")

            // Inter-host payload per the ledger: dp crosses the link (2 hosts × 2 ranks, tp inside a
            // host); of a world ring over 4 ranks on 2 hosts, half the hops cross.
            let bytes = try Self.summaryBytes(directory.appendingPathComponent("cluster.jsonl"))
            let ledger = Double(4 * (bytes["dp"] ?? 0)) + Double(4 * (bytes["world"] ?? 0)) / 2
            let kernel = Double(["dion-h1", "dion-h2"].reduce(0) { $0 + (after[$1]?.sent ?? 0) - (before[$1]?.sent ?? 0) })
            #expect(ledger > 200_000, "\(bytes)")
            let ratio = kernel / ledger
            #expect(ratio >= 1.0 && ratio <= 1.3, "kernel \(kernel) B vs ledger \(ledger) B: ratio \(ratio)")
            print("cluster test: kernel/ledger inter-host bytes = \(String(format: "%.3f", ratio)) (\(Int(kernel)) / \(Int(ledger)))")
        }
    }

    @Test("a host cut off mid-run (link down) ends the job in bounded time, naming the unreachable ranks; the last checkpoint resumes on shared memory")
    func linkDown() throws {
        let dion = try #require(Self.dion)
        let checkpoints = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-ckpt-\(UUID())")
        let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-cut-\(UUID()).jsonl")
        defer {
            try? FileManager.default.removeItem(at: checkpoints)
            try? FileManager.default.removeItem(at: metrics)
        }
        try Self.withCluster { cluster in
            nonisolated(unsafe) var cutAt: Date?
            let result = try MPIJob(executable: dion, arguments: ["train", "--mesh", "dp=2,tp=2", "--data", Self.corpus.path,
                                                                  "--steps", "100000", "--collective-timeout", "3",
                                                                  "--checkpoint-dir", checkpoints.path, "--checkpoint-every", "10",
                                                                  "--metrics", metrics.path]
                                        + Self.model, ranks: 4, timeout: 120,
                                    launcher: try cluster.launcher()).run { _ in
                // On step 25 of the metrics file (rank 0 writes it itself; standard output reaches the
                // test seconds late through mpirun, as in hostKilled).
                guard cutAt == nil, Self.contents(metrics, limit: 1 << 16).contains("\"step\":25,") else { return }
                try? cluster.setLink("dion-h2", up: false)
                cutAt = Date()
            }
            let cut = try #require(cutAt, "the job never reached step 25: \(result)")
            let elapsed = Date().timeIntervalSince(cut)
            #expect(!result.timedOut && result.status != 0, "\(result)")
            #expect(elapsed < 20, "ended \(elapsed) s after the cut: \(result)")
            for rank in [0, 1] {
                #expect(result.standardError.contains("[rank \(rank)/4] error: collective watchdog: collective timeout: "
                                                      + "unresponsive ranks [2, 3]"), "\(result)")
            }
        }
        // The newest complete checkpoint continues on shared memory, on another mesh. It is at least
        // step 20 (the link went down after step 25 was written); more tiny steps may run before the
        // cut takes effect, so it can be later: the resumed run stops 50 steps after it.
        let newest = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path)
            .filter { $0.hasPrefix("step-") && !$0.hasSuffix("partial") }
            .compactMap { Int($0.dropFirst(5)) }.max()
        let stop = try #require(newest, "no complete checkpoint in \(checkpoints.path)") + 50
        let resumed = try MPIJob(executable: dion, arguments: ["train", "--mesh", "dp=2", "--data", Self.corpus.path,
                                                               "--steps", "100000", "--stop-at", "\(stop)", "--resume",
                                                               "--checkpoint-dir", checkpoints.path, "--checkpoint-every", "10"]
                                     + Self.model, ranks: 2, timeout: 120).run()
        #expect(resumed.status == 0, "\(resumed)")
        let from = resumed.standardOutput.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("resumed from "), let open = line.range(of: "(step ") else { return nil }
            return Int(line[open.upperBound...].prefix { $0.isNumber })
        }.first
        let step = try #require(from, "no resume line: \(resumed)")
        #expect(step >= 20 && step % 10 == 0 && step == stop - 50, "resumed from step \(step), newest checkpoint \(stop - 50)")
        #expect(resumed.standardOutput.contains("(step \(step), saved on dp=2,fsdp=1,tp=2)"), "\(resumed)")
        let last = String(stop)
        #expect(resumed.standardOutput.contains("step " + String(repeating: " ", count: 6 - last.count) + last + "/100000"),
                "\(resumed)")
    }

    @Test("a host whose processes are all killed ends the job at once, and the output says what was lost")
    func hostKilled() throws {
        let dion = try #require(Self.dion)
        let metrics = FileManager.default.temporaryDirectory.appendingPathComponent("dion-host-killed-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: metrics) }
        try Self.withCluster { cluster in
            nonisolated(unsafe) var killedAt: Date?
            nonisolated(unsafe) var kill = ""  // what the kill reported (pid:command …), or its error
            let launched = Date()
            let result = try MPIJob(executable: dion, arguments: ["train", "--mesh", "dp=2,fsdp=2", "--data", Self.corpus.path,
                                                                  "--steps", "100000", "--collective-timeout", "3",
                                                                  "--metrics", metrics.path]
                                        + Self.model, ranks: 4, timeout: 120,
                                    launcher: try cluster.launcher()).run { _ in
                // The kill follows step 10 in the metrics file, which rank 0 writes itself: the job's
                // standard output reaches the test through mpirun's forwarding, seconds late under load.
                guard killedAt == nil, Self.contents(metrics, limit: 1 << 16).contains("\"step\":10,") else { return }
                let records = ((try? Self.records(metrics)) ?? []).filter { $0["type"] as? String == "step" }.count
                do { kill = try cluster.killHost("dion-h2") } catch { kill = "kill-host failed: \(error)" }
                kill += " (\(String(format: "%.1f", Date().timeIntervalSince(launched))) s after the launch, "
                    + "\(records) step records in the metrics)"
                killedAt = Date()
            }
            let killed = try #require(killedAt, "the job never reached step 10: \(result)")
            let elapsed = Date().timeIntervalSince(killed)
            // Both ranks of the host and its Open MPI daemon were among the killed ("pid:command …").
            let commands = kill.split(whereSeparator: \.isWhitespace).compactMap { $0.split(separator: ":").last.map(String.init) }
            #expect(commands.filter { $0 == "dion" }.count == 2 && commands.contains("orted"), "kill: \(kill); \(result)")
            #expect(!result.timedOut && result.status != 0, "kill: \(kill); \(result)")
            #expect(elapsed < 15, "ended \(elapsed) s after the kill (\(kill)): \(result)")
            // Who reports the loss first varies from run to run: the ranks' TCP transport (the host's
            // address), the watchdog (its ranks), or mpirun itself, which sees its daemon there die.
            let text = result.standardError + result.standardOutput
            let reports = ["10.77.0.2", "unresponsive ranks [2, 3]", "lost communication with a remote daemon",
                           "unable to reliably start one or more daemons"]
            #expect(reports.contains { text.contains($0) }, "kill: \(kill); \(result)")
        }
    }

    /// The first `limit` bytes of the file at `url` ("" when it cannot be opened): a monitor polling
    /// every 20 ms need not reread the megabytes a running job appends.
    static func contents(_ url: URL, limit: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return "" }
        defer { try? handle.close() }
        return String(decoding: ((try? handle.read(upToCount: limit)) ?? nil) ?? Data(), as: UTF8.self)
    }

    static func losses(_ url: URL) throws -> [Double] {
        try records(url).filter { $0["type"] as? String == "step" }.compactMap { $0["train_loss"] as? Double }
    }

    static func summaryBytes(_ url: URL) throws -> [String: Int] {
        let summary = try records(url).last { $0["type"] as? String == "summary" }
        return summary?["bytes_by_axis"] as? [String: Int] ?? [:]
    }

    static func records(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
