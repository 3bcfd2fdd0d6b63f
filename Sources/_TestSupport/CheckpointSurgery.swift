import Checkpointing
import Foundation

/// Edits one checkpoint's files the way a buggy tool or a crafted file would, then makes every
/// checksum valid again (the rank files' sizes and CRC-32Cs in the manifest, the manifest's own
/// CRC-32C), so that only the range checks stand between the edit and the trainer.
public struct CheckpointSurgery {
    /// The `step-…` directory.
    public let path: URL

    public init(path: URL) { self.path = path }

    public struct SurgeryError: Error, CustomStringConvertible {
        public let description: String

        public init(description: String) { self.description = description }
    }

    public func rankFile(_ rank: Int) -> URL { path.appendingPathComponent(String(format: "rank-%05d.bin", rank)) }
    public var manifestFile: URL { path.appendingPathComponent("manifest.json") }

    /// A rank file's JSON index (one object per tensor) and its data section.
    public static func split(_ bytes: [UInt8]) throws -> (index: [[String: Any]], data: [UInt8]) {
        guard bytes.count >= 20 else { throw SurgeryError(description: "not a rank file") }
        let length = bytes[12..<20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let index = try JSONSerialization.jsonObject(with: Data(bytes[20..<(20 + length)])) as? [[String: Any]]
        guard let index else { throw SurgeryError(description: "the index is not an array of objects") }
        return (index, Array(bytes[(20 + length)...]))
    }

    /// A rank file from raw index bytes and a data section (the header as a save writes it).
    public static func join(indexBytes: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = Array("DIONCKPT".utf8)
        withUnsafeBytes(of: UInt32(1).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(indexBytes.count).littleEndian) { out.append(contentsOf: $0) }
        return out + indexBytes + data
    }

    /// Rewrites rank `rank`'s index with `edit` (no reseal).
    public func editIndex(rank: Int, _ edit: (inout [[String: Any]]) throws -> Void) throws {
        var (index, data) = try Self.split(Array(try Data(contentsOf: rankFile(rank))))
        try edit(&index)
        let json = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
        try Data(Self.join(indexBytes: Array(json), data: data)).write(to: rankFile(rank))
    }

    /// Edits the fields of tensor `name` in rank `rank`'s index.
    public func editTensor(rank: Int, _ name: String, _ edit: (inout [String: Any]) -> Void) throws {
        try editIndex(rank: rank) { index in
            guard let k = index.firstIndex(where: { $0["name"] as? String == name }) else {
                throw SurgeryError(description: "no tensor \(name)")
            }
            edit(&index[k])
        }
    }

    /// Overwrites the values of the int64 tensor `name` in rank `rank`'s file (same length).
    public func setInt64s(rank: Int, _ name: String, _ values: [Int64]) throws {
        let bytes = Array(try Data(contentsOf: rankFile(rank)))
        let (index, _) = try Self.split(bytes)
        let length = bytes[12..<20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard let entry = index.first(where: { $0["name"] as? String == name }), let offset = entry["offset"] as? Int,
              entry["byteCount"] as? Int == 8 * values.count else {
            throw SurgeryError(description: "no int64 tensor \(name) of \(values.count) elements")
        }
        var out = bytes
        let start = 20 + length + offset
        for (k, value) in values.enumerated() {
            withUnsafeBytes(of: value.littleEndian) { out.replaceSubrange((start + 8 * k)..<(start + 8 * k + 8), with: $0) }
        }
        try Data(out).write(to: rankFile(rank))
    }

    /// The int64 values of tensor `name` in rank `rank`'s file.
    public func int64s(rank: Int, _ name: String) throws -> [Int64] {
        let path = self.path.path
        return try CheckpointStore.readRankFile(rank, at: path, manifest: try CheckpointStore.manifest(at: path))[name]?
            .int64s() ?? []
    }

    /// Edits the manifest as JSON (no reseal).
    public func editManifest(_ edit: (inout [String: Any]) -> Void) throws {
        guard var object = try JSONSerialization.jsonObject(with: try Data(contentsOf: manifestFile)) as? [String: Any] else {
            throw SurgeryError(description: "the manifest is not an object")
        }
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]).write(to: manifestFile)
    }

    /// Makes every checksum valid again: each rank file's size and CRC-32C in the manifest, then
    /// the manifest's own CRC-32C (when the edited manifest still decodes as one).
    public func reseal() throws {
        try editManifest { object in
            guard var files = object["files"] as? [[String: Any]] else { return }
            for k in files.indices {
                guard let name = files[k]["name"] as? String,
                      let bytes = try? Data(contentsOf: path.appendingPathComponent(name)) else { continue }
                files[k]["bytes"] = bytes.count
                files[k]["crc32c"] = Int(CRC32C.checksum(Array(bytes)))
            }
            object["files"] = files
        }
        let data = try Data(contentsOf: manifestFile)
        guard let decoded = try? JSONDecoder().decode(CheckpointManifest.self, from: data) else { return }
        try editManifest { $0["checksum"] = Int(decoded.computedChecksum) }
    }
}
