import ArgumentParser
import DionCore
import Foundation
import LinearAlgebra
import Optimizers

/// `dion bench optimizer`: times one optimizer step on one matrix and compares the achieved
/// GFLOP/s with the single-thread sgemm peak measured in the same run (`BenchOptimizerCase` for
/// each optimizer's step and FLOPs; one `BenchOptimizerRecord` JSON line per optimizer).
struct BenchOptimizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizer",
        abstract: "Time one optimizer step (warm-up, then median/min/max of --steps) against the measured sgemm peak.")

    @Option(help: "dion, muon or adamw (with --rank-fraction); see --optimizers for the others.")
    var optimizer: Kind = .dion

    /// `--optimizer`: the three optimizers with no hyperparameter in their name.
    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case dion, muon, adamw
    }

    @Option(help: "Instead of --optimizer: comma-separated dion:ρ, muon, adamw, dion2:α, nordion2:α, normuon (e.g. dion2:0.25,nordion2:0.25,normuon), each timed in turn.")
    var optimizers: String?

    @Option(help: "Matrix shape MxN (rows = fan-out, columns = fan-in).")
    var shape: String = "1024x1024"

    @Option(help: "Dion rank fraction ρ in (0, 1] (with --optimizer dion).")
    var rankFraction: Double = 0.25

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 1

    @Option(help: "Timed steps (at least 10).")
    var steps: Int = 10

    @Option(help: "Append one JSON record per optimizer to this JSON Lines file.")
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
        let choices = try optimizers.map { list in try list.split(separator: ",").map { try OptimizerChoice.parse(String($0)) } }
            ?? [try single()]
        let (m, n) = (parts[0], parts[1])
        BLASThreads.set(1)
        let peak = try sgemmPeak()
        BLASThreads.set(threads)
        let generator = KeyedNormalGenerator(seed: 1)
        let x = generator.matrix(stream: 1, rows: m, columns: n, scale: 0.02)
        let gradients = (0..<3).map { generator.matrix(stream: 10 + UInt64($0), rows: m, columns: n) }
        for choice in choices {
            let bench = try BenchOptimizerCase.make(choice, x: x, gradients: gradients)
            for i in 0..<2 { try bench.step(i) }
            var times: [Double] = []
            for i in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                try bench.step(i)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
            times.sort()
            let median = times[times.count / 2]
            let bound = bench.flops / (peak * 1e9 * Double(threads))
            let record = BenchOptimizerRecord(
                optimizer: choice.name, shape: "\(m)x\(n)", rank_fraction: choice.rankFraction ?? 1, rank: bench.rank,
                fraction: choice.selectionFraction, selected: choice.selectionFraction == nil ? nil : bench.selected,
                threads: threads, median_s: median, min_s: times.first ?? 0, max_s: times.last ?? 0,
                gflops: bench.flops / median / 1e9, sgemm_peak_gflops: peak, flops: bench.flops,
                fraction_of_gemm_bound: bound / median)
            let detail = choice.selectionFraction.map { " α \($0) k \(bench.selected)" } ?? (choice.rankFraction == nil ? "" : " rank \(bench.rank)")
            print(String(format: "%@ %dx%d%@ threads %d: median %.4f s (min %.4f, max %.4f), %.1f GFLOP/s; "
                         + "sgemm peak %.1f GFLOP/s per thread; %.0f%% of the GEMM bound", choice.name, m, n, detail, threads,
                         median, record.min_s, record.max_s, record.gflops, peak, record.fraction_of_gemm_bound * 100))
            if let json { try JSONOutput.append(record, to: json) }
        }
    }

    /// `--optimizer` with `--rank-fraction`, as one choice.
    private func single() throws -> OptimizerChoice {
        switch optimizer {
        case .dion:
            guard rankFraction.isFinite, rankFraction > 0, rankFraction <= 1 else {
                throw ValidationError("--rank-fraction must be in (0, 1], got \(rankFraction)")
            }
            return .dion(rankFraction: rankFraction)
        case .muon: return .muon
        case .adamw: return .adamw
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
