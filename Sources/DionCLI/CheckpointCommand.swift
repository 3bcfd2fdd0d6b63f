import ArgumentParser
import Checkpointing
import Foundation

/// `dion checkpoint …`: tools for checkpoint directories.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect checkpoint directories.",
        subcommands: [CheckpointInspect.self])
}

/// `dion checkpoint inspect DIR`: the manifest, the files and every tensor with its shapes and
/// size, after verifying sizes and checksums. Needs no MPI.
struct CheckpointInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a checkpoint's manifest, files and tensors (DIR is a checkpoint directory or a step in it).")

    @Argument(help: "A checkpoint directory (the newest complete step is shown) or one step-… directory in it.")
    var directory: String

    func run() throws {
        let path: String
        if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("manifest.json")) {
            path = directory
        } else if let latest = try CheckpointStore(directory: directory).latest() {
            path = latest.path
        } else {
            throw CheckpointError(.notFound, "no complete checkpoint in \(directory)")
        }
        let manifest = try CheckpointStore.manifest(at: path)
        print("checkpoint \(path)")
        print("  format version \(manifest.formatVersion), step \(manifest.step), mesh \(manifest.mesh), "
              + "\(manifest.worldSize) rank files, written \(Date(timeIntervalSince1970: manifest.createdUnixSeconds))")
        print("  configuration \(manifest.configuration)")
        print("  run \(manifest.run ?? "- (written before runs had ids; never pruned)")")
        print("  manifest crc32c " + (manifest.checksum.map { "\(String($0, radix: 16)) (verified)" }
                                      ?? "- (written before manifests were checksummed; range-checked)"))
        for (rank, file) in manifest.files.enumerated() {
            let tensors = try CheckpointStore.readRankFile(rank, at: path, manifest: manifest)
            print("  \(file.name): \(file.bytes) bytes, crc32c \(String(file.crc32c, radix: 16)) (verified), "
                  + "\(tensors.count) tensors")
            for tensor in tensors.values.sorted(by: { $0.name < $1.name }) {
                let global = tensor.globalShape.map { " of \($0) at \(tensor.offsets ?? [])" } ?? ""
                print("    \(tensor.name): \(tensor.element.rawValue) \(tensor.shape)\(global), \(tensor.bytes.count) bytes")
            }
        }
    }
}
