import ArgumentParser
import Foundation
import LinearAlgebra
import Optimizers

/// `dion bench optimizer`: times one optimizer step on one matrix and compares the achieved
/// GFLOP/s with the single-thread sgemm peak measured in the same run.
struct BenchOptimizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizer",
        abstract: "Time one optimizer step (warm-up, then median/min/max of --steps) against the measured sgemm peak.")

    @Option(help: "dion, muon or adamw.")
    var optimizer: Kind = .dion

    /// `--optimizer`.
    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case dion, muon, adamw
    }

    @Option(help: "Matrix shape MxN (rows = fan-out, columns = fan-in).")
    var shape: String = "1024x1024"

    @Option(help: "Dion rank fraction ρ in (0, 1].")
    var rankFraction: Double = 0.25

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 1

    @Option(help: "Timed steps (at least 10).")
    var steps: Int = 10

    @Option(help: "Append the record to this JSON Lines file.")
    var json: String?

    func run() throws {
        let parts = shape.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--shape must be MxN, e.g. 4096x1024") }
        // The matrix, three gradients and the optimizer state must fit: at most 2^28 elements (1 GiB).
        let (elements, overflow) = parts[0].multipliedReportingOverflow(by: parts[1])
        guard !overflow, elements <= 1 << 28 else {
            throw ValidationError("--shape \(shape) has more than 2^28 elements; the benchmark keeps several such matrices")
        }
        guard steps >= 10, steps <= 1_000_000 else { throw ValidationError("--steps must be in 10...1000000, got \(steps)") }
        guard (1...1024).contains(threads) else {
            throw ValidationError("--threads must be in 1...1024 (OpenBLAS threads), got \(threads)")
        }
        guard rankFraction.isFinite, rankFraction > 0, rankFraction <= 1 else {
            throw ValidationError("--rank-fraction must be in (0, 1], got \(rankFraction)")
        }
        let (m, n) = (parts[0], parts[1])
        BLASThreads.set(1)
        let peak = try sgemmPeak()
        BLASThreads.set(threads)
        let generator = KeyedNormalGenerator(seed: 1)
        var x = generator.matrix(stream: 1, rows: m, columns: n, scale: 0.02)
        let gradients = (0..<3).map { generator.matrix(stream: 10 + UInt64($0), rows: m, columns: n) }
        var step: (Int) throws -> Void
        var rank = 0
        var flops: Double
        switch optimizer {
        case .dion:
            let dion = Optimizers.Dion(try DionConfiguration(rank: .fraction(rankFraction)))
            rank = try dion.configuration.rank(rows: m, columns: n)
            var state = try dion.initialState(for: x)
            step = { i in _ = try dion.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01) }
            let (p, r) = (Double(max(m, n)), Double(rank))
            let ks = Double(Orthonormalization.sketchRows(rank: rank))
            // 4 GEMMs of m·n·r (P₀, R, error feedback, update) + the orthonormalization: RCQR (S·P,
            // QR of k_s×r, two triangular solves, the Gram matrix) when p > r, else Householder QR
            // (sgeqrf + sorgqr, 2·(2pr² − 2r³/3)).
            let orthonormalization = p > r ? 2 * ks * p * r + 2 * ks * r * r + 2 * p * r * r * 3
                                           : 2 * (2 * p * r * r - 2 * r * r * r / 3)
            flops = 8 * Double(m * n) * r + orthonormalization
        case .muon:
            let muon = Muon(try Muon.Configuration())
            var state = try muon.initialState(for: x)
            step = { i in _ = try muon.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01) }
            let (a, b) = (Double(min(m, n)), Double(max(m, n)))
            flops = 5 * (4 * a * a * b + 2 * a * a * a)
        case .adamw:
            let adam = AdamW(try AdamW.Configuration())
            var state = try adam.initialState(for: x)
            step = { i in _ = try adam.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01) }
            flops = 12 * Double(m * n)
        }
        for i in 0..<2 { try step(i) }
        var times: [Double] = []
        for i in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            try step(i)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        times.sort()
        let median = times[times.count / 2]
        let gflops = flops / median / 1e9
        let bound = flops / (peak * 1e9 * Double(threads))
        let line = String(format: "%@ %dx%d rank %d threads %d: median %.4f s (min %.4f, max %.4f), %.1f GFLOP/s; "
                          + "sgemm peak %.1f GFLOP/s per thread; %.0f%% of the GEMM bound", optimizer.rawValue, m, n, rank,
                          threads, median, times.first ?? 0, times.last ?? 0, gflops, peak, bound / median * 100)
        print(line)
        if let json {
            let record = String(format: "{\"optimizer\":\"%@\",\"shape\":\"%dx%d\",\"rank_fraction\":%g,\"rank\":%d,"
                                + "\"threads\":%d,\"median_s\":%.6g,\"min_s\":%.6g,\"max_s\":%.6g,\"gflops\":%.4g,"
                                + "\"sgemm_peak_gflops\":%.4g,\"flops\":%.6g,\"fraction_of_gemm_bound\":%.4g}\n",
                                optimizer.rawValue, m, n, Double(optimizer == .dion ? rankFraction : 1), rank, threads, median,
                                times.first ?? 0, times.last ?? 0, gflops, peak, flops, bound / median)
            let handle = FileHandle(forWritingAtPath: json) ?? {
                FileManager.default.createFile(atPath: json, contents: nil)
                return FileHandle(forWritingAtPath: json)
            }()
            handle?.seekToEndOfFile()
            handle?.write(Data(record.utf8))
            try handle?.close()
        }
    }

    /// Best single-thread sgemm GFLOP/s on 1024³ over 10 runs.
    func sgemmPeak() throws -> Double {
        let a = KeyedNormalGenerator(seed: 2).matrix(stream: 1, rows: 1024, columns: 1024)
        var c = Matrix(rows: 1024, columns: 1024)
        var best = 0.0
        for _ in 0..<10 {
            let start = DispatchTime.now().uptimeNanoseconds
            try BLAS.gemm(a, a, into: &c)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, 2 * 1024 * 1024 * 1024 / seconds / 1e9)
        }
        return best
    }
}
