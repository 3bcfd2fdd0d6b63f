import Foundation
import MPIShim

/// A directory of sharded checkpoints: `step-00000100/` holds one `rank-00003.bin` per rank and
/// a `manifest.json` written last. A checkpoint is written into `step-…partial/`: every rank
/// writes its file (temporary name, fsync, rename), rank 0 writes the manifest the same way and
/// renames the directory into place, then fsyncs the parent. A crash at any point leaves the
/// previous checkpoints untouched and at most a `.partial` directory, which is never read and is
/// removed by the next save.
///
/// Every checkpoint names the run that wrote it (`CheckpointManifest.run`): a store prunes only
/// its own run's checkpoints, keeping the newest `keep` of them, and never touches another run's
/// (`begin(_:communicator:)` refuses a fresh run in a directory that holds some).
public struct CheckpointStore: Sendable {
    /// The checkpoint directory.
    public let directory: String
    /// How many complete checkpoints of this run to keep.
    public let keep: Int
    /// The run this store saves as and prunes for: a random id for a fresh run, the resumed
    /// checkpoint's after `continueRun(of:)`.
    public internal(set) var run: String

    /// - Parameter run: the run id to save under (default: a new random one).
    /// - Throws: `CheckpointError.notWritable` when `keep < 1`.
    public init(directory: String, keep: Int = 2, run: String = UUID().uuidString) throws(CheckpointError) {
        guard keep >= 1 else { throw CheckpointError(.notWritable, "--keep must be at least 1, got \(keep)") }
        self.directory = directory
        self.keep = keep
        self.run = run
    }

    /// Continues the run that wrote `manifest` (a resume): later saves carry its id and pruning
    /// may remove its older checkpoints. A manifest without a run id leaves this store's own.
    public mutating func continueRun(of manifest: CheckpointManifest) {
        if let run = manifest.run { self.run = run }
    }

    package static func stepDirectory(_ step: Int) -> String { String(format: "step-%08d", step) }
    package static func rankFile(_ rank: Int) -> String { String(format: "rank-%05d.bin", rank) }

    /// The step of a checkpoint directory's name, `step-<digits>` (complete) or
    /// `step-<digits>.partial` (an unfinished save); `nil` for any other name.
    static func parseStepName(_ name: String) -> (step: Int, partial: Bool)? {
        guard name.hasPrefix("step-") else { return nil }
        var digits = name.dropFirst(5)
        let partial = digits.hasSuffix(".partial")
        if partial { digits = digits.dropLast(8) }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let step = Int(digits) else { return nil }
        return (step, partial)
    }

