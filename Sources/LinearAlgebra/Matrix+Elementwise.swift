extension Matrix {
    /// self ← α·self + β·other (same shape).
    public mutating func scaleAndAdd(_ alpha: Float, _ beta: Float, _ other: Matrix) {
        precondition(rows == other.rows && columns == other.columns, "shape mismatch in scaleAndAdd")
        elements.withUnsafeMutableBufferPointer { a in
            other.elements.withUnsafeBufferPointer { b in
                for i in a.indices { a[i] = alpha * a[i] + beta * b[i] }
            }
        }
    }

    /// self ← α·self.
    public mutating func scale(_ alpha: Float) {
        elements.withUnsafeMutableBufferPointer { a in for i in a.indices { a[i] *= alpha } }
    }

    /// ‖self‖_F, accumulated in Double.
    public var frobeniusNorm: Float {
        var sum = 0.0
        for x in elements { sum += Double(x) * Double(x) }
        return Float(sum.squareRoot())
    }

    /// The Euclidean norm of every column, accumulated in Double.
    public var columnNorms: [Float] {
        columnSumsOfSquares.map { Float($0.squareRoot()) }
    }

    /// Σ_i a_ij² per column, in Double (the quantity distributed Dion all-reduces), summed over
    /// the rows in order.
    public var columnSumsOfSquares: [Double] {
        let width = columns
        var sums = [Double](repeating: 0, count: width)
        sums.withUnsafeMutableBufferPointer { sums in
            elements.withUnsafeBufferPointer { e in
                guard let sums = sums.baseAddress, let e = e.baseAddress else { return }
                for i in 0..<rows {
                    let row = e + i * width
                    for j in 0..<width {
                        let x = Double(row[j])
                        sums[j] += x * x
                    }
                }
            }
        }
        return sums
    }

    /// Divides column j by `divisors[j]` (Dion's column normalization of R into Q).
    public mutating func divideColumns(by divisors: [Float]) {
        precondition(divisors.count == columns, "one divisor per column")
        let width = columns
        elements.withUnsafeMutableBufferPointer { e in
            divisors.withUnsafeBufferPointer { d in
                guard let e = e.baseAddress, let d = d.baseAddress else { return }
                for i in 0..<rows {
                    let row = e + i * width
                    for j in 0..<width { row[j] /= d[j] }
                }
            }
        }
    }

    /// Every non-finite element replaced as `torch.nan_to_num` does: NaN → 0, ±∞ → ±greatest finite.
    /// (A vectorized `isFinite` pass first: almost always nothing is left to replace.)
    public mutating func replaceNonFinite() {
        guard !isFinite else { return }
        for i in elements.indices where !elements[i].isFinite {
            elements[i] = elements[i].isNaN ? 0 : (elements[i] > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude)
        }
    }
}
