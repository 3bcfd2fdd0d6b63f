#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Ends the process without running MPI_Finalize or atexit handlers that could block.
func exitProcess(_ code: Int32) -> Never {
    fflush(nil)
    _exit(code)
}

/// Starts a thread that ends the process with `code` after `seconds`, whatever the other threads
/// are doing. It does not flush: a blocked standard output must not keep it from ending.
func exitAfter(seconds: Double, code: Int32) {
    let thread = Thread {
        Thread.sleep(forTimeInterval: seconds)
        _exit(code)
    }
    thread.name = "exit-backstop"
    thread.start()
}

/// Writes a line to standard error, unbuffered.
func writeStandardError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    fflush(nil)
    var bytes = Array(line.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            return write(STDERR_FILENO, base + offset, raw.count - offset)
        }
        if written <= 0 { break }
        offset += written
    }
}
