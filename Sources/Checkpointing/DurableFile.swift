import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Durable file operations: write to a temporary name, fsync, rename; fsync directories after
/// renames, so a crash leaves either the old file or the complete new one.
package enum DurableFile {
    /// Writes all of `bytes` to `descriptor`, retrying on `EINTR` and after short writes.
    ///
    /// - Returns: The bytes written, and the `errno` that stopped the write early (`EIO` for a
    ///   write that wrote nothing without an error), or `nil` when all were written.
    package static func writeAll(_ bytes: [UInt8], to descriptor: CInt) -> (written: Int, failure: Int32?) {
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

    /// Writes `bytes` to `path` atomically and durably.
    static func write(_ bytes: [UInt8], to path: String) throws(CheckpointError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CheckpointError(.notWritable, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let (written, failure) = writeAll(bytes, to: fd)
        if let failure {
            close(fd)
            unlink(temporary)
            throw CheckpointError(.writeFailed, "writing \(temporary) failed after \(written) of \(bytes.count) "
                                  + "bytes: \(String(cString: strerror(failure)))")
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw CheckpointError(.writeFailed, "fsync of \(temporary) failed: \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError(.writeFailed, "renaming \(temporary) to \(path) failed: \(reason)")
        }
    }

    /// fsyncs a directory so that renames inside it survive a crash.
    static func syncDirectory(_ path: String) throws(CheckpointError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(.writeFailed, "cannot open directory \(path) to fsync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw CheckpointError(.writeFailed, "fsync of directory \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a whole file.
    static func read(_ path: String) throws(CheckpointError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CheckpointError(.missingFile, "\(path) does not exist")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(.corrupt, "\(path) cannot be read")
        }
        return [UInt8](data)
    }
}
