import DionCore
import LinearAlgebra

/// Dion2's top-k slice selection (§4.1 steps 2–4), written once for Dion2 and NorDion2.
///
/// Rules (also in docs/optimizers.md):
/// - k = min(size, max(1, ⌈α·size⌉)) with α·size computed in Double, as the reference does
///   (so α = 0.28 on 25 rows gives ⌈7.000000000000001⌉ = 8).
/// - A slice's score is its L1 norm, accumulated in Double.
/// - The k highest scores win; equal scores are broken toward the **lower index** (the reference
///   leaves ties to `torch.topk`, i.e. unspecified); a NaN score ranks below every number.
/// - Indices are returned sorted ascending.
public enum SliceSelection {
    /// Which slices of a matrix are selected.
    public typealias Dimension = SliceDimension

    /// Dion2's single-process selection dimension: rows when m ≤ n, else columns (the shorter
    /// slices, so Polar Express runs on a k×n or m×k submatrix).
    public static func dion2Dimension(rows m: Int, columns n: Int) -> Dimension {
        SliceDimension.dion2(rows: m, columns: n)
    }

    /// Checks a selection fraction α.
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` unless 0 < α ≤ 1 (NaN and ±∞ included).
    public static func checkFraction(_ fraction: Double) throws(OptimizerError) {
        guard fraction.isFinite, fraction > 0, fraction <= 1 else {
            throw OptimizerError(.invalidHyperparameter, "fraction α must be in (0, 1], got \(fraction)")
        }
    }

    /// k = min(size, max(1, ⌈α·size⌉)), α·size in Double.
    public static func count(fraction: Double, of size: Int) -> Int {
        SelectiveSchedule.selectedCount(fraction: fraction, of: size)
    }

    /// The indices of the `k` highest scores, sorted ascending; ties go to the lower index and
    /// NaN ranks lowest.
    public static func topK(_ scores: [Double], count k: Int) -> [Int] {
        let s = scores.map { $0.isNaN ? -Double.infinity : $0 }
        let ranked = s.indices.sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
        return ranked.prefix(Swift.max(0, k)).sorted()
    }

    /// Selects the top-`k` slices of `momentum` along `dimension` by L1 norm, returns their
    /// indices and the slices as they were (k×n rows or m×k columns), then multiplies those
    /// slices of `momentum` by `decay` (error feedback on the selected slices only).
    public static func selectAndDecay(_ momentum: inout Matrix, along dimension: Dimension, count k: Int,
                                      decay: Float) -> (indices: [Int], slices: Matrix) {
        switch dimension {
        case .rows:
            let indices = topK(momentum.rowL1Norms, count: k)
            let slices = momentum.rows(at: indices)
            momentum.scaleRows(at: indices, by: decay)
            return (indices, slices)
        case .columns:
            let indices = topK(momentum.columnL1Norms, count: k)
            let slices = momentum.columns(at: indices)
            momentum.scaleColumns(at: indices, by: decay)
            return (indices, slices)
        }
    }
}
