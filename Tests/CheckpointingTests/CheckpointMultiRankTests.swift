import Foundation
import Testing
import _TestSupport

/// Sharded checkpoints under a real `mpirun`: every rank writes its file, and every refusal or
/// failure reaches every rank.
@Suite("Checkpoints (mpirun)", .serialized)
struct CheckpointMultiRankTests {
    static let runner = MPIJob.builtProduct("_MPITestRunner")

    func job(_ arguments: [String], ranks: Int) throws -> MPIJob.Result {
        try MPIJob(executable: try #require(Self.runner), arguments: arguments, ranks: ranks, timeout: 60).run()
    }

    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-mpi-\(UUID().uuidString)").path
    }

    @Test("save and load on every rank; a crash mid-save and a full disk leave the last checkpoint",
          arguments: [1, 2, 4])
    func lifecycle(ranks: Int) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for step in [1, 2] {
            let saved = try job(["checkpoint-save", dir, "\(step)"], ranks: ranks)
            #expect(saved.status == 0, "\(saved)")
            for r in 0..<ranks { #expect(saved.standardOutput.contains("SAVED rank \(r) "), "\(saved)") }
        }
        let crash = try job(["checkpoint-save", dir, "3", "die-after-file"], ranks: ranks)
        #expect(crash.status != 0 && !crash.timedOut, "\(crash)")
        let full = try job(["checkpoint-save", dir, "4", "huge"], ranks: ranks)
        #expect(full.status == 0, "\(full)")
        for r in 0..<ranks {
            #expect(full.standardOutput.contains("REFUSED rank \(r): checkpoint write failed"), "\(full)")
        }
        let loaded = try job(["checkpoint-load", dir], ranks: ranks)
        for r in 0..<ranks { #expect(loaded.standardOutput.contains("LOADED rank \(r) step 2"), "\(loaded)") }
        let other = try job(["checkpoint-load", dir, "{\"other\":1}"], ranks: ranks)
        for r in 0..<ranks {
            #expect(other.standardOutput.contains("REFUSED rank \(r): checkpoint of another model configuration"), "\(other)")
        }
    }

    @Test("a corrupt file of one rank is refused on every rank, naming that rank")
    func corruptOneRank() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try job(["checkpoint-save", dir, "1"], ranks: 4)
        let file = dir + "/step-00000001/rank-00002.bin"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 1] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: file))
        let result = try job(["checkpoint-load", dir], ranks: 4)
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        for r in 0..<4 {
            #expect(result.standardOutput.contains("REFUSED rank \(r): checksum mismatch"), "\(result)")
        }
        #expect(result.standardOutput.contains("(on rank 2)"), "\(result)")
        try FileManager.default.removeItem(atPath: file)
        let missing = try job(["checkpoint-load", dir], ranks: 4)
        for r in 0..<4 { #expect(missing.standardOutput.contains("REFUSED rank \(r): missing checkpoint file"), "\(missing)") }
    }
}
