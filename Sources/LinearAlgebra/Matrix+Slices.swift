extension Matrix {
    /// Σ_j |a_ij| for every row i, accumulated in Double in column order (rows whose absolute values
    /// are equal entry by entry get bit-identical norms).
    public var rowL1Norms: [Double] {
        var norms = [Double](repeating: 0, count: rows)
        elements.withUnsafeBufferPointer { e in
            for i in 0..<rows {
                var sum = 0.0
                for j in 0..<columns { sum += Double(abs(e[i * columns + j])) }
                norms[i] = sum
            }
        }
        return norms
    }

    /// Σ_i |a_ij| for every column j, accumulated in Double in row order.
    public var columnL1Norms: [Double] {
        var norms = [Double](repeating: 0, count: columns)
        elements.withUnsafeBufferPointer { e in
            for i in 0..<rows {
                for j in 0..<columns { norms[j] += Double(abs(e[i * columns + j])) }
            }
        }
        return norms
    }

    /// The rows at `indices`, in that order, as a new `indices.count × columns` matrix.
    /// Each index must be in 0..<rows.
    public func rows(at indices: [Int]) -> Matrix {
        var m = Matrix(rows: indices.count, columns: columns)
        for (k, i) in indices.enumerated() {
            precondition(i >= 0 && i < rows, "row index \(i) outside 0..<\(rows)")
            m.elements.replaceSubrange((k * columns)..<((k + 1) * columns), with: elements[(i * columns)..<((i + 1) * columns)])
        }
        return m
    }

    /// The columns at `indices`, in that order, as a new `rows × indices.count` matrix.
    /// Each index must be in 0..<columns.
    public func columns(at indices: [Int]) -> Matrix {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < columns }, "column index outside 0..<\(columns)")
        var m = Matrix(rows: rows, columns: indices.count)
        let width = indices.count
        for i in 0..<rows {
            for (k, j) in indices.enumerated() { m.elements[i * width + k] = elements[i * columns + j] }
        }
        return m
    }

    /// Multiplies the rows at `indices` by `factor`.
    public mutating func scaleRows(at indices: [Int], by factor: Float) {
        let width = columns
        elements.withUnsafeMutableBufferPointer { e in
            for i in indices { for j in 0..<width { e[i * width + j] *= factor } }
        }
    }

    /// Multiplies the columns at `indices` by `factor`.
    public mutating func scaleColumns(at indices: [Int], by factor: Float) {
        let width = columns
        elements.withUnsafeMutableBufferPointer { e in
            for i in 0..<rows { for j in indices { e[i * width + j] *= factor } }
        }
    }

    /// Row `indices[k]` of self ← itself + α · row k of `other` (`other` is `indices.count × columns`).
    public mutating func addRows(at indices: [Int], _ alpha: Float, _ other: Matrix) {
        precondition(other.rows == indices.count && other.columns == columns, "addRows: shape mismatch")
        let width = columns
        elements.withUnsafeMutableBufferPointer { e in
            other.elements.withUnsafeBufferPointer { o in
                for (k, i) in indices.enumerated() {
                    for j in 0..<width { e[i * width + j] += alpha * o[k * width + j] }
                }
            }
        }
    }

    /// Column `indices[k]` of self ← itself + α · column k of `other` (`other` is `rows × indices.count`).
    public mutating func addColumns(at indices: [Int], _ alpha: Float, _ other: Matrix) {
        precondition(other.columns == indices.count && other.rows == rows, "addColumns: shape mismatch")
        let (width, count) = (columns, indices.count)
        elements.withUnsafeMutableBufferPointer { e in
            other.elements.withUnsafeBufferPointer { o in
                for i in 0..<rows {
                    for (k, j) in indices.enumerated() { e[i * width + j] += alpha * o[i * count + k] }
                }
            }
        }
    }
}
