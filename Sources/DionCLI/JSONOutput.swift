import Foundation

/// Writes a command's `--json` output: Encodable records, never hand-built text (a quote in a name
/// or a NaN cannot corrupt the file; a non-finite number is an error, not silent garbage).
enum JSONOutput {
    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    }
}
