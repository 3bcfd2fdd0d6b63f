import Foundation
import Testing
import _TestSupport

/// `dion train --optimizer dion2|normuon|nordion2` under a real `mpirun`: the loss curve of every
/// mesh equals one process's (within fp32 reassociation, as `TrainMultiRankTests.meshEquivalence`);
/// `--stop-at` and `--resume` on one mesh gives byte-identical final rank files (weights, M, V,
/// the selection and every step counter); a checkpoint resumes onto another mesh with the same
/// losses within tolerance; bad `--fraction` and `--selection` stop every rank before step 1.
@Suite("dion train with Dion2, NorMuon, NorDion2 (mpirun)", .serialized)
struct TrainSelectiveTests {
    /// One process's 2-step curve against 2 and 4 ranks on three meshes (4 runs per optimizer).
    @Test("every mesh gives the single-process loss curve",
          arguments: [("dion2", "exact"), ("dion2", "global"), ("normuon", "exact"), ("nordion2", "exact")])
    func meshEquivalence(optimizer: String, selection: String) throws {
        let extra = ["--selection", selection]
        let reference = TrainMultiRankTests.losses(try TrainMultiRankTests.train(ranks: 1, mesh: "dp=1", optimizer: optimizer,
                                                                                extra: extra))
        #expect(reference.count == 4, "train, val, train, val: \(reference)")
        #expect(reference.count == 4 && reference[2] < reference[0], "the loss falls: \(reference)")
        var compared = 0
        for (ranks, mesh) in [(2, "dp=2"), (4, "fsdp=2,tp=2"), (4, "dp=2,fsdp=2")] {
            let distributed = TrainMultiRankTests.losses(try TrainMultiRankTests.train(ranks: ranks, mesh: mesh,
                                                                                      optimizer: optimizer, extra: extra))
            #expect(distributed.count == reference.count, "\(optimizer) on \(mesh): \(distributed) vs \(reference)")
            for (a, b) in zip(reference, distributed) {
                #expect(abs(a - b) <= 2e-5 * abs(a), "\(optimizer) \(selection) on \(mesh): \(distributed) vs one process \(reference)")
                compared += 1
            }
        }
        #expect(compared == 12, "compared \(compared) losses, expected 3 meshes × 4")
    }

    /// Stop at step 3 of 6, resume on the same mesh: the same six losses and byte-identical
    /// step-6 rank files (so M, V, the selection and the counters were restored exactly).
    @Test("stop and resume on the same mesh is bit-identical",
          arguments: [(4, "dp=2,fsdp=2", "dion2", "exact"), (4, "fsdp=2,tp=2", "normuon", "exact"),
                      (4, "fsdp=2,tp=2", "nordion2", "exact"), (4, "fsdp=2,tp=2", "nordion2", "local"),
                      (1, "dp=1", "dion2", "exact")])
    func bitExactResume(ranks: Int, mesh: String, optimizer: String, selection: String) throws {
        let whole = TrainCheckpointTests.scratch(), split = TrainCheckpointTests.scratch()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        let extra = ["--selection", selection]
        let a = try TrainCheckpointTests.train(ranks: ranks, mesh: mesh, directory: whole, optimizer: optimizer, extra: extra)
        #expect(a.result.status == 0, "\(a.result)")
        let b1 = try TrainCheckpointTests.train(ranks: ranks, mesh: mesh, directory: split, optimizer: optimizer,
                                                extra: extra + ["--stop-at", "3"])
        #expect(b1.result.status == 0 && b1.result.standardOutput.contains("stopped at step 3 of 6"), "\(b1.result)")
        let b2 = try TrainCheckpointTests.train(ranks: ranks, mesh: mesh, directory: split, optimizer: optimizer,
                                                extra: extra + ["--resume"])
        #expect(b2.result.status == 0 && b2.result.standardOutput.contains("resumed from"), "\(b2.result)")
        #expect(a.losses.count == 6 && a.losses == b1.losses + b2.losses, "losses \(a.losses) vs \(b1.losses) + \(b2.losses)")
        let final = try TrainCheckpointTests.rankFiles(whole, step: 6), resumed = try TrainCheckpointTests.rankFiles(split, step: 6)
        #expect(final.count == ranks && final == resumed, "the step-6 rank files differ")
    }

    /// Stop at step 3 on one mesh, resume on another: the six losses of an uninterrupted run
    /// within 2e-5 relative (the state is cut into the new mesh's blocks; sums reassociate).
    @Test("a checkpoint resumes onto another mesh with the same losses",
          arguments: [("dion2", 4, "fsdp=2,tp=2", 2, "dp=2"), ("normuon", 4, "dp=2,fsdp=2", 4, "fsdp=2,tp=2"),
                      ("nordion2", 4, "fsdp=4", 1, "dp=1"), ("nordion2", 2, "tp=2", 4, "dp=2,fsdp=2")])
    func reshard(optimizer: String, fromRanks: Int, from: String, toRanks: Int, to: String) throws {
        let whole = TrainCheckpointTests.scratch(), split = TrainCheckpointTests.scratch()
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        let a = try TrainCheckpointTests.train(ranks: fromRanks, mesh: from, directory: whole, optimizer: optimizer, extra: [])
        let b1 = try TrainCheckpointTests.train(ranks: fromRanks, mesh: from, directory: split, optimizer: optimizer,
                                                extra: ["--stop-at", "3"])
        let b2 = try TrainCheckpointTests.train(ranks: toRanks, mesh: to, directory: split, optimizer: optimizer,
                                                extra: ["--resume"])
        #expect(b1.result.status == 0 && b2.result.status == 0, "\(b1.result) \(b2.result)")
        #expect(b2.result.standardOutput.contains("saved on \(try TrainCheckpointTests().meshDescription(from))"), "\(b2.result)")
        let resumed = b1.losses + b2.losses
        #expect(a.losses.count == 6 && resumed.count == 6, "\(a.losses) \(resumed)")
        for (x, y) in zip(a.losses, resumed) {
            #expect(abs(x - y) <= 2e-5 * abs(x), "\(optimizer) \(from) → \(to): \(a.losses) vs \(resumed)")
        }
    }

