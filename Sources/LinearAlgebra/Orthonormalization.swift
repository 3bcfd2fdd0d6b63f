import DionCore
/// How Dion orthonormalizes P (§1.1 of the algorithm notes).
public enum OrthonormalizationMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// Randomized Cholesky QR (the default): sketch, QR of the small sketch, two triangular
    /// solves and a Cholesky of the r×r Gram matrix.
    case rcqr
    /// Householder QR.
    case qr
    /// Plain Cholesky QR on PᵀP.
    case cqr
}

/// Orthonormalization of tall matrices P (p×r, p ≥ r).
public enum Orthonormalization {
    /// Sketch rows for rank r: k_s = 128·⌈1.25·r/128⌉ (`rcqr_oversample` = 1.25).
    public static func sketchRows(rank r: Int) -> Int { DionSizes.sketchRows(rank: r) }

    /// The result of an orthonormalization and whether it had to fall back.
    public struct Result: Sendable {
        public let q: Matrix
        /// `true` when the requested method failed (Cholesky not positive definite, or a
        /// non-finite result) and Householder QR was used instead.
        public let usedFallback: Bool
    }

    /// Orthonormalizes P with `method`. `sketch` is the k_s×p matrix with N(0, 1/k_s) entries
    /// that RCQR needs (ignored by the other methods).
    ///
    /// Deliberate difference from the reference (`dion.py`): when Cholesky fails there, NaNs
    /// leak and are zeroed later; here the failure — or a numerically singular triangular factor,
    /// as a (nearly) rank-deficient P produces — is detected and Householder QR is used. Plain
    /// Cholesky QR squares the condition number, so its result is also checked for orthonormality.
    /// `cqr` follows `dion_reference.py` in falling back to RCQR first.
    public static func orthonormalize(_ p: Matrix, method: OrthonormalizationMethod,
                                      sketch: () -> Matrix) throws(LinearAlgebraError) -> Result {
        guard p.rows > p.columns else { return Result(q: try LAPACK.householderQ(p), usedFallback: false) }
        switch method {
        case .qr:
            return Result(q: try LAPACK.householderQ(p), usedFallback: false)
        case .rcqr:
            if let q = try? randomizedCholeskyQR(p, sketch: sketch()), q.isFinite { return Result(q: q, usedFallback: false) }
            return Result(q: try LAPACK.householderQ(p), usedFallback: true)
        case .cqr:
            if let q = try? choleskyQR(p), isOrthonormal(q) { return Result(q: q, usedFallback: false) }
            if let q = try? randomizedCholeskyQR(p, sketch: sketch()), isOrthonormal(q) { return Result(q: q, usedFallback: true) }
            return Result(q: try LAPACK.householderQ(p), usedFallback: true)
        }
    }

    /// Whether q is finite with max |qᵀq − I| < `tolerance`. A nearly rank-deficient P can pass
    /// Cholesky and still come out far from orthonormal in fp32; this check (p·r² flops, small
    /// next to Dion's 8·m·n·r) catches that case too, so the fallback covers it.
    public static func isOrthonormal(_ q: Matrix, tolerance: Float = 1e-3) -> Bool {
        guard q.isFinite, let gram = try? BLAS.matmul(q, transposeA: true, q) else { return false }
        for i in 0..<gram.rows {
            for j in 0..<gram.columns where abs(gram[i, j] - (i == j ? 1 : 0)) >= tolerance { return false }
        }
        return true
    }

    /// RCQR: R₁ = R of QR(S·P); P₁ = P·R₁⁻¹; R₂ = chol(P₁ᵀP₁); P₁·R₂⁻¹.
    ///
    /// - Throws: `LinearAlgebraError.notPositiveDefinite` when the Gram matrix is not, or when a
    ///   triangular factor is numerically singular (a diagonal entry below 1e-6 of the largest):
    ///   then P is rank-deficient and the solves would amplify round-off into garbage.
    public static func randomizedCholeskyQR(_ p: Matrix, sketch s: Matrix) throws(LinearAlgebraError) -> Matrix {
        let r1 = try LAPACK.qrR(try BLAS.product(s, p))
        try requireWellConditioned(r1, "R₁ = R(QR(S·P))")
        let p1 = try timesInverse(p, r1)
        let r2 = try LAPACK.cholesky(try BLAS.product(p1, transposeA: true, p1))
        try requireWellConditioned(r2, "R₂ = chol(P₁ᵀP₁)")
        return try timesInverse(p1, r2)
    }

    /// P·R⁻¹ for a tall P (p×r) and an upper-triangular R (r×r): RCQR's two solves.
    ///
    /// Formed as P times the explicit inverse (`strtri` on the r×r factor, then one GEMM) rather
    /// than by substitution (`strsm`): at p = 1024, r = 64 the GEMM runs at about 5× strsm's rate
    /// and the pair takes half the time. Both have forward error of order u·cond(R) per row; the
    /// factors here passed `requireWellConditioned`, and the second (Cholesky) pass restores
    /// orthonormality either way, so the results differ by float32 rounding.
    public static func timesInverse(_ p: Matrix, _ r: Matrix) throws(LinearAlgebraError) -> Matrix {
        try BLAS.product(p, try LAPACK.upperTriangularInverse(r))
    }

    /// Throws unless every diagonal entry of the triangular `r` is finite and at least 1e-6 of the
    /// largest in magnitude (O(r) work).
    public static func requireWellConditioned(_ r: Matrix, _ name: String) throws(LinearAlgebraError) {
        let diagonal = (0..<r.rows).map { abs(r[$0, $0]) }
        let largest = diagonal.max() ?? 0
        guard largest.isFinite, largest > 0, diagonal.allSatisfy({ $0.isFinite && $0 >= 1e-6 * largest }) else {
            throw LinearAlgebraError(.notPositiveDefinite, "\(name) is numerically singular (diagonal from "
                                     + "\(diagonal.min() ?? 0) to \(largest))")
        }
    }

    /// Cholesky QR: R = chol(PᵀP); P·R⁻¹.
    public static func choleskyQR(_ p: Matrix) throws(LinearAlgebraError) -> Matrix {
        let r = try LAPACK.cholesky(try BLAS.matmul(p, transposeA: true, p))
        var q = p
        try BLAS.solveRightUpper(&q, r)
        return q
    }
}
