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
            let gradient = compressed ? g.local : try ShardedStepSupport.averagedOverReplicas(g, mesh: mesh)
            return try shardedStep(&x, gradient, &state, eta, mesh, compressed: compressed)
        }
    }

    /// The step on this rank's rows (all rows for the replicated layout, whose fsdp axis is 1).
    ///
    /// With B = Mᵀ (FSDP): P₀ = Σ_shards M_locᵀ·Q_loc, R_loc = M_loc·P, M_loc −= (1−μ)·R_loc·Pᵀ,
    /// X_loc −= η·s·Q_loc·Pᵀ. With B = M (replicated, m ≥ n): P₀ = M·Q, R = Mᵀ·P, M −= (1−μ)·P·Rᵀ,
    /// X −= η·s·P·Qᵀ. With the compressed sync, P₀ and R are averaged over `dp` instead of the
    /// gradient, so every replica applies the same P and R to its own buffer (§2.1).
    private func shardedStep(_ x: inout ShardedMatrix, _ gradient: [Float], _ state: inout State, _ eta: Float,
                             _ mesh: DeviceMesh, compressed: Bool) throws -> StepOutcome {
        let configuration = dion.configuration
        let fsdp = mesh.communicator(.fsdp), dp = mesh.communicator(.replicate)
        let (m, n) = (x.rows, x.columns)
        let (localRows, width) = (x.localRows, x.localColumns)
        let transposed = state.transposed
        let r = state.q.columns
        let p = transposed ? n : m
        try BLAS.axpy(1, try Matrix(rows: localRows, columns: width, elements: gradient), &state.momentum)
        let hasRows = localRows > 0
        // Partial P₀ (summed over fsdp shards), plus one element: does any buffer hold a non-zero?
        var partial = hasRows ? try BLAS.matmul(state.momentum, transposeA: transposed, state.q).elements
                              : [Float](repeating: 0, count: p * r)
        partial.append(state.momentum.isZero ? 0 : 1)
        if mesh.shape.fsdp > 1 { try fsdp.allReduce(&partial, op: .sum) }
        if compressed { try dp.allReduce(&partial, op: .average) }
        let anyNonZero = partial.removeLast() > 0
        var pMatrix: Matrix
        var rMatrix: Matrix
        if !anyNonZero {
            pMatrix = Matrix(rows: p, columns: r)
            rMatrix = state.q
        } else {
            let p0 = try Matrix(rows: p, columns: r, elements: partial)
            pMatrix = try Orthonormalization.orthonormalize(p0, method: configuration.orthonormalization) {
                dion.sketch(parameterID: state.parameterID, step: state.step, rank: r, rows: p)
            }.q
            // R = Bᵀ·P: with B = Mᵀ it is M_loc·P, row-sharded exactly like Q (no communication).
            rMatrix = hasRows ? try BLAS.matmul(state.momentum, transposeA: !transposed, pMatrix)
                              : Matrix(rows: 0, columns: r)
            if compressed { try dp.allReduce(&rMatrix.elements, op: .average) }
            pMatrix.replaceNonFinite()
            rMatrix.replaceNonFinite()
        }
        // Error feedback: B ← B − (1−μ)·P·Rᵀ on this rank's part of the buffer.
        if hasRows {
            if transposed {
                try BLAS.gemm(rMatrix, pMatrix, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1,
                              into: &state.momentum)
            } else {
                try BLAS.gemm(pMatrix, rMatrix, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1,
                              into: &state.momentum)
            }
        }
        // Column norms of R need every shard of it: all-reduce the 1×r sums of squares (fp64).
        var sums = rMatrix.columnSumsOfSquares
        if mesh.shape.fsdp > 1 && transposed { try fsdp.allReduce(&sums, op: .sum) }
        var q = rMatrix
        q.divideColumns(by: sums.map { Float($0.squareRoot()) + configuration.epsilon })
        state.q = q
        // X ← (1 − ηλ)·X − η·√(m/n)·(P·Qᵀ oriented back) on this rank's rows.
        if hasRows {
            var local = try Matrix(rows: localRows, columns: width, elements: x.local)
            let scale = (Float(m) / Float(n)).squareRoot()
            let decay = 1 - eta * configuration.weightDecay
            if transposed {
                try BLAS.gemm(q, pMatrix, transposeB: true, alpha: -eta * scale, beta: decay, into: &local)
            } else {
                try BLAS.gemm(pMatrix, q, transposeB: true, alpha: -eta * scale, beta: decay, into: &local)
            }
            x.local = local.elements
        }
        state.step += 1
        return .applied
    }

    /// §2: the compressed sync applies when it is on, there is a replicate axis, ρ < 1 (r below
    /// min(m, n)) and moving P and R, (m + n)·r, is cheaper than the gradient, m·n.
    public func usesCompressedSync(rows m: Int, columns n: Int, rank r: Int, mesh: DeviceMesh) -> Bool {
        switch dataParallelSync {
        case .uncompressed: return false
        case .compressed: return mesh.shape.replicate > 1
        case .automatic: return mesh.shape.replicate > 1 && r < min(m, n) && (m + n) * r < m * n
        }
    }
}
