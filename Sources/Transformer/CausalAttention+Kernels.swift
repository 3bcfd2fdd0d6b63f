import Foundation
import LinearAlgebra

extension CausalAttention {
    /// The block structure of one attention call: `sequences` × `heads` blocks of T×d_h.
    struct Geometry {
        let sequences: Int, heads: Int, t: Int, dh: Int
        /// 1/√d_h.
        var scale: Float { 1 / Float(dh).squareRoot() }
        /// Rows of the probabilities matrix (sequences·heads·T).
        var probabilityRows: Int { sequences * heads * t }

        /// - Throws: `LinearAlgebraError.shapeMismatch` unless rows split into `sequences` and the
        ///   width into `heads`.
        init(rows: Int, width: Int, sequences: Int, heads: Int) throws(LinearAlgebraError) {
            guard sequences > 0, heads > 0, rows % sequences == 0, width % heads == 0 else {
                throw LinearAlgebraError(.shapeMismatch, "attention: \(rows)×\(width) is not \(sequences) sequences of \(heads) heads")
            }
            self.sequences = sequences
            self.heads = heads
            t = rows / sequences
            dh = width / heads
        }
    }

    /// Per (sequence, head): P = softmax_causal(q·kᵀ/√d_h) into its block of `probabilities`,
    /// then output = P·v, each operand read in place with row stride `ld` (output: h·d_h).
    static func forwardKernel(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              ld: Int, output: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>) {
        let (t, dh, ldo) = (g.t, g.dh, g.heads * g.dh)
        for b in 0..<g.sequences {
            for j in 0..<g.heads {
                let offset = b * t * ld + j * dh
                let p = probabilities + (b * g.heads + j) * t * t
                BLAS.gemm(m: t, n: t, k: dh, alpha: g.scale, q + offset, lda: ld, k + offset, ldb: ld, transposeB: true,
                          into: p, ldc: t)
                softmaxCausal(p, t)
                BLAS.gemm(m: t, n: dh, k: t, UnsafePointer(p), lda: t, v + offset, ldb: ld,
                          into: output + b * t * ldo + j * dh, ldc: ldo)
            }
        }
    }

    /// Per (sequence, head): dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP))/√d_h (fused, lower
    /// triangle only), dQ = dS·K, dK = dSᵀ·Q; gradients written in place with row stride `ldGradient`.
    static func backwardKernel(_ g: Geometry, dOutput: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                               v: UnsafePointer<Float>, ld: Int, probabilities: UnsafePointer<Float>,
                               dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                               dv: UnsafeMutablePointer<Float>, ldGradient: Int) {
        let (t, dh, ldo) = (g.t, g.dh, g.heads * g.dh)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
        defer { scratch.deallocate() }
        for b in 0..<g.sequences {
            for j in 0..<g.heads {
                let offset = b * t * ld + j * dh, gradientOffset = b * t * ldGradient + j * dh
                let p = probabilities + (b * g.heads + j) * t * t
                let dO = dOutput + b * t * ldo + j * dh
                BLAS.gemm(m: t, n: dh, k: t, p, lda: t, transposeA: true, dO, ldb: ldo,
                          into: dv + gradientOffset, ldc: ldGradient)
                BLAS.gemm(m: t, n: t, k: dh, dO, lda: ldo, v + offset, ldb: ld, transposeB: true, into: scratch, ldc: t)
                softmaxCausalBackward(scratch, probabilities: p, t, scale: g.scale)
                BLAS.gemm(m: t, n: dh, k: t, UnsafePointer(scratch), lda: t, k + offset, ldb: ld,
                          into: dq + gradientOffset, ldc: ldGradient)
                BLAS.gemm(m: t, n: dh, k: t, UnsafePointer(scratch), lda: t, transposeA: true, q + offset, ldb: ld,
                          into: dk + gradientOffset, ldc: ldGradient)
            }
        }
    }

    /// In place on a T×T block of (already scaled) scores: each row's softmax over columns ≤ i
    /// (max, exp and sum in one pass, then one normalizing pass), zero above the diagonal.
    static func softmaxCausal(_ s: UnsafeMutablePointer<Float>, _ t: Int) {
        for i in 0..<t {
            let row = s + i * t
            var largest = -Float.infinity
            for c in 0...i { largest = max(largest, row[c]) }
            var sum: Float = 0
            for c in 0...i {
                let e = expf(row[c] - largest)
                row[c] = e
                sum += e
            }
            let inverse = 1 / sum
            for c in 0...i { row[c] *= inverse }
            if i + 1 < t { (row + i + 1).update(repeating: 0, count: t - i - 1) }
        }
    }

    /// In place on dP (T×T): dS = scale·P∘(dP − rowsum(P∘dP)) on the lower triangle, zero above.
    static func softmaxCausalBackward(_ d: UnsafeMutablePointer<Float>, probabilities p: UnsafePointer<Float>, _ t: Int,
                                      scale: Float) {
        for i in 0..<t {
            let row = d + i * t, pRow = p + i * t
            var dot: Float = 0
            for c in 0...i { dot += pRow[c] * row[c] }
            for c in 0...i { row[c] = pRow[c] * (row[c] - dot) * scale }
            if i + 1 < t { (row + i + 1).update(repeating: 0, count: t - i - 1) }
        }
    }
}
