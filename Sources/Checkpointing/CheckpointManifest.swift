import Foundation

/// The manifest of one checkpoint, written last: the format version, what it was trained as
/// (the model configuration, compared exactly on load), the run that wrote it, the mesh, the step,
/// and the size and CRC-32C of every rank file.
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

    static let fileName = "manifest.json"

    func encoded() throws(CheckpointError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw CheckpointError(.corrupt, "cannot encode the manifest: \(error)")
        }
    }

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
        return manifest
    }
}
