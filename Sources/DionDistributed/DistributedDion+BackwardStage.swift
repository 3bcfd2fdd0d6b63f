import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

extension DistributedDion {
    /// Dion's step with its `fsdp` communication started during the backward, block by block, so
    /// that it crosses the network behind the rest of the backward's compute (`dion train`).
    ///
    /// When the gradient shards of a group of matrices become final (`gradientsFinal`, in the order
    /// the backward finishes its blocks), the stage forms B = M + G in a buffer of its own (the
    /// momentum itself is not touched before the step is applied), computes this rank's term of
    /// P₀ = Σ_fsdp B·Q and starts the group's P₀ reduction: a reduce-scatter to each matrix's owner
    /// (phase 3) and, for matrices whose P is row-sharded over `tp`, an all-reduce (phase 2). As a
    /// group's reduce-scatter completes (`progress`, driven from the backward), each owner
    /// orthonormalizes its matrices' P₀ and the owners' P start their all-gather (phase 9). After
    /// the step's finiteness vote, `step` waits for what is still in flight, moves B into the
    /// momenta and finishes exactly as the batched step does (phases 5–8 over `tp`, 10–12, the
    /// update). A skipped step (`abandon`) completes the collectives and drops them: momenta,
    /// Q and weights stay as they were.
    ///
    /// The arithmetic is the batched step's (`step(parameters:gradients:states:learningRates:mesh:)`)
    /// operation for operation: B = M + G is the same sum, each matrix's P₀, P, R and update are
    /// computed by the same functions, and with two fsdp ranks every reduction is one sum of two
    /// terms, so the results are bit-identical to it; with more, the P₀ sums may be added in another
    /// order. The bytes per axis are the batched step's (summed over the ranks; per rank as well
    /// except for a phase-2 all-reduce with fsdp ≥ 3, whose ring blocks round differently when cut
    /// per group), in one message per group instead of one per step. The reductions and the gathers each run on their own duplicate of the `fsdp`
    /// communicator, so that each communicator sees one fixed order of collectives on every rank
    /// whatever MPI's timing.
    ///
    /// Per-call agreement checks (`MPIRuntime.debugCollectives`) block at the call, and the stage
    /// issues where each rank's MPI timing puts it, so `dion train` leaves the stage off under them.
    ///
    /// It takes the step of `dion train` on meshes with `fsdp` > 1 and no `dp` (gradients are final
    /// when their reduce-scatter completes: no average is still to come), every gradient's
    /// finiteness agreed by the caller, and no clipping (which would rescale G after the backward).
    /// It keeps one buffer per matrix the size of its momentum.
    public final class BackwardStage {
        /// The optimizer whose step the stage takes (its configuration and shared phases).
        public let optimizer: DistributedDion
        /// The mesh of the parameters.
        public let mesh: DeviceMesh
        /// Leave collectives in flight (`true`) or wait for each as soon as it is started (`false`,
        /// `--overlap off`: the same collectives in the same order, so the same results and bytes).
        /// It must match how the caller delivers gradients: with `false`, every rank must call
        /// `gradientsFinal` at the same point of its program (a blocking wait there needs the peers).
        public var overlap: Bool
        /// The P₀ reductions (issued at `gradientsFinal`, in the backward's order).
        private let reductions: Communicator
        /// The owners' P gathers (issued in the groups' order as their reductions complete).
        private let gathers: Communicator
        /// B = M + G per matrix; trades storage with the momentum at each applied step.
        private var buffers: [Matrix] = []
        /// The step in flight: the states as they were when it began (read only), per matrix its
        /// work item, whether its gradient arrived, its P₀ term or reduced piece; the groups.
        private var states: [State] = []
        private var layouts: [ShardLayout] = []
        private var work: [WorkItem] = []
        private var started: [Bool] = []
        private var parts: [[Float]] = []
        /// Gradients that did not fit (the same on every rank: decided from global shapes and
        /// layouts), and this rank's failures to orthonormalize a P₀ it owns (by position).
        private var failures: [OptimizerError] = []
        private var ownerFailures: [Int: String] = [:]
        private var groups: [Group] = []
        /// Groups whose owners' gather has started (they are handled in order).
        private var gathered = 0
        /// The step is being dropped: owners send P₀ as it is instead of orthonormalizing it.
        private var abandoning = false

