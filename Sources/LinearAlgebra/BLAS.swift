import CBLAS

/// The BLAS operations the optimizers need, on row-major matrices (`cblas_*` with `CblasRowMajor`).
public enum BLAS {
    /// C ← α·op(A)·op(B) + β·C, where op transposes when asked.
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when the shapes do not chain.
    ///
    /// The corresponding BLAS function is `cblas_sgemm`.
    public static func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0, into c: inout Matrix) throws(LinearAlgebraError) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        guard k == kb, c.rows == m, c.columns == n else {
            throw LinearAlgebraError(.shapeMismatch, "gemm: op(A) \(m)×\(k), op(B) \(kb)×\(n), C \(c.rows)×\(c.columns)")
        }
        guard m > 0, n > 0 else { return }
        if k == 0 {
            c.scale(beta)
            return
        }
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.columns),
                                pb.baseAddress, Int32(b.columns), beta, pc.baseAddress, Int32(c.columns))
                }
            }
        }
    }

    /// op(A)·op(B) as a new matrix.
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when the shapes do not chain.
    ///
    /// The corresponding BLAS function is `cblas_sgemm`.
    public static func matmul(_ a: Matrix, transposeA: Bool = false, _ b: Matrix,
                              transposeB: Bool = false) throws(LinearAlgebraError) -> Matrix {
        var c = Matrix(rows: transposeA ? a.columns : a.rows, columns: transposeB ? b.rows : b.columns)
        try gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    /// y ← α·x + y (same shape).
    ///
    /// The corresponding BLAS function is `cblas_saxpy`.
    public static func axpy(_ alpha: Float, _ x: Matrix, _ y: inout Matrix) throws(LinearAlgebraError) {
        guard x.rows == y.rows, x.columns == y.columns else {
            throw LinearAlgebraError(.shapeMismatch, "axpy: x \(x.rows)×\(x.columns), y \(y.rows)×\(y.columns)")
        }
        x.elements.withUnsafeBufferPointer { px in
            y.elements.withUnsafeMutableBufferPointer { py in
                cblas_saxpy(Int32(px.count), alpha, px.baseAddress, 1, py.baseAddress, 1)
            }
        }
    }

    /// B ← B·R⁻¹ for an upper-triangular, non-unit-diagonal R (a triangular solve from the right).
    ///
    /// The corresponding BLAS function is `cblas_strsm`.
    public static func solveRightUpper(_ b: inout Matrix, _ r: Matrix) throws(LinearAlgebraError) {
        guard r.rows == r.columns, b.columns == r.rows else {
            throw LinearAlgebraError(.shapeMismatch, "trsm: B \(b.rows)×\(b.columns), R \(r.rows)×\(r.columns)")
        }
        guard b.rows > 0, b.columns > 0 else { return }
        let (m, n) = (b.rows, b.columns)
        r.elements.withUnsafeBufferPointer { pr in
            b.elements.withUnsafeMutableBufferPointer { pb in
                cblas_strsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(m), Int32(n), 1,
                            pr.baseAddress, Int32(n), pb.baseAddress, Int32(n))
            }
        }
    }
}
