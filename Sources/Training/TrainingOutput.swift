import Checkpointing
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Rank 0's view of a run: progress lines on standard output, the metrics file (JSON Lines)
/// and the summary table. Other ranks hold an inactive instance.
///
/// A metrics write that fails (a full disk) is kept in `metricsFailure` and nothing more is
/// written; the trainer makes it every rank's error and stops cleanly (`Trainer.run`).
public final class TrainingOutput {
    let active: Bool
    /// Whether the run writes metrics (the same on every rank, though only rank 0 writes them).
    let writesMetrics: Bool
    private let metrics: MetricsFile?
    private let encoder: JSONEncoder
    /// The first failed metrics write or encoding; `nil` while every record made it.
    private(set) var metricsFailure: TrainingError?
    /// Rank 0's standard output (`nil` on the other ranks).
    private let console: ConsoleWriter?

    /// - Throws: `TrainingError.io` when the metrics file cannot be created.
    /// - Parameter append: continue an existing metrics file (a resumed run) instead of replacing it.
    public init(active: Bool, metricsPath: String?, append: Bool = false) throws(TrainingError) {
        self.active = active
        writesMetrics = metricsPath != nil
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        console = active ? ConsoleWriter() : nil
        guard active, let metricsPath else {
            metrics = nil
            return
        }
        metrics = try MetricsFile(path: metricsPath, append: append)
    }

    /// Checks before training that a file can be written at `path` (the Chrome trace, written
    /// after the last step): opens it for appending, and removes it again if this created it.
    /// The corresponding C function is `open`.
    ///
    /// - Throws: `TrainingError.io` naming the path and the reason.
    public static func checkWritable(_ path: String, purpose: String) throws(TrainingError) {
        let existed = FileManager.default.fileExists(atPath: path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TrainingError(.io, "cannot write the \(purpose) \(path): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        if !existed { unlink(path) }
    }

    /// Appends one JSON record to the metrics file; after a failure, does nothing.
    func write<T: Encodable>(_ record: T) {
        guard let metrics, metricsFailure == nil else { return }
        do {
            var data = try encoder.encode(record)
            data.append(0x0A)
            try metrics.append([UInt8](data))
        } catch let error as TrainingError {
            metricsFailure = error
        } catch {
            metricsFailure = TrainingError(.io, "metrics file \(metrics.path): cannot encode a \(T.self): \(error)")
        }
    }

    /// How long the end of a run waits for its last lines to reach standard output, and how long
    /// a run that stops (on an error too) waits before it leaves lines unwritten.
    static let flushSeconds = 30.0, closeSeconds = 2.0

    deinit { console?.close(timeout: Self.closeSeconds) }

    /// Writes `line` to standard output, on rank 0, from the console thread (`ConsoleWriter`):
    /// unbuffered, so it shows up under mpirun as it happens, and never holding up the step.
    func print(_ line: String) {
        console?.enqueue(line, droppable: false)
    }

    /// Blocks until every line printed so far is written (at most `flushSeconds`).
    func flush() { console?.drain(timeout: Self.flushSeconds) }

    /// `step 10/200 | loss 3.4521 | val 3.5012 | lr 2.00e-02 | 12345 tok/s | comm 1.23 MB/step | compute 0.31 s, comm 0.05 s (exposed 0.02 s)`:
/// compute is the time not blocked in MPI, comm the collectives' total duration, exposed the time blocked.
    func progress(_ r: StepRecord, total: Int, validation: Double?) {
        var line = "step \(pad(r.step, to: String(total).count))/\(total) | loss \(fixed(r.train_loss, 4))"
        if let validation { line += " | val \(fixed(validation, 4))" }
        line += " | lr \(String(format: "%.2e", r.lr)) | \(Int(r.tokens_per_s.rounded())) tok/s"
        line += " | comm \(fixed(Double(r.comm_bytes) / 1e6, 3)) MB/step"
        line += " | compute \(fixed(r.compute_seconds, 3)) s, comm \(fixed(r.comm_seconds, 3)) s"
            + " (exposed \(fixed(r.exposed_comm_seconds, 3)) s)"
        if let simulated = r.simulated_comm_seconds { line += " (simulated \(String(format: "%.2e", simulated)) s)" }
        if r.skipped { line += " | SKIPPED (non-finite)" }
        console?.enqueue(line, droppable: true)
    }

    /// The end-of-run table.
    func summary(_ s: SummaryRecord) {
        var lines = ["", "Summary", String(repeating: "-", count: 44)]
        func row(_ name: String, _ value: String) { lines.append(name.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
        row("steps", "\(s.steps) (\(s.skipped_steps) skipped)")
        row("final train loss", fixed(s.final_train_loss, 4))
        row("final validation loss", s.final_val_loss.map { fixed($0, 4) } ?? "-")
        row("tokens", "\(s.tokens)")
        row("wall time", "\(fixed(s.seconds, 2)) s (\(Int((Double(s.tokens) / max(s.seconds, 1e-9)).rounded())) tok/s)")
        row("compute / comm time", "\(fixed(s.compute_seconds, 2)) s / \(fixed(s.comm_seconds, 2)) s, exposed "
            + "\(fixed(s.exposed_comm_seconds, 2)) s (max over ranks)")
        if let simulated = s.simulated_comm_seconds { row("simulated comm time", "\(String(format: "%.3e", simulated)) s") }
        for (axis, bytes) in s.bytes_by_axis.sorted(by: { $0.key < $1.key }) {
            row("bytes sent on \(axis)", "\(fixed(Double(bytes) / 1e6, 3)) MB (\(fixed(Double(bytes) / 1e6 / Double(max(s.steps, 1)), 4)) MB/step, max over ranks)")
        }
        print(lines.joined(separator: "\n"))
    }

    private func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    private func pad(_ value: Int, to width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
