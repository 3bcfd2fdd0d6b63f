import Foundation
import LinearAlgebra

/// Causal multi-head scaled dot-product attention on this rank's heads.
///
/// q, k, v and the output are N×(h·d_h) with N = sequences·T rows (sequence-major) and head j in
/// columns [j·d_h, (j+1)·d_h). The softmax probabilities are kept for the backward pass
/// (sequences·h·T² floats).
public enum CausalAttention {
    /// Forward: the attention output and the probabilities (per sequence, per head, T×T row-major).
    public static func forward(q: Matrix, k: Matrix, v: Matrix, sequences: Int, heads: Int) throws(LinearAlgebraError)
        -> (output: Matrix, probabilities: [Matrix]) {
        let t = q.rows / max(sequences, 1)
        let dh = q.columns / max(heads, 1)
        let scale = 1 / Float(dh).squareRoot()
        var output = Matrix(rows: q.rows, columns: q.columns)
        var probabilities = [Matrix]()
        probabilities.reserveCapacity(sequences * heads)
        for b in 0..<sequences {
            for j in 0..<heads {
                let qh = block(q, b * t, t, j * dh, dh), kh = block(k, b * t, t, j * dh, dh), vh = block(v, b * t, t, j * dh, dh)
                var s = try BLAS.matmul(qh, kh, transposeB: true)
                softmaxCausal(&s, scale: scale)
                let o = try BLAS.matmul(s, vh)
                store(o, into: &output, b * t, j * dh)
                probabilities.append(s)
            }
        }
        return (output, probabilities)
    }

    /// Backward: dQ, dK, dV from dO. With P the probabilities and S the scaled scores:
    /// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP)), dQ = dS·K/√d_h, dK = dSᵀ·Q/√d_h.
    public static func backward(_ dOutput: Matrix, q: Matrix, k: Matrix, v: Matrix, probabilities: [Matrix],
                                sequences: Int, heads: Int) throws(LinearAlgebraError) -> (dq: Matrix, dk: Matrix, dv: Matrix) {
        let t = q.rows / max(sequences, 1)
        let dh = q.columns / max(heads, 1)
        let scale = 1 / Float(dh).squareRoot()
        var dq = Matrix(rows: q.rows, columns: q.columns)
        var dk = dq, dv = dq
        for b in 0..<sequences {
            for j in 0..<heads {
                let p = probabilities[b * heads + j]
                let qh = block(q, b * t, t, j * dh, dh), kh = block(k, b * t, t, j * dh, dh), vh = block(v, b * t, t, j * dh, dh)
                let dO = block(dOutput, b * t, t, j * dh, dh)
                store(try BLAS.matmul(p, transposeA: true, dO), into: &dv, b * t, j * dh)
                var ds = try BLAS.matmul(dO, vh, transposeB: true)
                ds.elements.withUnsafeMutableBufferPointer { pds in
                    p.elements.withUnsafeBufferPointer { pp in
                        for i in 0..<t {
                            var dot: Float = 0
                            for c in 0...i { dot += pp[i * t + c] * pds[i * t + c] }
                            for c in 0..<t { pds[i * t + c] = c <= i ? pp[i * t + c] * (pds[i * t + c] - dot) * scale : 0 }
                        }
                    }
                }
                store(try BLAS.matmul(ds, kh), into: &dq, b * t, j * dh)
                store(try BLAS.matmul(ds, transposeA: true, qh), into: &dk, b * t, j * dh)
            }
        }
        return (dq, dk, dv)
    }

    /// Row-wise softmax of scale·S with entries above the diagonal masked out.
    static func softmaxCausal(_ s: inout Matrix, scale: Float) {
        let t = s.rows
        s.elements.withUnsafeMutableBufferPointer { ps in
            for i in 0..<t {
                var largest = -Float.infinity
                for c in 0...i { largest = max(largest, ps[i * t + c] * scale) }
                var sum: Float = 0
                for c in 0...i {
                    let e = expf(ps[i * t + c] * scale - largest)
                    ps[i * t + c] = e
                    sum += e
                }
                for c in 0..<t { ps[i * t + c] = c <= i ? ps[i * t + c] / sum : 0 }
            }
        }
    }

    /// Copy of rows [row, row+height) and columns [column, column+width).
    static func block(_ m: Matrix, _ row: Int, _ height: Int, _ column: Int, _ width: Int) -> Matrix {
        var out = Matrix(rows: height, columns: width)
        m.elements.withUnsafeBufferPointer { pm in
            out.elements.withUnsafeMutableBufferPointer { po in
                for i in 0..<height {
                    for j in 0..<width { po[i * width + j] = pm[(row + i) * m.columns + column + j] }
                }
            }
        }
        return out
    }

    /// Writes `b` into `m` at (row, column).
    static func store(_ b: Matrix, into m: inout Matrix, _ row: Int, _ column: Int) {
        let columns = m.columns
        b.elements.withUnsafeBufferPointer { pb in
            m.elements.withUnsafeMutableBufferPointer { pm in
                for i in 0..<b.rows {
                    for j in 0..<b.columns { pm[(row + i) * columns + column + j] = pb[i * b.columns + j] }
                }
            }
        }
    }
}
