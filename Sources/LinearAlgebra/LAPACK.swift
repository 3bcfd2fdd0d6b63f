import CLAPACKE

/// The LAPACK factorizations the optimizers need, on row-major matrices (`LAPACKE_*`).
public enum LAPACK {
    /// The orthonormal factor Q (m×n, m ≥ n) of a Householder QR of A (m×n).
    ///
    /// - Throws: `LinearAlgebraError.shapeMismatch` when m < n; `.lapackFailure` when LAPACK fails.
    ///
    /// The corresponding LAPACK functions are `sgeqrf` and `sorgqr`.
    public static func householderQ(_ a: Matrix) throws(LinearAlgebraError) -> Matrix {
        let (m, n) = (a.rows, a.columns)
        guard m >= n else { throw LinearAlgebraError(.shapeMismatch, "householderQ needs rows ≥ columns, got \(m)×\(n)") }
        guard n > 0 else { return a }
        var q = a
        var tau = [Float](repeating: 0, count: n)
        var info = q.elements.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), pq.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        guard info == 0 else { throw LinearAlgebraError(.lapackFailure, "sgeqrf returned \(info)") }
        info = q.elements.withUnsafeMutableBufferPointer { pq in
            tau.withUnsafeBufferPointer { pt in
                LAPACKE_sorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(n), pq.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        guard info == 0 else { throw LinearAlgebraError(.lapackFailure, "sorgqr returned \(info)") }
        return q
    }

    /// The triangular factor R (n×n, upper) of a QR of A (m×n, m ≥ n), without forming Q.
    ///
    /// The corresponding LAPACK function is `sgeqrf`.
    public static func qrR(_ a: Matrix) throws(LinearAlgebraError) -> Matrix {
        let (m, n) = (a.rows, a.columns)
        guard m >= n else { throw LinearAlgebraError(.shapeMismatch, "qrR needs rows ≥ columns, got \(m)×\(n)") }
        var f = a
        var tau = [Float](repeating: 0, count: Swift.max(n, 1))
        let info = f.elements.withUnsafeMutableBufferPointer { pf in
            tau.withUnsafeMutableBufferPointer { pt in
                LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), pf.baseAddress, Int32(n), pt.baseAddress)
            }
        }
        guard info == 0 else { throw LinearAlgebraError(.lapackFailure, "sgeqrf returned \(info)") }
        var r = Matrix(rows: n, columns: n)
        for i in 0..<n { for j in i..<n { r[i, j] = f[i, j] } }
        return r
    }

    /// The inverse of an upper-triangular, non-unit-diagonal R (n×n), itself upper triangular.
    ///
    /// Row-major upper R is column-major lower Rᵀ, and (Rᵀ)⁻¹ = (R⁻¹)ᵀ, so the column-major call on
    /// the lower triangle inverts R in place without LAPACKE's transposing copies. The strictly
    /// lower part of R is ignored and comes back zero.
    ///
    /// - Throws: `LinearAlgebraError.notPositiveDefinite` when a diagonal entry is exactly zero
    ///   (LAPACK's `info > 0`: R is singular); `.shapeMismatch` when R is not square.
    ///
    /// The corresponding LAPACK function is `strtri`.
    public static func upperTriangularInverse(_ r: Matrix) throws(LinearAlgebraError) -> Matrix {
        guard r.rows == r.columns else {
            throw LinearAlgebraError(.shapeMismatch, "a triangular inverse needs a square matrix, got \(r.rows)×\(r.columns)")
        }
        let n = r.rows
        var inverse = r
        for i in 0..<n { for j in 0..<i { inverse[i, j] = 0 } }
        guard n > 0 else { return inverse }
        let info = inverse.elements.withUnsafeMutableBufferPointer { pr in
            LAPACKE_strtri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int8(UInt8(ascii: "N")), Int32(n), pr.baseAddress, Int32(n))
        }
        if info > 0 {
            throw LinearAlgebraError(.notPositiveDefinite, "the \(n)×\(n) triangular factor is singular (diagonal entry \(info) is 0)")
        }
        guard info == 0 else { throw LinearAlgebraError(.lapackFailure, "strtri returned \(info)") }
        return inverse
    }

    /// The upper Cholesky factor R of a symmetric positive-definite A (A = RᵀR).
    ///
    /// - Throws: `LinearAlgebraError.notPositiveDefinite` naming the failing minor (LAPACK's
    ///   `info > 0`) — the caller decides what to do, nothing becomes NaN silently.
    ///
    /// The corresponding LAPACK function is `spotrf`.
    public static func cholesky(_ a: Matrix) throws(LinearAlgebraError) -> Matrix {
        guard a.rows == a.columns else {
            throw LinearAlgebraError(.shapeMismatch, "cholesky needs a square matrix, got \(a.rows)×\(a.columns)")
        }
        let n = a.rows
        var r = a
        let info = r.elements.withUnsafeMutableBufferPointer { pr in
            LAPACKE_spotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), Int32(n), pr.baseAddress, Int32(Swift.max(n, 1)))
        }
        if info > 0 {
            throw LinearAlgebraError(.notPositiveDefinite, "the leading minor of order \(info) of the \(n)×\(n) Gram matrix "
                                     + "is not positive definite")
        }
        guard info == 0 else { throw LinearAlgebraError(.lapackFailure, "spotrf returned \(info)") }
        for i in 0..<n { for j in 0..<i { r[i, j] = 0 } }
        return r
    }
}
