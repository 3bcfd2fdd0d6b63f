import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Muon over a `ShardedMatrix`, the baseline Dion must beat (§3, distributed schemes):
/// - replicated layout (dp = R): the gradient is averaged over `dp`, the owner replica
///   (parameter id mod R) runs Newton–Schulz and broadcasts the orthogonalized update — the
///   round-robin + all-gather scheme for one matrix;
/// - FSDP layout: the owner shard (parameter id mod F) receives every shard of U with one
///   all-to-all, runs Newton–Schulz on the whole matrix, and a second all-to-all returns each
///   rank its rows of O — the all-to-all owner scheme (≈ 2(F−1)/F²·m·n per rank).
/// - every other sharded layout (tensor parallel, columns over `fsdp`): U is all-gathered over its
///   sharded axes and every rank of the group runs Newton–Schulz (the ZeRO-1 scheme).
/// The momentum stays sharded like the parameter.
public struct DistributedMuon: Sendable {
    /// This rank's share of one matrix's optimizer state (`Codable`: a checkpoint saves the
    /// momentum and the step).
    public struct State: Sendable, Equatable, Codable {
        /// This rank's block of the momentum.
        public var momentum: Matrix
        /// Steps applied so far.
        public var step: Int
        /// The parameter's identifier; the owner of its Newton–Schulz is this id mod the axis size.
        public let parameterID: UInt64
    }

    /// The single-device optimizer whose configuration and Newton–Schulz iteration this one uses.
    public let muon: Muon
    /// `true` when the caller averages gradients over `dp` itself (e.g. to clip them); the step
    /// then moves nothing over `dp` for the gradient.
    public let gradientsAveragedByCaller: Bool
    /// `true` when the caller has agreed over the world that every gradient is finite (the
    /// training's `GradientSynchronizer` votes once per step): the step skips its own vote.
    public var finitenessAgreedByCaller = false
    /// The format of the update's collectives (the broadcast, the all-to-alls, the gathers of U):
    /// with `.bf16` what crosses them is rounded to bfloat16 (2 bytes per element, half the
    /// bytes); Newton–Schulz and the update stay fp32.
    public let wire: WirePrecision

    /// A distributed Muon with these hyperparameters; see `gradientsAveragedByCaller` and `wire`.
    public init(_ configuration: Muon.Configuration, gradientsAveragedByCaller: Bool = false, wire: WirePrecision = .fp32) {
        muon = Muon(configuration)
        self.gradientsAveragedByCaller = gradientsAveragedByCaller
        self.wire = wire
    }

    /// The state for a sharded parameter: zero momentum on this rank's block.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for a layout that replicates the matrix over
    ///   `fsdp` ranks or shards it over `dp`.
    public func initialState(for x: ShardedMatrix, parameterID: UInt64, mesh: DeviceMesh) throws(OptimizerError) -> State {
        try DistributedDion.checkSupported(x.layout, mesh)
        return State(momentum: Matrix(rows: x.localRows, columns: x.localColumns), step: 0, parameterID: parameterID)
    }