    /// A checkpoint saved with one fraction is refused by a run with another (the identity names it).
    @Test("a checkpoint of another fraction or selection is refused on every rank")
    func otherFractionRefused() throws {
        let directory = TrainCheckpointTests.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let saved = try TrainCheckpointTests.train(ranks: 2, mesh: "dp=2", directory: directory, optimizer: "dion2",
                                                   extra: ["--stop-at", "2"])
        #expect(saved.result.status == 0, "\(saved.result)")
        let other = try TrainCheckpointTests.train(ranks: 2, mesh: "dp=2", directory: directory, optimizer: "dion2",
                                                   extra: ["--resume", "--fraction", "0.5"])
        #expect(other.result.status != 0 && !other.result.timedOut, "\(other.result)")
        for rank in 0..<2 {
            #expect(other.result.standardError.contains("[rank \(rank)/2] error:")
                    && other.result.standardError.contains("another model configuration"), "\(other.result)")
        }
        #expect(other.losses.isEmpty, "no step ran: \(other.losses)")
    }

    /// `--wire bf16` in a real training run: every step sends fewer bytes over fsdp than with fp32
    /// (the exact halving of the optimizer's collectives is `DistributedDion2Tests.wire`; here the
    /// model's FSDP gathers share the axis), and the 2-step losses stay within 1e-2 relative of
    /// fp32's (each element of O rounded by ≤ 2⁻⁸).
    @Test("--wire bf16 in dion train: fewer fsdp bytes every step, losses close to fp32",
          arguments: ["muon", "dion2", "normuon"])
    func wire(optimizer: String) throws {
        let fp32 = try TrainMultiRankTests.train(ranks: 2, mesh: "fsdp=2", optimizer: optimizer, extra: ["--wire", "fp32"])
        let bf16 = try TrainMultiRankTests.train(ranks: 2, mesh: "fsdp=2", optimizer: optimizer, extra: ["--wire", "bf16"])
        let steps32 = fp32.filter { $0.type == "step" }, steps16 = bf16.filter { $0.type == "step" }
        #expect(steps32.count == 2 && steps16.count == 2)
        for (a, b) in zip(steps32, steps16) {
            let (fsdp32, fsdp16) = (a.bytes_by_axis?["fsdp"] ?? 0, b.bytes_by_axis?["fsdp"] ?? 0)
            #expect(fsdp16 > 0 && fsdp16 < fsdp32, "\(optimizer) step \(a.step ?? 0): fsdp bytes \(fsdp16) vs fp32 \(fsdp32)")
            #expect((b.comm_bytes ?? .max) < (a.comm_bytes ?? 0))
        }
        let (l32, l16) = (TrainMultiRankTests.losses(fp32), TrainMultiRankTests.losses(bf16))
        #expect(l32.count == 4 && l16.count == 4)
        for (a, b) in zip(l32, l16) { #expect(abs(a - b) <= 1e-2 * abs(a), "\(optimizer): bf16 \(l16) vs fp32 \(l32)") }
    }

    /// Each rank prints the error itself, and no step line appears.
    @Test("bad --fraction, --selection and --wire stop every rank before step 1",
          arguments: [(["--optimizer", "dion2", "--fraction", "0"], "--fraction"),
                      (["--optimizer", "nordion2", "--fraction", "1.5"], "--fraction"),
                      (["--optimizer", "muon", "--wire", "fp16"], "bad wire precision 'fp16'; use fp32 or bf16"),
                      (["--optimizer", "dion2", "--selection", "local", "--mesh", "dp=2"], "selection local picks the top-k"),
                      (["--optimizer", "nordion2", "--selection", "local", "--mesh", "tp=2"], "selection local picks the top-k")])
    func badFlags(flags: [String], message: String) throws {
        let dion = try #require(TrainMultiRankTests.dion)
        let arguments = ["train", "--data", TrainMultiRankTests.corpus.path, "--steps", "2", "--layers", "1", "--d-model", "16",
                         "--heads", "2", "--seq-len", "8", "--log-every", "1"] + flags
        let result = try MPIJob(executable: dion, arguments: arguments, ranks: 2, timeout: 60).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        for rank in 0..<2 {
            let line = result.standardError.split(separator: "\n").first { $0.hasPrefix("[rank \(rank)/2] error:") }
            #expect(line?.contains(message) == true, "rank \(rank): \(result)")
        }
        #expect(!result.standardOutput.contains("step 1/"), "\(result)")
    }
}
