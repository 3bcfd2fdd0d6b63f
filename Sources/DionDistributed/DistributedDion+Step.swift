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
        guard g.rows == x.rows, g.columns == x.columns, g.layout == x.layout, g.local.count == x.local.count else {
            throw OptimizerError(.shapeMismatch, "gradient \(g.rows)×\(g.columns) \(g.layout) does not match parameter "
                                 + "\(x.rows)×\(x.columns) \(x.layout)")
        }
        let configuration = dion.configuration
        do {
            // Every rank must take the same branch: agree on finiteness first.
            var bad: [Int32] = [g.local.allSatisfy { $0.isFinite } ? 0 : 1]
            try mesh.world.allReduce(&bad, op: .max)
            if bad[0] != 0 {
                if configuration.nonFinitePolicy == .error {
                    throw OptimizerError(.nonFiniteGradient, "a gradient shard contains NaN or ±∞")
                }
                return .skipped(reason: "non-finite gradient")
            }
            var gradient = g.local
            if mesh.shape.replicate > 1 { try mesh.communicator(.replicate).allReduce(&gradient, op: .average) }
            if x.layout == .replicated {
                return try replicatedStep(&x, gradient, &state, eta)
            }
            return try fsdpStep(&x, gradient, &state, eta, mesh)
        } catch let error as OptimizerError {
            throw error
        } catch {
            throw OptimizerError(.numerical, "\(error)")
        }
    }

    /// Path A: the averaged gradient goes through the single-device step on every replica.
    private func replicatedStep(_ x: inout ShardedMatrix, _ gradient: [Float], _ state: inout State,
                                _ eta: Float) throws -> StepOutcome {
        var whole = try Matrix(rows: x.rows, columns: x.columns, elements: x.local)
        var single = Dion.State(momentum: state.momentum, q: state.q, step: state.step, parameterID: state.parameterID,
                                transposed: state.transposed)
        let outcome = try dion.step(parameter: &whole, gradient: try Matrix(rows: x.rows, columns: x.columns,
                                                                             elements: gradient),
                                    state: &single, learningRate: eta)
        x.local = whole.elements
        state.momentum = single.momentum
        state.q = single.q
        state.step = single.step
        return outcome
    }

    /// Path B: rows of X, M and Q over `fsdp`; B = Mᵀ (p = n, q = m).
    private func fsdpStep(_ x: inout ShardedMatrix, _ gradient: [Float], _ state: inout State, _ eta: Float,
                          _ mesh: DeviceMesh) throws -> StepOutcome {
        let configuration = dion.configuration
        let fsdp = mesh.communicator(.fsdp)
        let (m, n) = (x.rows, x.columns)
        let localRows = x.localRows
        let r = state.q.columns
        try BLAS.axpy(1, try Matrix(rows: localRows, columns: n, elements: gradient), &state.momentum)
        // P₀ = B·Q = Σ over shards of M_locᵀ·Q_loc (n×r), plus one element: does any shard hold a non-zero M?
        var partial = localRows > 0 ? try BLAS.matmul(state.momentum, transposeA: true, state.q).elements
                                    : [Float](repeating: 0, count: n * r)
        partial.append(state.momentum.isZero ? 0 : 1)
        try fsdp.allReduce(&partial, op: .sum)
        let anyNonZero = partial.removeLast() > 0
        var p: Matrix
        var rLocal: Matrix
        if !anyNonZero {
            p = Matrix(rows: n, columns: r)
            rLocal = state.q
        } else {
            let p0 = try Matrix(rows: n, columns: r, elements: partial)
            p = try Orthonormalization.orthonormalize(p0, method: configuration.orthonormalization) {
                dion.sketch(parameterID: state.parameterID, step: state.step, rank: r, rows: n)
            }.q
            // R_loc = B_locᵀ·P = M_loc·P: row-sharded exactly like Q, no communication.
            rLocal = localRows > 0 ? try BLAS.matmul(state.momentum, p) : Matrix(rows: 0, columns: r)
            p.replaceNonFinite()
            rLocal.replaceNonFinite()
        }
        // Error feedback on the local rows: M_loc ← M_loc − (1−μ)·R_loc·Pᵀ.
        if localRows > 0 {
            try BLAS.gemm(rLocal, p, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1, into: &state.momentum)
        }
        // Column norms of R need every shard: all-reduce the 1×r sums of squares (fp64).
        var sums = rLocal.columnSumsOfSquares
        try fsdp.allReduce(&sums, op: .sum)
        let divisors = sums.map { Float($0.squareRoot()) + configuration.epsilon }
        var q = rLocal
        for i in 0..<q.rows { for j in 0..<r { q[i, j] /= divisors[j] } }
        state.q = q
        // X_loc ← (1 − ηλ)X_loc − η·√(m/n)·Q_loc·Pᵀ (the update P·Qᵀ of B, transposed back).
        if localRows > 0 {
            var local = try Matrix(rows: localRows, columns: n, elements: x.local)
            let scale = (Float(m) / Float(n)).squareRoot()
            try BLAS.gemm(q, p, transposeB: true, alpha: -eta * scale, beta: 1 - eta * configuration.weightDecay,
                          into: &local)
            x.local = local.elements
        }
        state.step += 1
        return .applied
    }
}