        /// One `gradientsFinal` call's matrices and their collectives.
        private final class Group {
            /// Positions with an owner (phases 3 and 9), and those summed over fsdp (phase 2).
            let owned: [Int], shared: [Int]
            var reduceScatter: PendingCollective?
            var allReduce: PendingCollective?
            var gather: PendingCollective?
            var summed: [Float] = []
            var gatheredPieces: [Float] = []

            init(owned: [Int], shared: [Int]) {
                self.owned = owned
                self.shared = shared
            }
        }

        /// Duplicates `mesh`'s `fsdp` communicator twice (collective over it).
        ///
        /// - Parameters:
        ///   - optimizer: the Dion whose step the stage takes.
        ///   - mesh: the parameters' mesh (fsdp > 1, no dp).
        ///   - overlap: the initial `overlap`.
        /// - Throws: `OptimizerError.unsupportedTensor` on a mesh without fsdp or with dp;
        ///   `.communication` when the duplication fails.
        public init(_ optimizer: DistributedDion, mesh: DeviceMesh, overlap: Bool) throws(OptimizerError) {
            guard mesh.shape.fsdp > 1, mesh.shape.replicate == 1 else {
                throw OptimizerError(.unsupportedTensor, "Dion's backward stage needs fsdp > 1 and no dp, got \(mesh.shape)")
            }
            self.optimizer = optimizer
            self.mesh = mesh
            self.overlap = overlap
            do throws(MPIError) {
                reductions = try mesh.communicator(.fsdp).duplicate()
                gathers = try mesh.communicator(.fsdp).duplicate()
            } catch {
                throw OptimizerError(communication: error, while: "duplicating the fsdp communicator for Dion's backward stage")
            }
        }

        /// Whether the stage can take the step of these matrices on `mesh`: fsdp > 1, no dp, the
        /// finiteness agreed by the caller, and every matrix reduced over fsdp (decided from global
        /// shapes, so every rank agrees).
        ///
        /// - Returns: `true` when `BackwardStage(_:mesh:overlap:)` and `begin` accept them.
        public static func supports(_ xs: [ShardedMatrix], states: [State], optimizer: DistributedDion,
                                    mesh: DeviceMesh) -> Bool {
            guard mesh.shape.fsdp > 1, mesh.shape.replicate == 1, optimizer.finitenessAgreedByCaller,
                  xs.count == states.count, !xs.isEmpty else { return false }
            return xs.indices.allSatisfy { i in
                guard let schedule = try? optimizer.schedule(xs[i], states[i], mesh) else { return false }
                return schedule.outer != nil && !schedule.compressed
            }
        }

        /// Starts a step of the matrices `xs` (their shapes and layouts; their values are not read)
        /// with `states`, which must not change until `step` or `abandon`. A step still in flight is
        /// abandoned first.
        ///
        /// - Throws: `OptimizerError` for a matrix Dion cannot step on the mesh, or a failed
        ///   collective of the abandoned step.
        public func begin(parameters xs: [ShardedMatrix], states: [State]) throws(OptimizerError) {
            if !self.states.isEmpty { try abandon() }
            guard xs.count == states.count else {
                throw OptimizerError(.shapeMismatch, "\(xs.count) parameters and \(states.count) states")
            }
            try ShardedStepSupport.run("Dion's backward stage") { () throws in
                let schedules = try xs.indices.map { i in try optimizer.schedule(xs[i], states[i], mesh) }
                let owners = OrthonormalizationOwners.assign(schedules, fsdp: mesh.shape.fsdp)
                work = xs.indices.map { i in WorkItem(index: i, x: xs[i], schedule: schedules[i], owner: owners[i], mesh: mesh) }
            }
            self.states = states
            layouts = xs.map(\.layout)
            started = xs.map { _ in false }
            parts = xs.map { _ in [] }
            failures = []
            ownerFailures = [:]
            groups = []
            gathered = 0
            abandoning = false
            if buffers.count != xs.count { buffers = xs.map { _ in Matrix(rows: 0, columns: 0) } }
        }