    /// One step; collective over the mesh. The gradient convention is Dion's
    /// (`DistributedDion.step(parameters:gradients:states:learningRates:mesh:)`): this rank's block of
    /// the gradient of its data's loss, summed over `fsdp`; averaged over `dp` here unless
    /// `gradientsAveragedByCaller`.
    ///
    /// - Returns: `.applied`, or `.skipped` on every rank for a non-finite gradient.
    /// - Throws: `OptimizerError` for a mismatched gradient or a failed collective.
    public func step(parameter x: inout ShardedMatrix, gradient g: ShardedMatrix, state: inout State,
                     learningRate eta: Float, mesh: DeviceMesh) throws(OptimizerError) -> StepOutcome {
        let c = muon.configuration
        return try ShardedStepSupport.run("Muon's step") { () throws -> StepOutcome in
            if let skipped = try ShardedStepSupport.agreeOnFiniteness(g, like: x, policy: c.nonFinitePolicy, mesh: mesh,
                                                                            agreedByCaller: finitenessAgreedByCaller) {
                return skipped
            }
            let gradient = gradientsAveragedByCaller ? g.local : try ShardedStepSupport.averagedOverReplicas(g, mesh: mesh)
            let gLocal = try Matrix(rows: x.localRows, columns: x.localColumns, elements: gradient)
            state.momentum.scaleAndAdd(c.momentum, 1, gLocal)
            var u = state.momentum
            if c.nesterov {
                u = gLocal
                u.scaleAndAdd(1, c.momentum, state.momentum)
            }
            let o: [Float]
            if x.layout == .replicated {
                o = try orthogonalizeReplicated(u, mesh: mesh, owner: Int(state.parameterID % UInt64(mesh.shape.replicate)))
            } else if x.layout == .fsdp {
                o = try orthogonalizeSharded(u, x: x, mesh: mesh, owner: Int(state.parameterID % UInt64(mesh.shape.fsdp)))
            } else {
                o = try orthogonalizeGathered(u, x: x, mesh: mesh)
            }
            // X ← (1 − ηλ)·X − η·scale·O on this rank's block, in place.
            x.block.scaleAndAdd(1 - eta * c.weightDecay, -eta * muon.scale(rows: x.rows, columns: x.columns),
                                try Matrix(rows: x.localRows, columns: x.localColumns, elements: o))
            state.step += 1
            return .applied
        }
    }

    /// The owner replica orthogonalizes and broadcasts.
    private func orthogonalizeReplicated(_ u: Matrix, mesh: DeviceMesh, owner: Int) throws -> [Float] {
        let dp = mesh.communicator(.replicate)
        var o = dp.rank == owner ? try NewtonSchulz.orthogonalize(u, coefficients: muon.configuration.coefficients,
                                                                  epsilon: muon.configuration.epsilon).elements
                                 : [Float](repeating: 0, count: u.elements.count)
        if dp.size > 1 { try dp.broadcast(&o, root: owner, wire: wire) }
        return o
    }

    /// Every other layout (tensor parallel, columns over fsdp): all-gather U over its sharded axes and run Newton–Schulz on every
    /// rank of the group (the ZeRO-1 scheme of Moonshot, §2.2: (k−1)/k·m·n per sharded axis).
    private func orthogonalizeGathered(_ u: Matrix, x: ShardedMatrix, mesh: DeviceMesh) throws -> [Float] {
        let shardedU = try ShardedMatrix(rows: x.rows, columns: x.columns, layout: x.layout, local: u.elements, mesh: mesh)
        let whole = try Matrix(rows: x.rows, columns: x.columns, elements: try shardedU.gathered(on: mesh, wire: wire))
        let o = try NewtonSchulz.orthogonalize(whole, coefficients: muon.configuration.coefficients,
                                               epsilon: muon.configuration.epsilon)
        return o.rows(x.rowRange).columns(x.columnRange).elements
    }

    /// All-to-all to the owner shard, Newton–Schulz there, all-to-all back.
    private func orthogonalizeSharded(_ u: Matrix, x: ShardedMatrix, mesh: DeviceMesh, owner: Int) throws -> [Float] {
        let fsdp = mesh.communicator(.fsdp)
        let f = fsdp.size
        let wire = f > 1 ? self.wire : .fp32  // nothing crosses with one rank
        let rowCounts = ChunkSplit.sizes(length: x.rows, parts: f)
        let n = x.columns
        var sendCounts = [Int](repeating: 0, count: f)
        sendCounts[owner] = u.elements.count
        var receiveCounts = [Int](repeating: 0, count: f)
        if fsdp.rank == owner { receiveCounts = rowCounts.map { $0 * n } }
        let gathered = try fsdp.allToAll(u.elements, sendCounts: sendCounts, receiveCounts: receiveCounts, wire: wire)
        var back = [Float]()
        var backCounts = [Int](repeating: 0, count: f)
        if fsdp.rank == owner {
            let whole = try Matrix(rows: x.rows, columns: n, elements: gathered)
            back = try NewtonSchulz.orthogonalize(whole, coefficients: muon.configuration.coefficients,
                                                  epsilon: muon.configuration.epsilon).elements
            backCounts = rowCounts.map { $0 * n }
        }
        var returnCounts = [Int](repeating: 0, count: f)
        returnCounts[owner] = u.elements.count
        return try fsdp.allToAll(back, sendCounts: backCounts, receiveCounts: returnCounts, wire: wire)
    }
}

