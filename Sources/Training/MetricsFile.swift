import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The metrics file (JSON Lines), written with POSIX `write` so that a failure — a full disk,
/// `EFBIG`, an I/O error — is an error the trainer reports, never a crash. A record is written
/// whole or not at all: after a failed write the file is cut back to the end of the last whole
/// record (where the file can be truncated), so it stays parseable.
final class MetricsFile {
    /// Where the records go.
    let path: String
    private let descriptor: CInt
    /// The end of the last whole record.
    private var end: off_t

    /// Opens `path` for writing: replaced, or appended to when `append` is set (a resumed run).
    /// The parent directory is created if missing. The corresponding C function is `open`.
    ///
    /// - Throws: `TrainingError.io` naming the path and the reason.
    init(path: String, append: Bool) throws(TrainingError) {
        self.path = path
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        guard descriptor >= 0 else {
            throw TrainingError(.io, "cannot create the metrics file \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        end = max(0, lseek(descriptor, 0, SEEK_END))
    }

    deinit { close(descriptor) }

    /// Appends `bytes` (one or more whole records). The corresponding C function is `write`.
    ///
    /// - Throws: `TrainingError.io` with the reason (`No space left on device`), after cutting
    ///   the file back to its last whole record.
    func append(_ bytes: [UInt8]) throws(TrainingError) {
        let (written, failure) = Self.writeAll(bytes, to: descriptor)
        if let failure {
            if written > 0 { _ = ftruncate(descriptor, end) }
            throw TrainingError(.io, "metrics file \(path): writing a record failed: \(String(cString: strerror(failure)))")
        }
        end += off_t(written)
    }

    /// Writes all of `bytes` to `descriptor`, retrying on `EINTR` and after short writes.
    ///
    /// - Returns: The bytes written, and the `errno` that stopped the write early (`EIO` for a
    ///   write that wrote nothing without an error), or `nil` when all were written.
    static func writeAll(_ bytes: [UInt8], to descriptor: CInt) -> (written: Int, failure: Int32?) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(descriptor, base + offset, raw.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return (offset, written == 0 ? EIO : errno) }
            offset += written
        }
        return (offset, nil)
    }
}
