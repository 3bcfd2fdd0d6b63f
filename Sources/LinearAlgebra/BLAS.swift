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

    /// C ← α·op(A)·op(B) + β·C on strided sub-blocks of larger row-major buffers: op(A) is m×k,
    /// op(B) is k×n and C is m×n, each row `ld…` floats after the previous one. Lets a kernel read
    /// and write a block of a bigger matrix (one head's columns of an N×(h·d_h) activation) in
    /// place, without copying it out and back.
    ///
    /// - Precondition: the pointers address at least the rows and columns the shapes and leading
    ///   dimensions name (an internal invariant of the caller: no shape reaches here from input);
    ///   `lda`, `ldb`, `ldc` are at least the stored row lengths.
    ///
    /// The corresponding BLAS function is `cblas_sgemm`.
    public static func gemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                            _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                            _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                            beta: Float = 0, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size")
        precondition(lda >= max(1, transposeA ? m : k) && ldb >= max(1, transposeB ? k : n) && ldc >= max(1, n),
                     "gemm: leading dimension shorter than a row")
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// op(A)·op(B) as a new matrix whose buffer is not zero-filled first (the product overwrites
    /// every element), saving the memset of `matmul`.
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when the shapes do not chain.
    ///
    /// The corresponding BLAS function is `cblas_sgemm`.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix,
                               transposeB: Bool = false, alpha: Float = 1) throws(LinearAlgebraError) -> Matrix {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        guard k == kb, k > 0 else { return try matmul(a, transposeA: transposeA, b, transposeB: transposeB) }
        let elements = [Float](unsafeUninitializedCapacity: m * n) { pc, count in
            a.elements.withUnsafeBufferPointer { pa in
                b.elements.withUnsafeBufferPointer { pb in
                    if let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress {
                        gemm(m: m, n: n, k: k, alpha: alpha, ca, lda: a.columns, transposeA: transposeA,
                             cb, ldb: b.columns, transposeB: transposeB, into: cc, ldc: n)
                    }
                }
            }
            count = m * n
        }
        return try Matrix(rows: m, columns: n, elements: elements)
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
