import Checkpointing
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
        let (written, failure) = DurableFile.writeAll(bytes, to: descriptor)
        if let failure {
            if written > 0 { _ = ftruncate(descriptor, end) }
            throw TrainingError(.io, "metrics file \(path): writing a record failed: \(String(cString: strerror(failure)))")
        }
        end += off_t(written)
    }
}
