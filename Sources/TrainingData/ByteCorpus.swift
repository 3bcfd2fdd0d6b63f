import Foundation

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

    /// The vocabulary size of byte-level text.
    public static let vocabularySize = 256

    /// Splits `bytes` into training and validation parts.
    ///
    /// - Parameters:
    ///   - validationFraction: Share of the bytes, taken from the end, held out for validation.
    ///   - minimumLength: Each part must be longer than this (a sequence plus its next byte).
    /// - Throws: `DataError.invalidArgument` for a fraction outside (0, 1); `.tooShort` when a
    ///   part cannot hold one sequence.
    public init(bytes: [UInt8], source: String, validationFraction: Double = 0.1,
                minimumLength: Int = 2) throws(DataError) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw DataError(.invalidArgument, "the validation fraction must be in (0, 1), got \(validationFraction)")
        }
        let validationCount = Int((Double(bytes.count) * validationFraction).rounded())
        let trainCount = bytes.count - validationCount
        guard trainCount > minimumLength, validationCount > minimumLength else {
            throw DataError(.tooShort, "\(source) has \(bytes.count) bytes: \(trainCount) for training and "
                            + "\(validationCount) for validation, but each part needs more than \(minimumLength) "
                            + "(sequence length + 1)")
        }
        self.source = source
        self.train = Array(bytes[..<trainCount])
        self.validation = Array(bytes[trainCount...])
    }

    /// Reads a text file and splits it.
    ///
    /// - Throws: `DataError.missingFile` when `path` does not exist (with a hint for the
    ///   default corpus), `.unreadable`, or the errors of `init(bytes:…)`.
    public init(contentsOf path: String, validationFraction: Double = 0.1, minimumLength: Int = 2) throws(DataError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(.missingFile, "no data file at \(path); run Scripts/fetch-data.sh for the default "
                            + "Shakespeare corpus or pass --data FILE")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError(.unreadable, "cannot read \(path): \(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data), source: path, validationFraction: validationFraction,
                      minimumLength: minimumLength)
    }
}
