import LinearAlgebra

/// NorMuon's neuron-wise normalization (§4.2 steps 3–4), written once for NorMuon and NorDion2.
///
/// For an orthogonalized O (one row per neuron) and the rows' second moments V (a column):
/// vᵢ = mean_j O_ij²; V ← V + (1 − β₂)·(v − V); Ô = O / (√V + 1e-8) row by row; then
/// Ô ← Ô · ‖O‖_F / max(‖Ô‖_F, 1e-8), so the update keeps O's Frobenius norm.
public enum NeuronNormalization {
    /// The 1e-8 of √V + 1e-8 and of max(‖Ô‖_F, 1e-8) (fixed in the reference).
    public static let epsilon: Float = 1e-8

    /// The normalized Ô of `o`, updating `variance` (o.rows × 1) in place. Sums are in Double.
    public static func apply(_ o: Matrix, variance: inout Matrix, beta2: Float) -> Matrix {
        precondition(variance.rows == o.rows && variance.columns == 1, "one variance per row of O")
        let (rows, width) = (o.rows, o.columns)
        var normalized = o
        var before = 0.0
        var after = 0.0
        o.elements.withUnsafeBufferPointer { e in
            normalized.elements.withUnsafeMutableBufferPointer { out in
                for i in 0..<rows {
                    var squares = 0.0
                    for j in 0..<width { squares += Double(e[i * width + j]) * Double(e[i * width + j]) }
                    before += squares
                    let v = updatedVariance(variance.elements[i], rowSumOfSquares: squares, width: width, beta2: beta2)
                    variance.elements[i] = v
                    let divisor = divisor(variance: v)
                    for j in 0..<width {
                        let value = e[i * width + j] / divisor
                        out[i * width + j] = value
                        after += Double(value) * Double(value)
                    }
                }
            }
        }
        normalized.scale(rescaleFactor(sumOfSquaresBefore: before, after: after))
        return normalized
    }

    /// V ← V + (1 − β₂)·(mean_j O_ij² − V) for one row, from its sum of squares over `width` entries
    /// (what a sharded step adds up over the row's shards first).
    public static func updatedVariance(_ v: Float, rowSumOfSquares squares: Double, width: Int, beta2: Float) -> Float {
        let mean = Float(squares / Double(Swift.max(width, 1)))
        return v + (1 - beta2) * (mean - v)
    }

    /// The row divisor √V + 1e-8.
    public static func divisor(variance v: Float) -> Float { v.squareRoot() + epsilon }

    /// ‖O‖_F / max(‖Ô‖_F, 1e-8) from the two sums of squares (what a sharded step must add up
    /// over ranks before rescaling).
    public static func rescaleFactor(sumOfSquaresBefore before: Double, after: Double) -> Float {
        Float(before.squareRoot() / Swift.max(after.squareRoot(), Double(epsilon)))
    }
}
