import Foundation

/// A file the ledger could not write.
public struct LedgerExportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path that failed.
    public let path: String
    /// What went wrong.
    public let message: String

    public var description: String { "cannot write \(path): \(message)" }
}

extension CommunicationLedger {
    /// A table of totals per communicator, operation and type: calls, elements, MB sent and
    /// received per rank, wall time and the resulting bandwidth.
    public func formattedSummary(title: String = "Communication ledger (this rank)") -> String {
        let rows = totals().sorted { $0.key < $1.key }
        var lines = [title]
        let header = ["comm", "op", "dtype", "calls", "elements", "sent MB", "recv MB", "time s", "GB/s"]
        var table: [[String]] = [header]
        var total = LedgerTotals()
        for (key, value) in rows {
            total.add(value)
            table.append(row(key.communicator, key.operation.rawValue, key.datatype.rawValue, value))
        }
        table.append(row("total", "", "", total))
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for (index, cells) in table.enumerated() {
            let line = cells.enumerated().map { column, cell in
                column < 3 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                           : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
            lines.append(line)
            if index == 0 || index == table.count - 2 {
                lines.append(String(repeating: "-", count: line.count))
            }
        }
        let dropped = droppedRecords
        if dropped > 0 { lines.append("(\(dropped) older records folded into the totals; not in traces)") }
        return lines.joined(separator: "\n")
    }

    private func row(_ comm: String, _ op: String, _ dtype: String, _ t: LedgerTotals) -> [String] {
        let gbps = t.seconds > 0 ? Double(t.bytesSent) / t.seconds / 1e9 : 0
        return [comm, op, dtype, "\(t.calls)", "\(t.elements)", String(format: "%.3f", Double(t.bytesSent) / 1e6),
                String(format: "%.3f", Double(t.bytesReceived) / 1e6), String(format: "%.4f", t.seconds),
                String(format: "%.2f", gbps)]
    }

    /// One JSON object per record, one per line: `op`, `comm`, `comm_size`, `rank`, `dtype`,
    /// `count`, `bytes_sent`, `bytes_received`, `start_unix_ns`, `duration_ns`, `simulated_s`.
    public func jsonLines() -> String {
        records.map { r in
            "{\"op\":\"\(r.operation.rawValue)\",\"comm\":\(jsonString(r.communicator)),\"comm_size\":\(r.communicatorSize),"
                + "\"rank\":\(r.rank),\"dtype\":\"\(r.datatype.rawValue)\",\"count\":\(r.elementCount),"
                + "\"bytes_sent\":\(r.bytesSent),\"bytes_received\":\(r.bytesReceived),"
                + "\"start_unix_ns\":\(unixNanoseconds(r.startNanoseconds)),\"duration_ns\":\(r.durationNanoseconds),"
                + "\"simulated_s\":\(r.simulatedSeconds.map { "\($0)" } ?? "null")}\n"
        }.joined()
    }

    /// Writes `jsonLines()` to `path`.
    public func writeJSONLines(to path: String) throws(LedgerExportError) {
        try write(jsonLines(), to: path)
    }

    /// This rank's records as Chrome trace events (`ph: "X"`), on the track of process `pid`
    /// (named `rank <pid>`). Timestamps are Unix microseconds, so ranks on one host line up.
    public func chromeTraceEvents(pid: Int) -> [String] {
        var events = ["{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":0,\"args\":{\"name\":\"rank \(pid)\"}}",
                      "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":0,\"args\":{\"sort_index\":\(pid)}}"]
        for r in records {
            let ts = Double(unixNanoseconds(r.startNanoseconds)) / 1000
            let dur = Double(r.durationNanoseconds) / 1000
            events.append("{\"name\":\"\(r.operation.rawValue) \(jsonEscaped(r.communicator))\",\"cat\":\(jsonString(r.communicator)),"
                          + "\"ph\":\"X\",\"pid\":\(pid),\"tid\":0,\"ts\":\(String(format: "%.3f", ts)),"
                          + "\"dur\":\(String(format: "%.3f", dur)),\"args\":{\"dtype\":\"\(r.datatype.rawValue)\","
                          + "\"count\":\(r.elementCount),\"bytes_sent\":\(r.bytesSent),\"bytes_received\":\(r.bytesReceived),"
                          + "\"comm_size\":\(r.communicatorSize)}}")
        }
        return events
    }

    /// Writes a Chrome trace (`chrome://tracing`, Perfetto) of this rank's records alone.
    public func writeChromeTrace(to path: String, pid: Int = 0) throws(LedgerExportError) {
        try write(chromeTraceDocument(chromeTraceEvents(pid: pid).joined(separator: ",\n")), to: path)
    }

    /// Gathers every rank's records over `communicator` and writes one Chrome trace with one
    /// track per rank on rank `root`. Collective over `communicator`; the gathering itself is
    /// not recorded. `extraEvents` (complete Chrome trace event objects, e.g. compute spans with
    /// Unix-microsecond timestamps) are added to this rank's track.
    public func writeChromeTrace(to path: String, gatheringOver communicator: Communicator, root: Int = 0,
                                 extraEvents: [String] = []) throws {
        let local = Array((chromeTraceEvents(pid: communicator.rank) + extraEvents).joined(separator: ",\n").utf8)
        let wasEnabled = communicator.ledger.isEnabled
        communicator.ledger.isEnabled = false
        defer { communicator.ledger.isEnabled = wasEnabled }
        let (bytes, counts) = try communicator.allGatherVariable(local)
        guard communicator.rank == root else { return }
        var parts: [String] = []
        var offset = 0
        for count in counts {
            if count > 0 { parts.append(String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)) }
            offset += count
        }
        try write(chromeTraceDocument(parts.joined(separator: ",\n")), to: path)
    }

    private func chromeTraceDocument(_ events: String) -> String {
        "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n\(events)\n]}\n"
    }

    private func unixNanoseconds(_ monotonic: UInt64) -> Int64 {
        Int64(bitPattern: monotonic) &+ wallOffsetNanoseconds
    }

    private func write(_ text: String, to path: String) throws(LedgerExportError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw LedgerExportError(path: path, message: "\(error.localizedDescription)")
        }
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String { "\"\(jsonEscaped(text))\"" }

/// `text` with JSON's special characters escaped.
func jsonEscaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
