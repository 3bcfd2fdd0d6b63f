import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedDion {
    /// Orth(P) for P row-sharded over the inner (`tp`) axis, or whole without one.
    ///
    /// Distributed randomized Cholesky QR (§2 path C, step 4) when p > r and the method is RCQR:
    /// SP = Σ_tp S_loc·P_loc (k_s×r all-reduce; S_loc is this rank's columns of the single-device
    /// sketch), R₁ = R(QR(SP)), P₁ = P_loc·R₁⁻¹, W = Σ_tp P₁ᵀP₁ (r×r all-reduce, plus a
    /// non-finite flag), R₂ = chol(W), P = P₁·R₂⁻¹. Every tp rank decides on the same reduced
    /// matrices, so the fallback (a numerically singular R₁ or R₂, or a non-finite P₁) is taken by
    /// all or none: then P (p×r, a rank-r factor) is all-gathered over `tp` and orthonormalized
    /// exactly as on one device. The QR and CQR methods and p ≤ r use that gathered path directly.
    func orthonormalize(_ p0: Matrix, x: ShardedMatrix, geometry: DionWorkGeometry, state: State,
                        mesh: DeviceMesh) throws -> Matrix {
        let configuration = dion.configuration
        let (p, r) = (geometry.p, p0.columns)
        let sketch = { dion.sketch(parameterID: state.parameterID, step: state.step, rank: r, rows: p) }
        guard let innerAxis = geometry.inner(mesh) else {
            return try Orthonormalization.orthonormalize(p0, method: configuration.orthonormalization, sketch: sketch).q
        }
        let inner = mesh.communicator(innerAxis)
        let pRange = geometry.pRange(of: x)
        if p > r && configuration.orthonormalization == .rcqr {
            let sLocal = dion.sketchColumns(parameterID: state.parameterID, step: state.step, rank: r, rows: p, columns: pRange)
            var sp = try BLAS.matmul(sLocal, p0)
            try inner.allReduce(&sp.elements, op: .sum)
            if let r1 = try? LAPACK.qrR(sp), (try? Orthonormalization.requireWellConditioned(r1, "R₁")) != nil {
                var p1 = p0
                try BLAS.solveRightUpper(&p1, r1)
                var gram = try BLAS.matmul(p1, transposeA: true, p1).elements
                gram.append(p1.isFinite ? 0 : 1)
                try inner.allReduce(&gram, op: .sum)
                let nonFinite = gram.removeLast() > 0
                if !nonFinite, let r2 = try? LAPACK.cholesky(try Matrix(rows: r, columns: r, elements: gram)),
                   (try? Orthonormalization.requireWellConditioned(r2, "R₂")) != nil {
                    try BLAS.solveRightUpper(&p1, r2)
                    return p1
                }
            }
        }
        // Gathered path: P is p×r, a rank-r factor.
        let counts = ChunkSplit.sizes(length: p, parts: mesh.shape.size(of: innerAxis)).map { $0 * r }
        let whole = try Matrix(rows: p, columns: r, elements: try inner.allGather(p0.elements, counts: counts))
        let q = try Orthonormalization.orthonormalize(whole, method: configuration.orthonormalization, sketch: sketch).q
        return q.rows(pRange)
    }
}
