import Foundation

/// The manifest of one checkpoint, written last: the format version, what it was trained as
/// (the model configuration, compared exactly on load), the run that wrote it, the mesh, the step,
/// and the size and CRC-32C of every rank file, sealed by a CRC-32C of its own (`checksum`).
///
/// Every field is range-checked when a manifest is read (`decode(_:path:)`); manifests written
/// before manifests were checksummed (no `checksum`) are read under the same checks.
public struct CheckpointManifest: Sendable, Codable, Equatable {
    /// The format this build writes and reads.
    public static let currentFormatVersion: UInt32 = 1

    /// One rank file.
    public struct FileEntry: Sendable, Codable, Equatable {
        public let name: String
        public let bytes: Int
        public let crc32c: UInt32
    }

    public let formatVersion: UInt32
    /// The training step the checkpoint holds (the state after this many steps).
    public let step: Int
    /// The model configuration as canonical JSON; a checkpoint loads only into the same one.
    public let configuration: String
    /// The run that wrote it: a fresh run's random id, kept by every run that resumes from it.
    /// Pruning removes only checkpoints of the pruning run; `nil` in checkpoints written before
    /// runs had ids (those are never pruned).
    public let run: String?
    /// The mesh it was written on, `dp=R,fsdp=F,tp=T`.
    public let mesh: String
    /// Number of processes that wrote it (one file each).
    public let worldSize: Int
    /// The rank files, in rank order.
    public let files: [FileEntry]
    /// When it was written (Unix seconds).
    public let createdUnixSeconds: Double
    /// CRC-32C of every other field (`computedChecksum`); `nil` in manifests written before
    /// manifests were checksummed.
    public let checksum: UInt32?

    /// A manifest of the current format, sealed with its checksum.
    init(step: Int, configuration: String, run: String?, mesh: String, worldSize: Int, files: [FileEntry],
         createdUnixSeconds: Double) {
        self.init(formatVersion: Self.currentFormatVersion, step: step, configuration: configuration, run: run, mesh: mesh,
                  worldSize: worldSize, files: files, createdUnixSeconds: createdUnixSeconds, checksum: nil)
        self = sealed()
    }

    private init(formatVersion: UInt32, step: Int, configuration: String, run: String?, mesh: String, worldSize: Int,
                 files: [FileEntry], createdUnixSeconds: Double, checksum: UInt32?) {
        self.formatVersion = formatVersion
        self.step = step
        self.configuration = configuration
        self.run = run
        self.mesh = mesh
        self.worldSize = worldSize
        self.files = files
        self.createdUnixSeconds = createdUnixSeconds
        self.checksum = checksum
    }

    /// This manifest with `checksum` set to `computedChecksum` (what a save writes; tests that
    /// craft a manifest reseal it so that only the range checks can refuse it).
    package func sealed() -> CheckpointManifest {
        CheckpointManifest(formatVersion: formatVersion, step: step, configuration: configuration, run: run, mesh: mesh,
                           worldSize: worldSize, files: files, createdUnixSeconds: createdUnixSeconds,
                           checksum: computedChecksum)
    }

    /// The CRC-32C of every field but `checksum`, over a canonical text of the decoded values
    /// (independent of the JSON's spacing and key order; the time by its bit pattern).
    public var computedChecksum: UInt32 {
        var text = "dion-swift manifest\n\(formatVersion)\n\(step)\n\(configuration.utf8.count):\(configuration)\n"
        text += (run.map { "\($0.utf8.count):\($0)" } ?? "-") + "\n\(mesh.utf8.count):\(mesh)\n\(worldSize)\n"
        for file in files { text += "\(file.name.utf8.count):\(file.name) \(file.bytes) \(file.crc32c)\n" }
        text += "\(createdUnixSeconds.bitPattern)\n"
        return CRC32C.checksum(Array(text.utf8))
    }

    static let fileName = "manifest.json"

    package func encoded() throws(CheckpointError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw CheckpointError(.corrupt, "cannot encode the manifest: \(error)")
        }
    }

    /// Parses and checks a manifest: its format version, its checksum (when it has one) and
    /// the range of every field, so that nothing read from it can trap later.
    static func decode(_ bytes: [UInt8], path: String) throws(CheckpointError) -> CheckpointManifest {
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: Data(bytes))
        } catch {
            throw CheckpointError(.corrupt, "\(path) is not a readable manifest (\(error))")
        }
        guard manifest.formatVersion == currentFormatVersion else {
            throw CheckpointError(.formatVersion, "\(path) has format version \(manifest.formatVersion); this build "
                                  + "reads \(currentFormatVersion)")
        }
        if let checksum = manifest.checksum, checksum != manifest.computedChecksum {
            throw CheckpointError(.checksumMismatch, "\(path): the manifest's CRC-32C \(String(manifest.computedChecksum, radix: 16)) "
                                  + "differs from the \(String(checksum, radix: 16)) it records; the manifest is corrupt")
        }
        try manifest.validate(path: path)
        return manifest
    }

    /// The range checks: a step ≥ 0, a world size ≥ 1 with one entry per rank, named as a save
    /// names them (`rank-00003.bin`: nothing outside the checkpoint directory is ever read),
    /// byte counts ≥ 0 and a finite time.
    func validate(path: String) throws(CheckpointError) {
        func refuse(_ what: String) -> CheckpointError { CheckpointError(.corrupt, "\(path): \(what)") }
        guard step >= 0 else { throw refuse("step \(step) is negative") }
        guard worldSize >= 1 else { throw refuse("worldSize \(worldSize) is not a number of processes") }
        guard files.count == worldSize else {
            throw refuse("worldSize \(worldSize) but \(files.count) rank files are listed")
        }
        for (rank, file) in files.enumerated() {
            guard file.name == CheckpointStore.rankFile(rank) else {
                throw refuse("rank \(rank)'s file is named '\(file.name)', not \(CheckpointStore.rankFile(rank))")
            }
            guard file.bytes >= 0 else { throw refuse("\(file.name) has a negative size \(file.bytes)") }
        }
        guard createdUnixSeconds.isFinite else { throw refuse("createdUnixSeconds \(createdUnixSeconds) is not a time") }
    }
}
