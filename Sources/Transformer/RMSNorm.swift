import LinearAlgebra

/// y = x / rms(x) ∘ g per row, rms(x) = √(mean(x²) + ε).
public enum RMSNorm {
    /// ε inside the square root.
    public static let epsilon: Float = 1e-6

    /// Forward: the normalized rows and each row's 1/rms (kept for the backward pass).
    public static func forward(_ x: Matrix, gain: [Float]) -> (y: Matrix, inverseRMS: [Float]) {
        let (n, d) = (x.rows, x.columns)
        var y = Matrix(rows: n, columns: d)
        var inverse = [Float](repeating: 0, count: n)
        x.elements.withUnsafeBufferPointer { px in
            y.elements.withUnsafeMutableBufferPointer { py in
                for i in 0..<n {
                    var sum: Float = 0
                    for j in 0..<d { sum += px[i * d + j] * px[i * d + j] }
                    let s = 1 / (sum / Float(d) + epsilon).squareRoot()
                    inverse[i] = s
                    for j in 0..<d { py[i * d + j] = px[i * d + j] * s * gain[j] }
                }
            }
        }
        return (y, inverse)
    }

    /// Backward: dx = s·(g∘dy − x̂·mean(g∘dy∘x̂)) with x̂ = s·x, and dg = Σ_rows dy∘x̂.
    public static func backward(_ dy: Matrix, x: Matrix, gain: [Float], inverseRMS: [Float]) -> (dx: Matrix, dGain: [Float]) {
        let (n, d) = (x.rows, x.columns)
        var dx = Matrix(rows: n, columns: d)
        var dGain = [Float](repeating: 0, count: d)
        x.elements.withUnsafeBufferPointer { px in
            dy.elements.withUnsafeBufferPointer { pdy in
                dx.elements.withUnsafeMutableBufferPointer { pdx in
                    for i in 0..<n {
                        let s = inverseRMS[i]
                        var dot: Float = 0
                        for j in 0..<d {
                            let xhat = px[i * d + j] * s
                            dot += gain[j] * pdy[i * d + j] * xhat
                            dGain[j] += pdy[i * d + j] * xhat
                        }
                        let mean = dot / Float(d)
                        for j in 0..<d { pdx[i * d + j] = s * (gain[j] * pdy[i * d + j] - px[i * d + j] * s * mean) }
                    }
                }
            }
        }
        return (dx, dGain)
    }
}
