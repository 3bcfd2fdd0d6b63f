import Foundation
import Testing
@testable import Training

@Suite("Rank 0's console writer")
struct ConsoleWriterTests {
    /// A pipe whose ends no child process inherits. The MPI singleton that other suites of this
    /// process start forks Open MPI's `orted`, which keeps every inherited descriptor for the life
    /// of the process: a plain `pipe` open at that moment left a write end that never closed, and
    /// the reader below would wait for end of file forever (shown in isolation with a pipe open
    /// across `MPIRuntime.initialize`; the likely cause of a CI run that hung until its 90-minute
    /// limit after every other test had passed).
    /// (`pipe2` is not in Swift's Glibc module: the flag is set right after, a window of microseconds.)
    static func pipeClosedOnExec(_ ends: inout [CInt]) -> CInt {
        guard pipe(&ends) == 0 else { return -1 }
        return ends.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 } ? 0 : -1
    }

    /// Everything readable from `descriptor` until end of file.
    static func readAll(_ descriptor: CInt) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("a reader that stops reading holds up no caller: progress lines beyond the backlog are left out and counted, every other line arrives in order")
    func slowReader() throws {
        var ends: [CInt] = [0, 0]
        #expect(Self.pipeClosedOnExec(&ends) == 0)
        let writer = ConsoleWriter(descriptor: ends[1])
        // Nobody reads yet: the pipe (64 KiB) fills, the thread blocks in write, the queue fills.
        let progress = 20_000
        for i in 0..<progress {
            writer.enqueue("step \(i) " + String(repeating: "x", count: 80), droppable: true)
            if i % 5000 == 0 { writer.enqueue("checkpoint \(i / 5000)", droppable: false) }
        }
        writer.enqueue("summary", droppable: false)
        let leftOut = writer.totalLeftOut
        #expect(leftOut > 0 && leftOut < progress, "left out \(leftOut)")
        nonisolated(unsafe) var text = ""
        let readEnd = ends[0]
        let done = DispatchSemaphore(value: 0)
        Thread { text = Self.readAll(readEnd); done.signal() }.start()
        #expect(writer.close(timeout: 60))
        close(ends[1])
        #expect(done.wait(timeout: .now() + 60) == .success, "the reader got no end of file")
        close(ends[0])
        let lines = text.split(separator: "\n").map(String.init)
        // Every line that was not left out arrived, in order, whole.
        let steps = lines.filter { $0.hasPrefix("step ") }
        #expect(steps.count + leftOut == progress, "\(steps.count) written + \(leftOut) left out")
        let numbers = steps.compactMap { Int($0.dropFirst(5).prefix { $0.isNumber }) }
        #expect(numbers == numbers.sorted() && numbers.count == steps.count)
        #expect(steps.allSatisfy { $0.hasSuffix(String(repeating: "x", count: 80)) })
        #expect(lines.filter { $0.hasPrefix("checkpoint ") } == (0..<4).map { "checkpoint \($0)" })
        #expect(lines.last == "summary")
        // The notes account for every line left out.
        let noted = lines.compactMap { line -> Int? in
            guard line.hasPrefix("("), line.contains("not shown: standard output fell behind") else { return nil }
            return Int(line.dropFirst().prefix { $0.isNumber })
        }
        #expect(!noted.isEmpty && noted.reduce(0, +) == leftOut, "notes \(noted), left out \(leftOut)")
    }

    @Test("a reader that never reads bounds drain and close by their timeouts")
    func stuckReader() throws {
        var ends: [CInt] = [0, 0]
        #expect(Self.pipeClosedOnExec(&ends) == 0)
        let writer = ConsoleWriter(descriptor: ends[1])
        for i in 0..<2000 { writer.enqueue("checkpoint \(i) " + String(repeating: "y", count: 100), droppable: false) }
        #expect(!writer.drain(timeout: 0.2))  // 200 KB cannot pass a 64 KiB pipe nobody reads
        #expect(!writer.close(timeout: 0.2))
        // Unblock the thread so it ends: read everything, then the writer finishes.
        let readEnd = ends[0]
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var text = ""
        Thread { text = Self.readAll(readEnd); done.signal() }.start()
        #expect(writer.close(timeout: 60))
        close(ends[1])
        #expect(done.wait(timeout: .now() + 60) == .success, "the reader got no end of file")
        close(ends[0])
        #expect(text.split(separator: "\n").count == 2000)
    }

    @Test("drain waits for every queued line; lines after close are ignored")
    func drainAndClose() throws {
        var ends: [CInt] = [0, 0]
        #expect(Self.pipeClosedOnExec(&ends) == 0)
        let writer = ConsoleWriter(descriptor: ends[1])
        for i in 0..<100 { writer.enqueue("line \(i)", droppable: i % 2 == 0) }
        #expect(writer.drain(timeout: 60))
        #expect(writer.close(timeout: 60))
        writer.enqueue("late", droppable: false)
        close(ends[1])
        let lines = Self.readAll(ends[0]).split(separator: "\n").map(String.init)
        close(ends[0])
        #expect(lines == (0..<100).map { "line \($0)" })
        #expect(writer.totalLeftOut == 0)
    }
}
