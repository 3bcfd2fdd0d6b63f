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
    ///
    /// Batched: the sketch products of all matrices that take the RCQR path cross `tp` in one
    /// all-reduce, their Gram matrices in a second; fallbacks are gathered one matrix at a time.
    /// Replaces `work[k].p` (P₀ on entry) by P for every k in `live`.
    func orthonormalize(_ work: inout [WorkItem], _ live: [Int], _ xs: [ShardedMatrix], _ states: [State],
                        _ mesh: DeviceMesh) throws {
        let configuration = dion.configuration
        let tp = mesh.communicator(.tp)
        var distributed: [Int] = []
        var gathered: [Int] = []
        for k in live {
            let item = work[k]
            if item.inner == nil {
                work[k].p = try orthonormalizedWhole(item, states[item.index])
            } else if item.schedule.distributedOrthonormalization {
                distributed.append(k)
            } else {
                gathered.append(k)
            }
        }
        // Distributed RCQR, step 1: SP = Σ_tp S_loc·P_loc for every matrix at once.
        var sketched = try distributed.map { k -> [Float] in
            let (item, s) = (work[k], states[work[k].index])
            let sLocal = dion.sketchColumns(parameterID: s.parameterID, step: s.step, rank: item.rank, rows: item.geometry.p,
                                            columns: item.geometry.pRange(of: xs[item.index]))
            return try BLAS.matmul(sLocal, item.p).elements
        }
        try ConcatenatedCollective.allReduce(&sketched, where: distributed.map { _ in true }, over: tp, op: .sum)
        // Step 2: P₁ = P_loc·R₁⁻¹ and W = Σ_tp P₁ᵀP₁ where R₁ is well conditioned (the same on every rank).
        var p1s: [Int: Matrix] = [:]
        var grams: [[Float]] = []
        var cholesky: [Int] = []
        for (j, k) in distributed.enumerated() {
            let r = work[k].rank
            let sp = try Matrix(rows: sketched[j].count / r, columns: r, elements: sketched[j])
            guard let r1 = try? LAPACK.qrR(sp), (try? Orthonormalization.requireWellConditioned(r1, "R₁")) != nil else {
                gathered.append(k)
                continue
            }
            let p1 = try Orthonormalization.timesInverse(work[k].p, r1)
            var gram = try BLAS.matmul(p1, transposeA: true, p1).elements
            gram.append(p1.isFinite ? 0 : 1)
            grams.append(gram)
            p1s[k] = p1
            cholesky.append(k)
        }
        try ConcatenatedCollective.allReduce(&grams, where: cholesky.map { _ in true }, over: tp, op: .sum)
        for (j, k) in cholesky.enumerated() {
            let r = work[k].rank
            var gram = grams[j]
            let nonFinite = gram.removeLast() > 0
            guard !nonFinite, let p1 = p1s[k], let r2 = try? LAPACK.cholesky(try Matrix(rows: r, columns: r, elements: gram)),
                  (try? Orthonormalization.requireWellConditioned(r2, "R₂")) != nil else {
                gathered.append(k)
                continue
            }
            work[k].p = try Orthonormalization.timesInverse(p1, r2)
        }
        // Gathered path, in the batch's order: P is p×r, a rank-r factor.
        for k in gathered.sorted() {
            let (item, s) = (work[k], states[work[k].index])
            let (p, r) = (item.geometry.p, item.rank)
            let sketch = { dion.sketch(parameterID: s.parameterID, step: s.step, rank: r, rows: p) }
            let counts = ChunkSplit.sizes(length: p, parts: mesh.shape.size(of: .tp)).map { $0 * r }
            let whole = try Matrix(rows: p, columns: r, elements: try tp.allGather(item.p.elements, counts: counts))
            let q = try Orthonormalization.orthonormalize(whole, method: configuration.orthonormalization, sketch: sketch).q
            work[k].p = q.rows(item.geometry.pRange(of: xs[item.index]))
        }
    }

    /// Orth(P) for a matrix whose P₀ this rank holds whole (no `tp` rows): the single-device
    /// method, with the sketch of the state's step.
    func orthonormalizedWhole(_ item: WorkItem, _ s: State) throws -> Matrix {
        let sketch = { dion.sketch(parameterID: s.parameterID, step: s.step, rank: item.rank, rows: item.geometry.p) }
        return try Orthonormalization.orthonormalize(item.p, method: dion.configuration.orthonormalization, sketch: sketch).q
    }
}