    /// Complete checkpoints (with a manifest, not partial), oldest first.
    public func complete() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard let parsed = Self.parseStepName(name), !parsed.partial else { return nil }
            let step = parsed.step
            let path = (directory as NSString).appendingPathComponent(name)
            let manifest = (path as NSString).appendingPathComponent(CheckpointManifest.fileName)
            return FileManager.default.fileExists(atPath: manifest) ? (step, path) : nil
        }.sorted { $0.0 < $1.0 }.map { (step: $0.0, path: $0.1) }
    }

    /// The newest complete checkpoint, if any.
    public func latest() -> (step: Int, path: String)? { complete().last }

    /// Writes this rank's tensors as checkpoint `step`. Collective over `communicator`: every
    /// rank must call it; a failure on any rank (unwritable directory, full disk) makes every
    /// rank throw the same error and leaves the previous checkpoints as they were.
    ///
    /// - Returns: The path of the new checkpoint.
    @discardableResult
    public func save(step: Int, tensors: [CheckpointTensor], configuration: String, mesh: String,
                     communicator: Communicator) throws(CheckpointError) -> String {
        let final = (directory as NSString).appendingPathComponent(Self.stepDirectory(step))
        let partial = final + ".partial"
        // 1. Rank 0 prepares the partial directory.
        _ = try RankAgreement.run(over: communicator) { () throws(CheckpointError) in
            guard communicator.rank == 0 else { return }
            try prepare(partial)
        }
        // 2. Every rank writes its file. On failure the partial directory goes away at once.
        let written: CheckpointManifest.FileEntry?
        do {
            written = try RankAgreement.run(over: communicator) { () throws(CheckpointError) -> CheckpointManifest.FileEntry in
                let bytes = try RankFile.encode(tensors)
                let entry = CheckpointManifest.FileEntry(name: Self.rankFile(communicator.rank), bytes: bytes.count,
                                                         crc32c: CRC32C.checksum(bytes))
                try DurableFile.write(bytes, to: (partial as NSString).appendingPathComponent(entry.name))
                return entry
            }
        } catch {
            if communicator.rank == 0 { try? FileManager.default.removeItem(atPath: partial) }
            throw error
        }
        guard let mine = written else { throw CheckpointError(.writeFailed, "no file written for rank \(communicator.rank)") }
        let entries: [Int64]
        do throws(MPIError) {
            entries = try communicator.allGather([Int64(mine.bytes), Int64(mine.crc32c)])
        } catch {
            throw CheckpointError(communication: error, while: "gathering the rank files' sizes and checksums")
        }
        // 3. Rank 0 writes the manifest last, renames the directory into place, prunes.
        _ = try RankAgreement.run(over: communicator) { () throws(CheckpointError) in
            guard communicator.rank == 0 else { return }
            let files = (0..<communicator.size).map {
                CheckpointManifest.FileEntry(name: Self.rankFile($0), bytes: Int(entries[2 * $0]),
                                             crc32c: UInt32(truncatingIfNeeded: entries[2 * $0 + 1]))
            }
            let manifest = CheckpointManifest(step: step, configuration: configuration, run: run, mesh: mesh,
                                              worldSize: communicator.size, files: files,
                                              createdUnixSeconds: Date().timeIntervalSince1970)
            try DurableFile.write(try manifest.encoded(),
                                  to: (partial as NSString).appendingPathComponent(CheckpointManifest.fileName))
            try DurableFile.syncDirectory(partial)
            if FileManager.default.fileExists(atPath: final) {
                // Only a checkpoint of this run is ever replaced.
                guard isOwn(final) else {
                    try? FileManager.default.removeItem(atPath: partial)
                    throw CheckpointError(.directoryInUse, "\(final) holds a checkpoint of another run; not replacing it")
                }
                try? FileManager.default.removeItem(atPath: final)
            }
            guard rename(partial, final) == 0 else {
                throw CheckpointError(.writeFailed, "renaming \(partial) to \(final) failed")
            }
            try DurableFile.syncDirectory(directory)
            prune()
        }
        return final
    }

    /// Checks before training starts that every rank can create and write the checkpoint
    /// directory (collective over `communicator`), so an unusable `--checkpoint-dir` fails at
    /// once on every rank rather than at the first save.
    ///
    /// - Throws: `CheckpointError.notWritable` on every rank, naming the first rank that failed.
    public func checkWritable(communicator: Communicator) throws(CheckpointError) {
        _ = try RankAgreement.run(over: communicator) { () throws(CheckpointError) in
            try createDirectory()
        }
    }

    private func createDirectory() throws(CheckpointError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.notWritable, "cannot create the checkpoint directory \(directory): "
                                  + "\(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CheckpointError(.notWritable, "the checkpoint directory \(directory) is not writable")
        }
    }

    private func prepare(_ partial: String) throws(CheckpointError) {
        try createDirectory()
        // Partial directories of interrupted saves are never read; clear them (only what has a
        // checkpoint's name and contents: `begin` has refused or removed another run's).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where Self.parseStepName(name)?.partial == true {
            let path = (directory as NSString).appendingPathComponent(name)
            if Self.isCheckpointShaped(path) { try? FileManager.default.removeItem(atPath: path) }
        }
        do {
            try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.notWritable, "cannot create \(partial): \(error.localizedDescription)")
        }
    }

    /// Removes this run's complete checkpoints beyond the newest `keep`; other runs' are left alone.
    private func prune() {
        let own = complete().filter { isOwn($0.path) }
        for old in own.dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
    }

    /// Whether the checkpoint at `path` has a readable manifest naming this store's run.
    func isOwn(_ path: String) -> Bool {
        (try? Self.manifest(at: path))?.run == run
    }
}
