import Foundation
import MPIShim

extension CollectiveBenchmark {
    /// MPIShim against the raw C API in the same process, alternating blocks of calls: the
    /// wrapper's own cost without the run-to-run noise of comparing two separate jobs.
    func inProcessBaseline(_ ops: [BenchmarkedCollective], sizes: [Int], json: String?) throws {
        let g = comm.size
        if comm.rank == 0 {
            print("in-process baseline: median seconds per call of 21 alternating blocks, raw C API vs MPIShim "
                  + "(ledger \(comm.ledger.isEnabled ? "on" : "off"))")
            print("op              bytes    raw µs  MPIShim µs   ratio raw/MPIShim   extra µs")
        }
        var lines: [String] = []
        for op in ops {
            for bytes in sizes {
                let elements = Swift.max(g, bytes / MemoryLayout<Float>.stride / g * g)
                let input = pageAlignedFloats(elements, value: 1)
                let output = pageAlignedFloats(elements, value: 0)
                defer { input.deallocate(); output.deallocate() }
                let probeOp = _WrapperOverheadProbe.Operation(rawValue: op.rawValue) ?? .allreduce
                let estimate = try _WrapperOverheadProbe.measure(probeOp, on: comm, elements: elements, input: input,
                                                                 output: output, blocks: 1, callsPerBlock: 10).wrapped
                // Blocks of about 5 ms, so the per-block barrier and timing are noise-free overhead.
                var calls = [Int64(Swift.max(3, Swift.min(20_000, Int(0.005 / Swift.max(estimate, 1e-9)))))]
                try control.broadcast(&calls, root: 0)
                let r = try _WrapperOverheadProbe.measure(probeOp, on: comm, elements: elements, input: input,
                                                          output: output, blocks: 21, callsPerBlock: Int(calls[0]))
                let realBytes = elements * MemoryLayout<Float>.stride
                if comm.rank == 0 {
                    print(String(format: "%-13@ %9d %9.2f %11.2f %19.3f %10.2f", op.rawValue as NSString, realBytes,
                                 r.raw * 1e6, r.wrapped * 1e6, r.raw / r.wrapped, (r.wrapped - r.raw) * 1e6))
                }
                lines.append(String(format: "{\"op\":\"%@\",\"ranks\":%d,\"bytes\":%d,\"raw_seconds\":%.9g,"
                                    + "\"mpishim_seconds\":%.9g,\"ratio\":%.6g}", op.rawValue as NSString, g, realBytes,
                                    r.raw, r.wrapped, r.raw / r.wrapped))
            }
        }
        if comm.rank == 0, let json {
            try Data(("[\n" + lines.joined(separator: ",\n") + "\n]\n").utf8).write(to: URL(fileURLWithPath: json))
        }
    }
}