        /// The gradients of the matrices at `positions` (their order in `begin`) are final: forms
        /// B = M + G, this rank's term of P₀, and starts their P₀ reductions. Positions already
        /// started are ignored; outside a step, nothing happens. Collective over fsdp: every rank
        /// passes the same positions in the same order.
        ///
        /// A gradient that does not match its momentum is reported by `step` (the collectives are
        /// issued all the same, with zeros, so no rank waits for another).
        ///
        /// - Throws: `MPIError` when starting (or, with `overlap` off, completing) a collective fails.
        public func gradientsFinal(_ positions: [Int], gradients: [ShardedMatrix]) throws(MPIError) {
            guard !states.isEmpty else { return }
            var fresh: [Int] = []
            for (k, g) in zip(positions, gradients) where work.indices.contains(k) && !started[k] {
                started[k] = true
                fresh.append(k)
                parts[k] = termOfP0(k, g)
            }
            guard !fresh.isEmpty else { return }
            let group = Group(owned: fresh.filter { work[$0].owner != nil }, shared: fresh.filter { work[$0].owner == nil })
            if !group.owned.isEmpty {
                let (message, counts) = ConcatenatedCollective.piecesMessage(parts, group.owned, pieces: work.map(\.pieces),
                                                                             ranks: reductions.size)
                group.reduceScatter = PendingCollective(try reductions.iReduceScatter(message, counts: counts, op: .sum))
            }
            if !group.shared.isEmpty {
                group.allReduce = PendingCollective(try reductions.iAllReduce(ConcatenatedCollective.concatenated(parts, group.shared),
                                                                              op: .sum))
            }
            groups.append(group)
            if overlap {
                try progress()
            } else {
                try completeAll()
            }
        }

        /// Drives the collectives in flight; starts the owners' gather of every group (in order)
        /// whose reduce-scatter has completed, after orthonormalizing the P₀ this rank owns.
        ///
        /// - Throws: `MPIError` when a collective fails.
        public func progress() throws(MPIError) {
            while gathered < groups.count {
                if let reduceScatter = groups[gathered].reduceScatter, !(try reduceScatter.test()) { break }
                try startGather(groups[gathered])
                gathered += 1
            }
            for group in groups {
                _ = try group.allReduce?.test()
                _ = try group.gather?.test()
            }
        }

        /// Applies the step begun with `begin`, after every rank agreed that the gradients are
        /// finite: starts what the backward did not (a matrix without a `gradientsFinal`, from
        /// `gs`), waits for every collective in flight, moves B into the momenta and finishes as
        /// the batched step (tp phases, R, error feedback, Q, X). `xs` and `states` are updated in
        /// place and must be those given to `begin`.
        ///
        /// - Returns: `.applied` per matrix.
        /// - Throws: `OptimizerError`: `.shapeMismatch` (no step begun, other matrices, a gradient
        ///   that does not match); `.communication` for a failed collective; `.numerical` for a
        ///   failed factorization (on the owner of a matrix, reported on every rank).
        public func step(parameters xs: inout [ShardedMatrix], gradients gs: [ShardedMatrix], states: inout [State],
                         learningRates etas: [Float]) throws(OptimizerError) -> [StepOutcome] {
            guard !self.states.isEmpty, xs.count == work.count, states.count == work.count, gs.count == work.count,
                  etas.count == work.count else {
                throw OptimizerError(.shapeMismatch, "the backward stage began a step of \(work.count) matrices; stepping "
                                     + "\(xs.count) parameters, \(gs.count) gradients, \(states.count) states, \(etas.count) rates")
            }
            defer { endStep() }
            return try ShardedStepSupport.run("Dion's step") { () throws -> [StepOutcome] in
                let leftovers = work.indices.filter { !started[$0] }
                try gradientsFinal(leftovers, gradients: leftovers.map { gs[$0] })
                try completeAll()
                if let failure = failures.first { throw failure }
                self.states = []  // the caller's states are now the only references: updated in place
                var summed = work.map { _ in [Float]() }
                var owned = work.map { _ in [Float]() }
                for group in groups {
                    for k in group.shared {
                        summed[k] = parts[k]  // this rank's term: its length tells the split where to cut
                        parts[k] = []
                    }
                    ConcatenatedCollective.split(group.summed, into: &summed, group.shared)
                    ConcatenatedCollective.assemble(group.gatheredPieces, into: &owned, group.owned, pieces: work.map(\.pieces),
                                                    ranks: gathers.size)
                }
                try optimizer.orthonormalizeReduced(&work, &summed, holdsP: work.map { $0.owner == nil }, xs, states, mesh)
                // After the last collective before the update: the owner's own account of a failed
                // orthonormalization, the others learn of it from the gathered flag
                // (`takeGatheredP`); every rank throws before anything changes.
                if let failure = ownerFailures.min(by: { $0.key < $1.key }) {
                    throw OptimizerError(.numerical, "orthonormalizing P of matrix \(failure.key) failed on this rank, its owner: "
                                         + failure.value)
                }
                try DistributedDion.takeGatheredP(&work, &owned)
                for k in work.indices { swap(&states[k].momentum, &buffers[k]) }  // B becomes the momentum
                try optimizer.applyUpdate(&work, &xs, &states, etas, mesh)
                return xs.map { _ in .applied }
            }
        }

