import ArgumentParser
import DionCore
import LinearAlgebra
import Optimizers

/// One optimizer of `dion bench optimizer` on one m × n matrix: its step closure over the matrix
/// and three gradients it cycles through, and the FLOPs of one step (what GFLOP/s divide).
struct BenchOptimizerCase {
    /// Steps the matrix with gradient `i mod 3`.
    let step: (Int) throws -> Void
    /// Dion's rank r (0 for the others).
    let rank: Int
    /// Dion2's and NorDion2's selected slices k (0 for the others).
    let selected: Int
    let flops: Double

    /// Newton–Schulz or Polar Express (5 steps) on an a × b matrix, a ≤ b: 5·(4a²b + 2a³).
    static func orthogonalizationFlops(_ m: Int, _ n: Int) -> Double {
        let (a, b) = (Double(min(m, n)), Double(max(m, n)))
        return 5 * (4 * a * a * b + 2 * a * a * a)
    }

    /// The case for `choice` on `x` (updated in place by `step`).
    static func make(_ choice: OptimizerChoice, x: Matrix, gradients: [Matrix]) throws -> BenchOptimizerCase {
        let (m, n) = (x.rows, x.columns)
        var x = x
        switch choice {
        case .dion(let rho):
            let dion = Optimizers.Dion(try DionConfiguration(rank: .fraction(rho)))
            let rank = try dion.configuration.rank(rows: m, columns: n)
            var state = try dion.initialState(for: x)
            let (p, r) = (Double(max(m, n)), Double(rank))
            let ks = Double(Orthonormalization.sketchRows(rank: rank))
            // 4 GEMMs of m·n·r (P₀, R, error feedback, update) + the orthonormalization: RCQR (S·P,
            // QR of k_s×r, two triangular solves, the Gram matrix) when p > r, else Householder QR
            // (sgeqrf + sorgqr, 2·(2pr² − 2r³/3)).
            let orthonormalization = p > r ? 2 * ks * p * r + 2 * ks * r * r + 2 * p * r * r * 3
                                           : 2 * (2 * p * r * r - 2 * r * r * r / 3)
            return BenchOptimizerCase(step: { i in
                _ = try dion.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01)
            }, rank: rank, selected: 0, flops: 8 * Double(m * n) * r + orthonormalization)
        case .muon:
            let muon = Muon(try Muon.Configuration())
            var state = try muon.initialState(for: x)
            return BenchOptimizerCase(step: { i in
                _ = try muon.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01)
            }, rank: 0, selected: 0, flops: orthogonalizationFlops(m, n))
        case .adamw:
            let adam = AdamW(try AdamW.Configuration())
            var state = try adam.initialState(for: x)
            return BenchOptimizerCase(step: { i in
                _ = try adam.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01)
            }, rank: 0, selected: 0, flops: 12 * Double(m * n))
        case .norMuon:
            let norMuon = NorMuon(try NorMuon.Configuration())
            var state = try norMuon.initialState(for: x)
            return BenchOptimizerCase(step: { i in
                _ = try norMuon.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01)
            }, rank: 0, selected: 0, flops: orthogonalizationFlops(m, n))
        case .dion2(let alpha), .norDion2(let alpha):
            // Polar Express on the k selected slices (k × the slice length).
            let dimension: SliceDimension = SliceDimension.selected(dion2Rule: choice.isDion2, rows: m, columns: n)
            let (p, q) = dimension == .rows ? (m, n) : (n, m)
            let k = SliceSelection.count(fraction: alpha, of: p)
            let step: (Int) throws -> Void
            if choice.isDion2 {
                let dion2 = Dion2(try Dion2.Configuration(fraction: alpha))
                var state = try dion2.initialState(for: x)
                step = { i in _ = try dion2.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01) }
            } else {
                let norDion2 = NorDion2(try NorDion2.Configuration(fraction: alpha))
                var state = try norDion2.initialState(for: x)
                step = { i in _ = try norDion2.step(parameter: &x, gradient: gradients[i % 3], state: &state, learningRate: 0.01) }
            }
            return BenchOptimizerCase(step: step, rank: 0, selected: k, flops: orthogonalizationFlops(k, q))
        }
    }
}

/// One line of `dion bench optimizer --json` (JSON Lines, appended).
struct BenchOptimizerRecord: Codable, Equatable {
    /// `dion`, `muon`, `adamw`, `dion2`, `normuon` or `nordion2`.
    var optimizer: String
    var shape: String
    /// Dion's ρ (1 for the others).
    var rank_fraction: Double
    /// Dion's rank r (0 for the others).
    var rank: Int
    /// Dion2's and NorDion2's α (absent for the others).
    var fraction: Double?
    /// Dion2's and NorDion2's selected slices k (absent for the others).
    var selected: Int?
    var threads: Int
    var median_s: Double
    var min_s: Double
    var max_s: Double
    var gflops: Double
    var sgemm_peak_gflops: Double
    var flops: Double
    var fraction_of_gemm_bound: Double
}