/// AdamW or Lion over a `ShardedMatrix`: elementwise, so each rank steps its own block with the
/// single-device optimizer and the optimizer sends nothing (ZeRO); the gradient is averaged over
/// `dp` and every rank agrees on skipping a non-finite step.
public struct DistributedElementwise<O: Optimizer>: Sendable {
    /// The single-device optimizer each rank runs on its block.
    public let optimizer: O
    /// `true` when the caller averages gradients over `dp` itself.
    public let gradientsAveragedByCaller: Bool
    /// `true` when the caller has agreed over the world that every gradient is finite (the
    /// training's `GradientSynchronizer` votes once per step): the step skips its own vote.
    public var finitenessAgreedByCaller = false

    /// - Parameters:
    ///   - optimizer: `AdamW` or `Lion` (an elementwise update; Dion and Muon are not).
    ///   - gradientsAveragedByCaller: `true` when the caller averages the gradients over `dp`
    ///     itself (e.g. to clip by the global norm); the step then sends nothing over `dp`.
    public init(_ optimizer: O, gradientsAveragedByCaller: Bool = false) {
        self.optimizer = optimizer
        self.gradientsAveragedByCaller = gradientsAveragedByCaller
    }

    /// The state for this rank's block of `x` (e.g. AdamW's zero moments of the block's shape).
    ///
    /// - Throws: what the optimizer's `initialState(for:)` throws.
    public func initialState(for x: ShardedMatrix) throws(OptimizerError) -> O.State {
        try optimizer.initialState(for: Matrix(rows: x.localRows, columns: x.localColumns))
    }

    /// One step on this rank's block. Collective over the mesh (a 1-element all-reduce over the
    /// world agrees on skipping a non-finite gradient; the gradient block is all-reduce-averaged
    /// over `dp` unless `gradientsAveragedByCaller`).
    ///
    /// The gradient convention is Dion's (`DistributedDion.step(parameters:gradients:states:learningRates:mesh:)`):
    /// this rank's block of the gradient of its data's loss, summed over `fsdp` (divide by F for
    /// the mean over the group's data).
    ///
    /// - Parameters:
    ///   - x: this rank's shard of the parameter, updated in place.
    ///   - g: this rank's block of the gradient, with `x`'s shape and layout.
    ///   - state: this rank's state from `initialState(for:)`.
    ///   - eta: the learning rate.
    ///   - mesh: the mesh `x` is sharded on.
    /// - Returns: `.applied`, or `.skipped` on every rank when any rank's block is non-finite.
    /// - Throws: `OptimizerError.shapeMismatch` for a gradient that does not match;
    ///   `.communication` (with the `MPIError`) for a failed collective.
    public func step(parameter x: inout ShardedMatrix, gradient g: ShardedMatrix, state: inout O.State,
                     learningRate eta: Float, mesh: DeviceMesh) throws(OptimizerError) -> StepOutcome {
        try ShardedStepSupport.run("\(O.self)'s step") { () throws -> StepOutcome in
            if let skipped = try ShardedStepSupport.agreeOnFiniteness(g, like: x, policy: .skip, mesh: mesh,
                                                                            agreedByCaller: finitenessAgreedByCaller) {
                return skipped
            }
            let gradient = gradientsAveragedByCaller ? g.block
                : try Matrix(rows: x.localRows, columns: x.localColumns,
                             elements: try ShardedStepSupport.averagedOverReplicas(g, mesh: mesh))
            // The single-device step on this rank's block, in place.
            return try optimizer.step(parameter: &x.block, gradient: gradient, state: &state, learningRate: eta)
        }
    }
}
