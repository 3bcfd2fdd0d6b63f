import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedDion {
    /// One step on this rank's shards. Collective over the mesh: every rank calls it with its
    /// block of the parameter and of the gradient.
    ///
    /// The same as a batched step (`step(parameters:gradients:states:learningRates:mesh:)`) of
    /// one matrix; the gradient convention and the collectives are described there.
    ///
    /// - Parameters:
    ///   - x: this rank's shard of the parameter, updated in place.
    ///   - g: this rank's block of the gradient, with `x`'s shape and layout.
    ///   - state: the matrix's state from `initialState(for:parameterID:mesh:q0:transposed:)`.
    ///   - eta: the learning rate.
    ///   - mesh: the mesh `x` is sharded on.
    /// - Returns: `.applied`, or `.skipped` (on every rank) when the gradient holds NaN/±∞.
    /// - Throws: `OptimizerError` for a gradient that does not match, a non-finite gradient under
    ///   the `.error` policy, or a failed collective (`.communication`, with the `MPIError`).
    public func step(parameter x: inout ShardedMatrix, gradient g: ShardedMatrix, state: inout State,
                     learningRate eta: Float, mesh: DeviceMesh) throws(OptimizerError) -> StepOutcome {
        var xs = [x], states = [state]
        let outcomes = try step(parameters: &xs, gradients: [g], states: &states, learningRates: [eta], mesh: mesh)
        x = xs[0]
        state = states[0]
        return outcomes[0]
    }

    /// One step on several matrices at once, each exactly as if stepped alone, with every
    /// collective of the step issued once for the whole batch: the payloads of all matrices that
    /// need a collective on an axis are concatenated into one message (no padding, no dummy
    /// matrices). A step of k matrices therefore issues the few collectives of one step — per
    /// step (elements, summed over the matrices that need them): the finiteness flags (k) over
    /// the world; the gradient blocks averaged over `dp` (uncompressed sync); P₀ (p_loc·r + 1)
    /// summed over `fsdp` and averaged over `dp` (compressed sync); over `tp` the zero-guard flags,
    /// the k_s×r sketch products and the r×r + 1 Gram matrices of the distributed RCQR and the
    /// partial R (q_loc·r); R averaged over `dp` (compressed); the 1×r column sums of squares
    /// (fp64) over `fsdp`. Matrices may differ in shape and layout.
    ///
    /// Collective over the mesh: every rank passes the same matrices in the same order.
    /// A matrix whose gradient holds NaN/±∞ on any rank is skipped (or throws, by the policy)
    /// on every rank; the others step.
    ///
    /// The gradient each rank passes: its block (same layout as the parameter) of the gradient of
    /// the loss over **this rank's data** — with FSDP, summed over the `fsdp` group by a
    /// reduce-scatter (`ShardedMatrix.reduceScattered(_:over:on:)`) and, to get the mean over the
    /// group's data, divided by F (what `Trainer` does). The step averages it over `dp` itself
    /// (or, with the compressed sync, P₀ and R instead); with `.averagedByCaller` it does not.
    /// So each rank passing the gradient of its own mean loss, reduce-scattered and divided by F,
    /// makes the step that of the global batch's mean loss on every mesh.
    ///
    /// - Parameters:
    ///   - xs: this rank's shards of the parameters, updated in place.
    ///   - gs: this rank's blocks of their gradients, one per parameter, same shapes and layouts.
    ///   - states: one state per parameter, updated in place.
    ///   - etas: one learning rate per parameter.
    ///   - mesh: the mesh the parameters are sharded on.
    /// - Returns: per parameter, `.applied` or `.skipped` (the same on every rank).
    /// - Throws: `OptimizerError.shapeMismatch` when the counts or a gradient's shape do not match;
    ///   `.unsupportedTensor` for a layout Dion cannot step on `mesh`; `.nonFiniteGradient` under
    ///   the `.error` policy; `.communication` (with the `MPIError`) for a failed collective;
    ///   `.numerical` for a failed factorization.
    public func step(parameters xs: inout [ShardedMatrix], gradients gs: [ShardedMatrix], states: inout [State],
                     learningRates etas: [Float], mesh: DeviceMesh) throws(OptimizerError) -> [StepOutcome] {
        guard gs.count == xs.count, states.count == xs.count, etas.count == xs.count else {
            throw OptimizerError(.shapeMismatch, "a batched step needs one gradient, state and learning rate per parameter: "
                                 + "\(xs.count) parameters, \(gs.count) gradients, \(states.count) states, \(etas.count) rates")
        }
        guard !xs.isEmpty else { return [] }
        return try ShardedStepSupport.run("Dion's step") { () throws -> [StepOutcome] in
            let skipped = try ShardedStepSupport.agreeOnFiniteness(gs, like: xs, policy: dion.configuration.nonFinitePolicy,
                                                                   mesh: mesh, agreedByCaller: finitenessAgreedByCaller)
            let schedules = try xs.indices.map { i in try schedule(xs[i], states[i], mesh) }
            let owners = OrthonormalizationOwners.assign(schedules, fsdp: mesh.shape.fsdp)
            let active = xs.indices.filter { skipped[$0] == nil }
            var work = active.map { i in WorkItem(index: i, x: xs[i], schedule: schedules[i], owner: owners[i], mesh: mesh) }
            try addGradients(&work, gs, &states, mesh)
            try shardedStep(&work, &xs, &states, etas, mesh)
            return xs.indices.map { skipped[$0] ?? .applied }
        }
    }

    /// What the batched step needs to know of one matrix.
    struct WorkItem {
        let index: Int
        /// Which phases this matrix takes part in (`DionMatrixSchedule`, shared with `StepPlan`).
        let schedule: DionMatrixSchedule
        let pLocal: Int
        /// The fsdp rank that orthonormalizes P (`DionMatrixSchedule.ownedOrthonormalization`).
        let owner: Int?
        /// With an owner: per fsdp rank, the elements of P₀ (then P) and the flag it holds in
        /// phases 3 and 9 (p·r + 1 on the owner, 0 elsewhere).
        let pieces: [Int]
        /// P₀ (then P) on this rank, R, and whether any buffer of this matrix holds a non-zero.
        var p = Matrix(rows: 0, columns: 0)
        var r = Matrix(rows: 0, columns: 0)
        var anyNonZero = false

        /// The phase-9 flag of a matrix whose owner failed to orthonormalize P₀ (0 and 1 say
        /// whether any buffer holds a non-zero).
        static let orthonormalizationFailed: Float = 2

        /// What this rank contributes to phase 9: P and its flag when it owns the matrix, else nothing.
        func ownedPiece(fsdpRank me: Int) -> [Float] {
            owner == me ? p.elements + [anyNonZero ? 1 : 0] : []
        }

        var geometry: DionWorkGeometry { schedule.geometry }
        var inner: MeshAxis? { schedule.inner }
        var outer: MeshAxis? { schedule.outer }
        var compressed: Bool { schedule.compressed }
        var rank: Int { schedule.rank }

        init(index: Int, x: ShardedMatrix, schedule: DionMatrixSchedule, owner: Int?, mesh: DeviceMesh) {
            self.index = index
            self.schedule = schedule
            self.owner = owner
            pLocal = schedule.geometry.pRange(of: x).count
            pieces = owner.map { schedule.ownedPieces(owner: $0, fsdp: mesh.shape.fsdp) } ?? []
        }
    }

    /// A matrix's schedule on `mesh` (`DionMatrixSchedule`, shared with `StepPlan`).
    func schedule(_ x: ShardedMatrix, _ state: State, _ mesh: DeviceMesh) throws -> DionMatrixSchedule {
        do {
            return try DionMatrixSchedule(x.planned(rank: state.q.columns, transposed: state.transposed),
                                          sync: dataParallelSync,
                                          randomizedCholeskyQR: dion.configuration.orthonormalization == .rcqr,
                                          mesh: mesh.shape)
        } catch {
            throw OptimizerError(.unsupportedTensor, error.message)
        }
    }

    /// M += G on every active matrix, after averaging over `dp` (one all-reduce for all matrices
    /// that use the uncompressed sync).
    private func addGradients(_ work: inout [WorkItem], _ gs: [ShardedMatrix], _ states: inout [State],
                              _ mesh: DeviceMesh) throws {
        var gradients = work.map { gs[$0.index].local }
        let averaged = uncompressedGradientsAveragedByCaller
        try ConcatenatedCollective.allReduce(&gradients, where: work.map { $0.schedule.averagesGradient && !averaged },
                                             over: mesh.communicator(.replicate), op: .average)
        for (k, item) in work.enumerated() {
            let i = item.index
            // Wraps the gradient's storage (read only: no copy) and adds it into the buffer in place.
            try BLAS.axpy(1, try Matrix(rows: states[i].momentum.rows, columns: states[i].momentum.columns,
                                        elements: gradients[k]), &states[i].momentum)
        }
    }

    /// The step on this rank's blocks, for every layout (§2 paths A, B, C).
    ///
    /// With B_loc this rank's block of the work matrix (p_loc×q_loc; Mᵀ when transposed) and Q_loc
    /// its rows of Q: P₀ = Σ_fsdp B_loc·Q_loc; P = Orth(P₀) row-sharded over `tp` (distributed RCQR)
    /// or, without tp, on the matrix's one owner among the fsdp ranks and then all-gathered;
    /// R = Σ_tp B_locᵀ·P_loc; B_loc −= (1−μ)·P_loc·R_locᵀ; Q_loc = R_loc / ‖R‖_col (sums of squares
    /// over `fsdp`); X_loc −= η·√(m/n)·P_loc·Q_locᵀ (oriented back). With the compressed sync, P₀
    /// and R are averaged over `dp` instead of the gradient, so every replica applies the same P and
    /// R to its own buffer (§2.1).
    private func shardedStep(_ work: inout [WorkItem], _ xs: inout [ShardedMatrix], _ states: inout [State],
                             _ etas: [Float], _ mesh: DeviceMesh) throws {
        let dp = mesh.communicator(.replicate)
        let fsdp = mesh.communicator(.fsdp)
        let me = mesh.index(on: .fsdp)
        // Partial P₀ (summed over fsdp shards), plus one element: does any buffer hold a non-zero?
        // Summed over fsdp (phase 2), or reduce-scattered to the matrix's owner (phase 3), which
        // alone then holds it.
        var partials = try work.map { item in try Self.partialP0(states[item.index].momentum, states[item.index]) }
        try ConcatenatedCollective.allReduce(&partials, where: work.map { $0.outer != nil && $0.owner == nil },
                                             over: fsdp, op: .sum)
        try ConcatenatedCollective.reduceScatter(&partials, where: work.map { $0.owner != nil }, pieces: work.map(\.pieces),
                                                 over: fsdp, op: .sum)
        let holdsP = work.map { $0.owner.map { $0 == me } ?? true }
        try ConcatenatedCollective.allReduce(&partials, where: work.indices.map { work[$0].compressed && holdsP[$0] },
                                             over: dp, op: .average)
        try orthonormalizeReduced(&work, &partials, holdsP: holdsP, xs, states, mesh)
        // Phase 9: every owner's P and zero guard to every fsdp rank.
        var owned = work.map { $0.ownedPiece(fsdpRank: me) }
        try ConcatenatedCollective.allGather(&owned, where: work.map { $0.owner != nil }, pieces: work.map(\.pieces), over: fsdp)
        try Self.takeGatheredP(&work, &owned)
        try applyUpdate(&work, &xs, &states, etas, mesh)
    }

    /// This rank's term of P₀ = Σ_fsdp B_loc·Q_loc for the work matrix `b` (the state's buffer, or
    /// B = M + G computed apart; Mᵀ when transposed), with one element appended: 1 when `b` holds a
    /// non-zero, else 0 (summed with P₀, it tells whether any shard does).
    static func partialP0(_ b: Matrix, _ s: State) throws -> [Float] {
        var partial = try BLAS.matmul(b, transposeA: s.transposed, s.q).elements
        partial.append(b.isZero ? 0 : 1)
        return partial
    }

    /// Phases 5–8 on the matrices whose reduced P₀ (with its flag) this rank holds (`holdsP`):
    /// the zero-guard flags over `tp`, then P = Orth(P₀) for those with a non-zero buffer
    /// (`orthonormalize`). `partials` is emptied where P takes its storage.
    func orthonormalizeReduced(_ work: inout [WorkItem], _ partials: inout [[Float]], holdsP: [Bool],
                               _ xs: [ShardedMatrix], _ states: [State], _ mesh: DeviceMesh) throws {
        var flags = partials.map { [$0.last ?? 0 > 0 ? Float(1) : 0] }
        try ConcatenatedCollective.allReduce(&flags, where: work.map { $0.inner != nil }, over: mesh.communicator(.tp), op: .max)
        for k in work.indices where holdsP[k] {
            partials[k].removeLast()
            work[k].anyNonZero = flags[k][0] > 0
            work[k].p = try Matrix(rows: work[k].pLocal, columns: work[k].rank, elements: partials[k])
            partials[k] = []  // P holds the only reference: later in-place updates copy nothing
        }
        let live = work.indices.filter { holdsP[$0] && work[$0].anyNonZero }
        try orthonormalize(&work, live, xs, states, mesh)
    }

    /// After phase 9: each matrix with an owner takes P and its flag from the gathered pieces
    /// (`owned[k]`, emptied). The flag is 0 (an all-zero buffer), 1, or `orthonormalizationFailed`
    /// when the owner could not orthonormalize P₀ (`BackwardStage`): then every rank throws.
    static func takeGatheredP(_ work: inout [WorkItem], _ owned: inout [[Float]]) throws {
        for k in work.indices where work[k].owner != nil {
            let flag = owned[k].removeLast()
            if flag == WorkItem.orthonormalizationFailed {
                throw OptimizerError(.numerical, "orthonormalizing P of matrix \(work[k].index) failed on its owner "
                                     + "(fsdp rank \(work[k].owner ?? 0)): P₀ is not finite or numerically singular")
            }
            work[k].anyNonZero = flag > 0
            work[k].p = try Matrix(rows: work[k].pLocal, columns: work[k].rank, elements: owned[k])
            owned[k] = []
        }
    }

    /// Phases 10–12 and the update, once every matrix holds P (this rank's rows): R = Bᵀ·P
    /// (summed over `tp`, averaged over `dp` when compressed), the error feedback on the buffer,
    /// the new Q from R's column norms (sums of squares over `fsdp`), and X.
    func applyUpdate(_ work: inout [WorkItem], _ xs: inout [ShardedMatrix], _ states: inout [State],
                     _ etas: [Float], _ mesh: DeviceMesh) throws {
        let configuration = dion.configuration
        let dp = mesh.communicator(.replicate)
        let fsdp = mesh.communicator(.fsdp)
        // R = Bᵀ·P: partial over the tp shards of P's side, row-sharded like Q over fsdp.
        var rs = try work.map { item -> [Float] in
            guard item.anyNonZero else { return [] }
            let s = states[item.index]
            return try BLAS.matmul(s.momentum, transposeA: !s.transposed, item.p).elements
        }
        try ConcatenatedCollective.allReduce(&rs, where: work.map { $0.anyNonZero && $0.inner != nil },
                                             over: mesh.communicator(.tp), op: .sum)
        try ConcatenatedCollective.allReduce(&rs, where: work.map { $0.anyNonZero && $0.compressed }, over: dp, op: .average)
        for k in work.indices {
            let i = work[k].index
            if work[k].anyNonZero {
                work[k].r = try Matrix(rows: states[i].q.rows, columns: work[k].rank, elements: rs[k])
                rs[k] = []
                work[k].p.replaceNonFinite()
                work[k].r.replaceNonFinite()
            } else {
                work[k].p = Matrix(rows: work[k].pLocal, columns: work[k].rank)
                work[k].r = states[i].q
            }
            // Error feedback: B ← B − (1−μ)·P·Rᵀ on this rank's block of the buffer, in place (no
            // other reference to the buffer is alive here).
            let (a, b) = states[i].transposed ? (work[k].r, work[k].p) : (work[k].p, work[k].r)
            try BLAS.gemm(a, b, transposeB: true, alpha: -(1 - configuration.momentum), beta: 1, into: &states[i].momentum)
        }
        // Column norms of R need every fsdp shard of it: all-reduce the 1×r sums of squares (fp64).
        var sums = work.map(\.r.columnSumsOfSquares)
        try ConcatenatedCollective.allReduce(&sums, where: work.map { $0.outer != nil }, over: fsdp, op: .sum)
        for k in work.indices {
            let i = work[k].index
            // Q ← R / ‖R‖_col, taking R's storage (R is not used again).
            states[i].q = work[k].r
            work[k].r = Matrix(rows: 0, columns: 0)
            states[i].q.divideColumns(by: sums[k].map { Float($0.squareRoot()) + configuration.epsilon })
            // X ← (1 − ηλ)·X − η·√(m/n)·(P·Qᵀ oriented back) on this rank's block, in place.
            let scale = (Float(xs[i].rows) / Float(xs[i].columns)).squareRoot()
            let decay = 1 - etas[i] * configuration.weightDecay
            let (a, b) = states[i].transposed ? (states[i].q, work[k].p) : (work[k].p, states[i].q)
            try BLAS.gemm(a, b, transposeB: true, alpha: -etas[i] * scale, beta: decay, into: &xs[i].block)
            states[i].step += 1
        }
    }

    /// §2: the compressed sync applies when it is on, there is a replicate axis, ρ < 1 (r below
    /// min(m, n)), moving P and R, (m + n)·r, is cheaper than the gradient, m·n — and, on a
    /// sharded layout, when the per-rank payload it puts on `dp`, (⌈p/T⌉ + ⌈q/F⌉)·r, is below the
    /// gradient block it replaces (P₀ is not sharded over `fsdp`, so with a large F the sharded
    /// gradient is the cheaper message). Decided from global shapes, so every rank agrees.
    public func usesCompressedSync(for x: ShardedMatrix, rank r: Int, mesh: DeviceMesh) -> Bool {
        dataParallelSync.usesCompressedSync(rows: x.rows, columns: x.columns, layout: x.layout, rank: r, mesh: mesh.shape)
    }
}
