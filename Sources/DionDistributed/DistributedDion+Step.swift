import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedDion {
    /// One step on this rank's shards. Collective over the mesh: every rank calls it with its
    /// block of the parameter and of the gradient (already summed over this rank's data).
    ///
    /// Collectives per step (elements): a 1-element finiteness flag over the world; the gradient
    /// block all-reduce-averaged over `dp` when R > 1 (uncompressed sync); under FSDP, P₀ (p·r + 1)
    /// all-reduce-summed and the column sums of squares (r, fp64) all-reduce-summed over `fsdp`.
    public func step(parameter x: inout ShardedMatrix, gradient g: ShardedMatrix, state: inout State,
                     learningRate eta: Float, mesh: DeviceMesh) throws(OptimizerError) -> StepOutcome {
        try ShardedStepSupport.run { () throws -> StepOutcome in
            if let skipped = try ShardedStepSupport.agreeOnFiniteness(g, like: x, policy: dion.configuration.nonFinitePolicy,
                                                                      mesh: mesh) {
                return skipped
            }
            let compressed = usesCompressedSync(rows: x.rows, columns: x.columns, rank: state.q.columns, mesh: mesh)
            let gradient = compressed || dataParallelSync == .averagedByCaller
                ? g.local : try ShardedStepSupport.averagedOverReplicas(g, mesh: mesh)
            return try shardedStep(&x, gradient, &state, eta, mesh, compressed: compressed)
        }
    }

    /// The step on this rank's block, for every layout (§2 paths A, B, C).
    ///
    /// With B_loc this rank's block of the work matrix (p_loc×q_loc; Mᵀ when transposed) and Q_loc
    /// its rows of Q: P₀ = Σ_fsdp B_loc·Q_loc; P = Orth(P₀) row-sharded over `tp` (distributed RCQR);
    /// R = Σ_tp B_locᵀ·P_loc; B_loc −= (1−μ)·P_loc·R_locᵀ; Q_loc = R_loc / ‖R‖_col (sums of squares
    /// over `fsdp`); X_loc −= η·√(m/n)·P_loc·Q_locᵀ (oriented back). With the compressed sync, P₀
    /// and R are averaged over `dp` instead of the gradient, so every replica applies the same P and
    /// R to its own buffer (§2.1).
    private func shardedStep(_ x: inout ShardedMatrix, _ gradient: [Float], _ state: inout State, _ eta: Float,
                             _ mesh: DeviceMesh, compressed: Bool) throws -> StepOutcome {
        let configuration = dion.configuration
        let geometry = try Self.geometry(x, preferTransposed: state.transposed)
        let (inner, outer) = (geometry.inner(mesh), geometry.outer(mesh))
        let dp = mesh.communicator(.replicate)
        let (m, n) = (x.rows, x.columns)
        let transposed = state.transposed
        let r = state.q.columns
        let pLocal = geometry.pRange(of: x).count
        try BLAS.axpy(1, try Matrix(rows: x.localRows, columns: x.localColumns, elements: gradient), &state.momentum)
        // Partial P₀ (summed over fsdp shards), plus one element: does any buffer hold a non-zero?
        var partial = try BLAS.matmul(state.momentum, transposeA: transposed, state.q).elements
        partial.append(state.momentum.isZero ? 0 : 1)
        if let outer { try mesh.communicator(outer).allReduce(&partial, op: .sum) }
        if compressed { try dp.allReduce(&partial, op: .average) }
        var anyNonZero = partial.removeLast() > 0
        if let inner {
            var flag: [Float] = [anyNonZero ? 1 : 0]
            try mesh.communicator(inner).allReduce(&flag, op: .max)
            anyNonZero = flag[0] > 0
        }
        var pMatrix: Matrix
        var rMatrix: Matrix
        if !anyNonZero {
            pMatrix = Matrix(rows: pLocal, columns: r)
            rMatrix = state.q
        } else {
            let p0 = try Matrix(rows: pLocal, columns: r, elements: partial)
            pMatrix = try orthonormalize(p0, x: x, geometry: geometry, state: state, mesh: mesh)
            // R = Bᵀ·P: partial over the tp shards of P's side, row-sharded like Q over fsdp.
            rMatrix = try BLAS.matmul(state.momentum, transposeA: !transposed, pMatrix)
            if let inner { try mesh.communicator(inner).allReduce(&rMatrix.elements, op: .sum) }
            if compressed { try dp.allReduce(&rMatrix.elements, op: .average) }
            pMatrix.replaceNonFinite()
            rMatrix.replaceNonFinite()
        }
        // Error feedback: B ← B − (1−μ)·P·Rᵀ on this rank's block of the buffer.
        if transposed {
            try BLAS.gemm(rMatrix, pMatrix, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1,
                          into: &state.momentum)
        } else {
            try BLAS.gemm(pMatrix, rMatrix, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1,
                          into: &state.momentum)
        }
        // Column norms of R need every fsdp shard of it: all-reduce the 1×r sums of squares (fp64).
        var sums = rMatrix.columnSumsOfSquares
        if let outer { try mesh.communicator(outer).allReduce(&sums, op: .sum) }
        var q = rMatrix
        q.divideColumns(by: sums.map { Float($0.squareRoot()) + configuration.epsilon })
        state.q = q
        // X ← (1 − ηλ)·X − η·√(m/n)·(P·Qᵀ oriented back) on this rank's block.
        var local = try Matrix(rows: x.localRows, columns: x.localColumns, elements: x.local)
        let scale = (Float(m) / Float(n)).squareRoot()
        let decay = 1 - eta * configuration.weightDecay
        if transposed {
            try BLAS.gemm(q, pMatrix, transposeB: true, alpha: -eta * scale, beta: decay, into: &local)
        } else {
            try BLAS.gemm(pMatrix, q, transposeB: true, alpha: -eta * scale, beta: decay, into: &local)
        }
        x.local = local.elements
        state.step += 1
        return .applied
    }

    /// §2: the compressed sync applies when it is on, there is a replicate axis, ρ < 1 (r below
    /// min(m, n)) and moving P and R, (m + n)·r, is cheaper than the gradient, m·n.
    public func usesCompressedSync(rows m: Int, columns n: Int, rank r: Int, mesh: DeviceMesh) -> Bool {
        switch dataParallelSync {
        case .uncompressed, .averagedByCaller: return false
        case .compressed: return mesh.shape.replicate > 1
        case .automatic: return mesh.shape.replicate > 1 && r < min(m, n) && (m + n) * r < m * n
        }
    }
}
