import LinearAlgebra

/// y = x / rms(x) ∘ g per row, rms(x) = √(mean(x²) + ε).
public enum RMSNorm {
    /// ε inside the square root.
    public static let epsilon: Float = 1e-6

    /// Forward: the normalized rows and each row's 1/rms (kept for the backward pass). One pass
    /// per row for the sum of squares, one to write y (no zero-fill of y first; y's buffer from
    /// `pool` when given).
    public static func forward(_ x: Matrix, gain: [Float], pool: ActivationPool? = nil) -> (y: Matrix, inverseRMS: [Float]) {
        let (n, d) = (x.rows, x.columns)
        precondition(gain.count == d, "RMSNorm: \(gain.count) gains for \(d) columns")
        var inverse = [Float](repeating: 0, count: n)
        let y = Matrix.uninitialized(rows: n, columns: d, pool: pool) { py in
            guard let py else { return }
            x.elements.withUnsafeBufferPointer { px in
                gain.withUnsafeBufferPointer { pg in
                    inverse.withUnsafeMutableBufferPointer { pinv in
                        for i in 0..<n {
                            let row = px.baseAddress.unsafelyUnwrapped + i * d, out = py + i * d
                            var sum: Float = 0
                            for j in 0..<d { sum += row[j] * row[j] }
                            let s = 1 / (sum / Float(d) + epsilon).squareRoot()
                            pinv[i] = s
                            for j in 0..<d { out[j] = row[j] * s * pg[j] }
                        }
                    }
                }
            }
        }
        return (y, inverse)
    }

    /// Backward: dx = s·(g∘dy − x̂·mean(g∘dy∘x̂)) with x̂ = s·x, and dg = Σ_rows dy∘x̂.
    public static func backward(_ dy: Matrix, x: Matrix, gain: [Float], inverseRMS: [Float]) -> (dx: Matrix, dGain: [Float]) {
        var dx = Matrix(rows: x.rows, columns: x.columns)
        let dGain = backward(dy, x: x, gain: gain, inverseRMS: inverseRMS, accumulatingInto: &dx)
        return (dx, dGain)
    }

    /// Backward fused with the residual add: `residual` += dx (the gradient through the norm
    /// joins the skip connection's in the same pass). Returns dg.
    public static func backward(_ dy: Matrix, x: Matrix, gain: [Float], inverseRMS: [Float],
                                accumulatingInto residual: inout Matrix) -> [Float] {
        let (n, d) = (x.rows, x.columns)
        precondition(dy.rows == n && dy.columns == d && residual.rows == n && residual.columns == d
                     && gain.count == d && inverseRMS.count == n, "RMSNorm backward: shapes")
        var dGain = [Float](repeating: 0, count: d)
        guard n > 0, d > 0 else { return dGain }
        x.elements.withUnsafeBufferPointer { px in
            dy.elements.withUnsafeBufferPointer { pdy in
                residual.elements.withUnsafeMutableBufferPointer { pr in
                    gain.withUnsafeBufferPointer { pg in
                        dGain.withUnsafeMutableBufferPointer { pdg in
                            for i in 0..<n {
                                let s = inverseRMS[i]
                                let xr = px.baseAddress.unsafelyUnwrapped + i * d, dyr = pdy.baseAddress.unsafelyUnwrapped + i * d
                                let out = pr.baseAddress.unsafelyUnwrapped + i * d
                                var dot: Float = 0
                                for j in 0..<d {
                                    let t = dyr[j] * xr[j] * s
                                    dot += pg[j] * t
                                    pdg[j] += t
                                }
                                let mean = dot / Float(d) * s
                                for j in 0..<d { out[j] += s * (pg[j] * dyr[j] - xr[j] * mean) }
                            }
                        }
                    }
                }
            }
        }
        return dGain
    }
}
