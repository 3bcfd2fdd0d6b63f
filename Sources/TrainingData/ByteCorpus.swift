import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A text as bytes (the model's vocabulary is the 256 byte values), split deterministically
/// into a training part and a validation part: the last `validationFraction` of the bytes are
/// validation, so the split depends only on the file.
public struct ByteCorpus: Sendable {
    /// Where the text came from (a path, or a description for in-memory text).
    public let source: String
    /// Training bytes.
    public let train: [UInt8]
    /// Validation bytes.
    public let validation: [UInt8]
    /// The share of the bytes held out for validation.
    public let validationFraction: Double

    /// The vocabulary size of byte-level text.
    public static let vocabularySize = 256

    /// Splits `bytes` into training and validation parts.
    ///
    /// - Parameters:
    ///   - validationFraction: Share of the bytes, taken from the end, held out for validation.
    ///   - minimumLength: Each part must be longer than this (a sequence plus its next byte).
    /// - Throws: `DataError.invalidArgument` for a fraction outside (0, 1); `.tooShort` when a
    ///   part cannot hold one sequence, naming the size of the whole text and the size it needs.
    public init(bytes: [UInt8], source: String, validationFraction: Double = 0.1,
                minimumLength: Int = 2) throws(DataError) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw DataError(.invalidArgument, "the validation fraction must be in (0, 1), got \(validationFraction)")
        }
        let validationCount = Int((Double(bytes.count) * validationFraction).rounded())
        let trainCount = bytes.count - validationCount
        self.source = source
        self.validationFraction = validationFraction
        self.train = Array(bytes[..<trainCount])
        self.validation = Array(bytes[trainCount...])
        try requireParts(longerThan: minimumLength)
    }

    /// Checks that both parts hold a sequence of `length` tokens plus its next byte.
    ///
    /// - Throws: `DataError.tooShort` naming the size of the whole text, of its two parts, and
    ///   about how long the text must be.
    public func requireParts(longerThan length: Int) throws(DataError) {
        guard train.count <= length || validation.count <= length else { return }
        // Both parts longer than L: the smaller part needs L + 1 bytes.
        let needed = (Double(length) + 1) / min(validationFraction, 1 - validationFraction)
        throw DataError(.tooShort, "\(source) has \(train.count + validation.count) bytes, split into \(train.count) for "
                        + "training and \(validation.count) (the last \(Int((validationFraction * 100).rounded()))%) for "
                        + "validation; each part must be longer than the sequence length \(length), so the text needs at "
                        + "least about \(Int(needed.rounded(.up))) bytes: use a longer text or a shorter --seq-len")
    }

    /// Reads a text file and splits it.
    ///
    /// - Throws: `DataError.missingFile` when `path` does not exist (with a hint for the
    ///   default corpus), `.unreadable` for a directory or a file that cannot be read (with the
    ///   system's reason), or the errors of `init(bytes:…)`.
    public init(contentsOf path: String, validationFraction: Double = 0.1, minimumLength: Int = 2) throws(DataError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(.missingFile, "no data file at \(path); run Scripts/fetch-data.sh for the default "
                            + "Shakespeare corpus or pass --data FILE")
        }
        guard !isDirectory.boolValue else {
            throw DataError(.unreadable, "\(path) is a directory; --data takes a text file")
        }
        try self.init(bytes: try Self.read(path), source: path, validationFraction: validationFraction,
                      minimumLength: minimumLength)
    }

    /// The whole file, read with `open`/`read` so that a failure carries the system's reason.
    static func read(_ path: String) throws(DataError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DataError(.unreadable, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw DataError(.unreadable, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}
