import Foundation
import MPIShim

/// A checkpoint as one rank read it: the manifest and the tensors of the files it read.
public struct LoadedCheckpoint: Sendable {
    /// The manifest.
    public let manifest: CheckpointManifest
    /// Where it was read from.
    public let path: String
    /// The tensors of the files read, by file then by name.
    public let files: [Int: [String: CheckpointTensor]]

    /// The tensor `name` of rank `rank`'s file.
    ///
    /// - Throws: `CheckpointError.missingTensor` when that file was not read or lacks the tensor.
    public func tensor(_ name: String, rank: Int) throws(CheckpointError) -> CheckpointTensor {
        guard let tensor = files[rank]?[name] else {
            throw CheckpointError(.missingTensor, "\(path): rank file \(rank) has no tensor \(name)")
        }
        return tensor
    }
}

extension CheckpointStore {
    /// Reads and verifies the manifest of the checkpoint at `path` (no communication).
    public static func manifest(at path: String) throws(CheckpointError) -> CheckpointManifest {
        let file = (path as NSString).appendingPathComponent(CheckpointManifest.fileName)
        return try CheckpointManifest.decode(try DurableFile.read(file), path: file)
    }

    /// Reads rank file `rank` of the checkpoint at `path`, checking its size and CRC-32C
    /// against the manifest (no communication).
    public static func readRankFile(_ rank: Int, at path: String,
                                    manifest: CheckpointManifest) throws(CheckpointError) -> [String: CheckpointTensor] {
        guard manifest.files.indices.contains(rank) else {
            throw CheckpointError(.missingFile, "\(path) was written by \(manifest.worldSize) ranks; it has no file for "
                                  + "rank \(rank)")
        }
        let entry = manifest.files[rank]
        let file = (path as NSString).appendingPathComponent(entry.name)
        let bytes = try DurableFile.read(file)
        guard bytes.count == entry.bytes else {
            throw CheckpointError(.truncated, "\(file) has \(bytes.count) bytes; the manifest says \(entry.bytes)")
        }
        let crc = CRC32C.checksum(bytes)
        guard crc == entry.crc32c else {
            throw CheckpointError(.checksumMismatch, "\(file): CRC-32C \(String(crc, radix: 16)) differs from the "
                                  + "manifest's \(String(entry.crc32c, radix: 16)); the file is corrupt")
        }
        var tensors: [String: CheckpointTensor] = [:]
        for tensor in try RankFile.decode(bytes, path: file) { tensors[tensor.name] = tensor }
        return tensors
    }

    /// Loads the newest complete checkpoint. Collective over `communicator`: each rank reads the
    /// rank files `filesToRead(manifest)` returns (its own by default; another mesh reads what it
    /// needs to re-slice), and a refusal on any rank — no checkpoint, another configuration or
    /// format version, a missing, truncated or corrupt file — is thrown on every rank.
    public func loadLatest(configuration: String, communicator: Communicator,
                           filesToRead: ((CheckpointManifest) -> [Int])? = nil) throws(CheckpointError) -> LoadedCheckpoint {
        let found = try RankAgreement.run(over: communicator) { () throws(CheckpointError) -> LoadedCheckpoint in
            guard let latest = latest() else {
                throw CheckpointError(.notFound, "no complete checkpoint in \(directory)")
            }
            let manifest = try Self.manifest(at: latest.path)
            guard manifest.configuration == configuration else {
                let differing = Self.differences(saved: manifest.configuration, current: configuration)
                throw CheckpointError(.configurationMismatch, "\(latest.path) was written for another model "
                                      + "configuration" + (differing.isEmpty ? "" : " (\(differing.joined(separator: "; ")))")
                                      + ":\n  checkpoint: \(manifest.configuration)\n  this run:   \(configuration)")
            }
            let wanted = filesToRead?(manifest) ?? [communicator.rank]
            var files: [Int: [String: CheckpointTensor]] = [:]
            for rank in wanted { files[rank] = try Self.readRankFile(rank, at: latest.path, manifest: manifest) }
            return LoadedCheckpoint(manifest: manifest, path: latest.path, files: files)
        }
        guard let found else { throw CheckpointError(.notFound, "no checkpoint loaded from \(directory)") }
        return found
    }

    /// The parts of two `; `-separated configuration strings that differ, as
    /// `checkpoint X, this run Y` (empty when the strings are not of that form).
    static func differences(saved: String, current: String) -> [String] {
        let a = saved.components(separatedBy: "; "), b = current.components(separatedBy: "; ")
        guard a.count == b.count else { return [] }
        return zip(a, b).filter { $0 != $1 }.map { "checkpoint \($0), this run \($1)" }
    }
}