        /// Drops the step begun with `begin` (it is skipped): completes its collectives and
        /// discards them. Momenta, Q and weights are untouched.
        ///
        /// - Throws: `OptimizerError.communication` when a collective fails.
        public func abandon() throws(OptimizerError) {
            defer { endStep() }
            abandoning = true
            do throws(MPIError) {
                try completeAll()
            } catch {
                throw OptimizerError(communication: error, while: "completing Dion's collectives of a skipped step")
            }
        }

        /// B = M + G into the matrix's buffer and its term of P₀ (zeros, and a failure recorded,
        /// when the gradient does not fit).
        private func termOfP0(_ k: Int, _ g: ShardedMatrix) -> [Float] {
            let m = states[k].momentum
            let size = work[k].pLocal * work[k].rank + 1
            // Decided on the global shape and layout first, so every rank records the same failure.
            guard ShardedStepSupport.fits(g, rows: states[k].rows, columns: states[k].columns, layout: layouts[k],
                                          block: (m.rows, m.columns)) else {
                failures.append(OptimizerError(.shapeMismatch, "gradient \(g.rows)×\(g.columns) \(g.layout) of matrix \(k) does "
                                               + "not match its parameter \(states[k].rows)×\(states[k].columns) \(layouts[k])"))
                return [Float](repeating: 0, count: size)
            }
            if buffers[k].rows != m.rows || buffers[k].columns != m.columns {
                buffers[k] = Matrix(rows: m.rows, columns: m.columns)
            }
            buffers[k].elements.withUnsafeMutableBufferPointer { b in
                m.elements.withUnsafeBufferPointer { mp in
                    g.block.elements.withUnsafeBufferPointer { gp in
                        for i in 0..<b.count { b[i] = mp[i] + gp[i] }
                    }
                }
            }
            do {
                return try DistributedDion.partialP0(buffers[k], states[k])
            } catch {
                failures.append(OptimizerError(.numerical, "P₀ of matrix \(k): \(error)"))
                return [Float](repeating: 0, count: size)
            }
        }

        /// Waits for `group`'s reduce-scatter, orthonormalizes the P₀ this rank owns (a failure is
        /// flagged to every rank, which throws it in `step`) and starts the owners' gather.
        private func startGather(_ group: Group) throws(MPIError) {
            guard let reduceScatter = group.reduceScatter else { return }
            let me = mesh.index(on: .fsdp)
            let pieces = work.map(\.pieces)
            ConcatenatedCollective.split(try reduceScatter.wait(), into: &parts, group.owned, pieces: pieces, rank: me)
            for k in group.owned where work[k].owner == me {
                var p0 = parts[k]
                let flag = p0.removeLast()
                work[k].anyNonZero = flag > 0
                var piece: [Float]
                do {
                    work[k].p = try Matrix(rows: work[k].pLocal, columns: work[k].rank, elements: p0)
                    if work[k].anyNonZero && !abandoning { work[k].p = try optimizer.orthonormalizedWhole(work[k], states[k]) }
                    piece = work[k].ownedPiece(fsdpRank: me)
                } catch {
                    ownerFailures[k] = "\(error)"
                    piece = p0 + [WorkItem.orthonormalizationFailed]
                }
                parts[k] = piece
            }
            let counts = ConcatenatedCollective.gatheredCounts(group.owned, pieces: pieces, ranks: gathers.size)
            group.gather = PendingCollective(try gathers.iAllGather(ConcatenatedCollective.concatenated(parts, group.owned),
                                                                    counts: counts))
            for k in group.owned { parts[k] = [] }
        }

        /// Completes every collective in flight: the gathers not yet started (in order), then the
        /// all-reduces and gathers in the groups' order.
        private func completeAll() throws(MPIError) {
            while gathered < groups.count {
                try startGather(groups[gathered])
                gathered += 1
            }
            for group in groups {
                if let allReduce = group.allReduce {
                    group.summed = try allReduce.wait()
                    group.allReduce = nil
                }
                if let gather = group.gather {
                    group.gatheredPieces = try gather.wait()
                    group.gather = nil
                }
            }
        }

        private func endStep() {
            states = []
            work = []
            layouts = []
            ownerFailures = [:]
            started = []
            parts = []
            groups = []
            gathered = 0
        }
    }
}
