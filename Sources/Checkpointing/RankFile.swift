import Foundation

/// The file one rank writes: `DIONCKPT`, a little-endian UInt32 format version, a UInt64
/// index length, the JSON index (name, type, shapes, byte offset and count per tensor), then
/// the tensors' bytes back to back.
enum RankFile {
    static let magic = Array("DIONCKPT".utf8)

    struct Entry: Codable {
        var name: String
        var element: CheckpointTensor.Element
        var shape: [Int]
        var globalShape: [Int]?
        var offsets: [Int]?
        var offset: Int
        var byteCount: Int
    }

    static func encode(_ tensors: [CheckpointTensor]) throws(CheckpointError) -> [UInt8] {
        var entries: [Entry] = []
        var offset = 0
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else {
                throw CheckpointError(.corrupt, "tensor name \(t.name) appears twice in one rank's checkpoint")
            }
            entries.append(Entry(name: t.name, element: t.element, shape: t.shape, globalShape: t.globalShape,
                                 offsets: t.offsets, offset: offset, byteCount: t.bytes.count))
            offset += t.bytes.count
        }
        let index: Data
        do {
            // Sorted keys: the same tensors always give the same bytes (bit-exact resume is checked on files).
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            index = try encoder.encode(entries)
        } catch {
            throw CheckpointError(.corrupt, "cannot encode the tensor index: \(error)")
        }
        var out = magic
        withUnsafeBytes(of: UInt32(CheckpointManifest.currentFormatVersion).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(index.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: index)
        out.reserveCapacity(out.count + offset)
        for t in tensors { out.append(contentsOf: t.bytes) }
        return out
    }

    static func decode(_ bytes: [UInt8], path: String) throws(CheckpointError) -> [CheckpointTensor] {
        guard bytes.count >= 20, Array(bytes[0..<8]) == magic else {
            throw CheckpointError(.corrupt, "\(path) is not a dion-swift checkpoint file (bad magic)")
        }
        let version = bytes[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        guard version == CheckpointManifest.currentFormatVersion else {
            throw CheckpointError(.formatVersion, "\(path) has format version \(version); this build reads "
                                  + "\(CheckpointManifest.currentFormatVersion)")
        }
        let indexLength = bytes[12..<20].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard indexLength <= UInt64(bytes.count - 20) else {
            throw CheckpointError(.truncated, "\(path): the index runs past the end of the file")
        }
        let dataStart = 20 + Int(indexLength)
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: Data(bytes[20..<dataStart]))
        } catch {
            throw CheckpointError(.corrupt, "\(path): unreadable tensor index (\(error))")
        }
        var tensors: [CheckpointTensor] = []
        var names = Set<String>()
        let dataBytes = bytes.count - dataStart
        for e in entries {
            guard names.insert(e.name).inserted else {
                throw CheckpointError(.corrupt, "\(path): tensor \(e.name) appears twice in the index")
            }
            // offset + byteCount ≤ the data section, without overflow.
            let (end, overflow) = e.offset.addingReportingOverflow(e.byteCount)
            guard e.offset >= 0, e.byteCount >= 0, !overflow, end <= dataBytes else {
                throw CheckpointError(.truncated, "\(path): tensor \(e.name) (bytes \(e.offset) + \(e.byteCount)) does not "
                                      + "lie inside the \(dataBytes) data bytes of the file")
            }
            let start = dataStart + e.offset
            do throws(CheckpointError) {
                tensors.append(try CheckpointTensor(name: e.name, element: e.element, shape: e.shape,
                                                    globalShape: e.globalShape, offsets: e.offsets,
                                                    bytes: Array(bytes[start..<(start + e.byteCount)])))
            } catch {
                throw CheckpointError(error.code, "\(path): \(error.message)")
            }
        }
        return tensors
    }
}
