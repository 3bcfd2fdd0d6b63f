import Foundation
import LinearAlgebra

/// Causal multi-head scaled dot-product attention on this rank's heads.
///
/// q, k, v and the output are N×(h·d_h) with N = sequences·T rows (sequence-major) and head j in
/// columns [j·d_h, (j+1)·d_h); they may also be the three column blocks of one N×(3·h·d_h) matrix
/// (`forward(qkv:)`, the output of the fused QKV projection). Every product reads and writes the
/// heads in place through strided GEMMs (`BLAS.gemm(m:n:k:…)`): no per-(sequence, head) copies.
/// The softmax probabilities are kept for the backward pass: one (sequences·h·T)×T matrix, block
/// (b·h + j) for sequence b and head j, zero above the diagonal.
public enum CausalAttention {
    /// Forward on separate q, k, v (each N×(h·d_h)): the output and the probabilities.
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when q, k, v differ in shape or do not split
    ///   into `sequences` × `heads` blocks.
    public static func forward(q: Matrix, k: Matrix, v: Matrix, sequences: Int, heads: Int) throws(LinearAlgebraError)
        -> (output: Matrix, probabilities: Matrix) {
        let g = try Geometry(rows: q.rows, width: q.columns, sequences: sequences, heads: heads)
        guard k.rows == q.rows, v.rows == q.rows, k.columns == q.columns, v.columns == q.columns else {
            throw LinearAlgebraError(.shapeMismatch, "attention: q \(q), k \(k), v \(v)")
        }
        var probabilities = Matrix(rows: 0, columns: 0)
        let output = Matrix.uninitialized(rows: q.rows, columns: q.columns) { po in
            probabilities = Matrix.uninitialized(rows: g.probabilityRows, columns: g.t) { pp in
                q.elements.withUnsafeBufferPointer { pq in
                    k.elements.withUnsafeBufferPointer { pk in
                        v.elements.withUnsafeBufferPointer { pv in
                            guard let po, let pp, let q0 = pq.baseAddress, let k0 = pk.baseAddress, let v0 = pv.baseAddress
                            else { return }
                            forwardKernel(g, q: q0, k: k0, v: v0, ld: q.columns, output: po, probabilities: pp)
                        }
                    }
                }
            }
        }
        return (output, probabilities)
    }

    /// Forward on the fused projection qkv = [q | k | v] (N×(3·h·d_h)): the output N×(h·d_h) and
    /// the probabilities (both from `pool` when given).
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when qkv's columns are not 3·h·d_h.
    public static func forward(qkv: Matrix, sequences: Int, heads: Int, pool: ActivationPool? = nil) throws(LinearAlgebraError)
        -> (output: Matrix, probabilities: Matrix) {
        guard qkv.columns % 3 == 0 else { throw LinearAlgebraError(.shapeMismatch, "attention: qkv \(qkv)") }
        let width = qkv.columns / 3
        let g = try Geometry(rows: qkv.rows, width: width, sequences: sequences, heads: heads)
        var probabilities = Matrix(rows: 0, columns: 0)
        let output = Matrix.uninitialized(rows: qkv.rows, columns: width, pool: pool) { po in
            probabilities = Matrix.uninitialized(rows: g.probabilityRows, columns: g.t, pool: pool) { pp in
                qkv.elements.withUnsafeBufferPointer { p in
                    guard let po, let pp, let q0 = p.baseAddress else { return }
                    forwardKernel(g, q: q0, k: q0 + width, v: q0 + 2 * width, ld: qkv.columns, output: po, probabilities: pp)
                }
            }
        }
        return (output, probabilities)
    }

    /// Backward on separate q, k, v. With P the probabilities and S the scaled scores:
    /// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP)), dQ = dS·K/√d_h, dK = dSᵀ·Q/√d_h.
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` for inconsistent shapes.
    public static func backward(_ dOutput: Matrix, q: Matrix, k: Matrix, v: Matrix, probabilities: Matrix,
                                sequences: Int, heads: Int) throws(LinearAlgebraError) -> (dq: Matrix, dk: Matrix, dv: Matrix) {
        let g = try Geometry(rows: q.rows, width: q.columns, sequences: sequences, heads: heads)
        guard k.rows == q.rows, v.rows == q.rows, k.columns == q.columns, v.columns == q.columns,
              dOutput.rows == q.rows, dOutput.columns == q.columns,
              probabilities.rows == g.probabilityRows, probabilities.columns == g.t else {
            throw LinearAlgebraError(.shapeMismatch, "attention backward: dO \(dOutput), q \(q), P \(probabilities)")
        }
        var dk = Matrix(rows: 0, columns: 0), dv = dk
        let dq = Matrix.uninitialized(rows: q.rows, columns: q.columns) { dq0 in
            dk = Matrix.uninitialized(rows: q.rows, columns: q.columns) { dk0 in
                dv = Matrix.uninitialized(rows: q.rows, columns: q.columns) { dv0 in
                    q.elements.withUnsafeBufferPointer { pq in
                        k.elements.withUnsafeBufferPointer { pk in
                            v.elements.withUnsafeBufferPointer { pv in
                                dOutput.elements.withUnsafeBufferPointer { pdo in
                                    probabilities.elements.withUnsafeBufferPointer { pp in
                                        guard let dq0, let dk0, let dv0, let q0 = pq.baseAddress, let k0 = pk.baseAddress,
                                              let v0 = pv.baseAddress, let do0 = pdo.baseAddress, let p0 = pp.baseAddress
                                        else { return }
                                        backwardKernel(g, dOutput: do0, q: q0, k: k0, v: v0, ld: q.columns, probabilities: p0,
                                                       dq: dq0, dk: dk0, dv: dv0, ldGradient: q.columns)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// Backward on the fused projection: d[q | k | v] (N×(3·h·d_h), from `pool` when given) from
    /// dO (N×(h·d_h)).
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` for inconsistent shapes.
    public static func backward(_ dOutput: Matrix, qkv: Matrix, probabilities: Matrix, sequences: Int,
                                heads: Int, pool: ActivationPool? = nil) throws(LinearAlgebraError) -> Matrix {
        guard qkv.columns % 3 == 0 else { throw LinearAlgebraError(.shapeMismatch, "attention backward: qkv \(qkv)") }
        let width = qkv.columns / 3
        let g = try Geometry(rows: qkv.rows, width: width, sequences: sequences, heads: heads)
        guard dOutput.rows == qkv.rows, dOutput.columns == width,
              probabilities.rows == g.probabilityRows, probabilities.columns == g.t else {
            throw LinearAlgebraError(.shapeMismatch, "attention backward: dO \(dOutput), qkv \(qkv), P \(probabilities)")
        }
        return Matrix.uninitialized(rows: qkv.rows, columns: qkv.columns, pool: pool) { d0 in
            qkv.elements.withUnsafeBufferPointer { p in
                dOutput.elements.withUnsafeBufferPointer { pdo in
                    probabilities.elements.withUnsafeBufferPointer { pp in
                        guard let d0, let q0 = p.baseAddress, let do0 = pdo.baseAddress, let p0 = pp.baseAddress else { return }
                        backwardKernel(g, dOutput: do0, q: q0, k: q0 + width, v: q0 + 2 * width, ld: qkv.columns,
                                       probabilities: p0, dq: d0, dk: d0 + width, dv: d0 + 2 * width, ldGradient: qkv.columns)
                    }
                }
            }
        }
    }
}
