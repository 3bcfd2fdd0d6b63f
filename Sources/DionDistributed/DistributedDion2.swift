import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// A distributed Dion2, NorDion2 or NorMuon: the shared step (`DistributedSelective`) with one
/// optimizer's equations. Conformers only name their engine.
public protocol DistributedSelectiveOptimizer: Sendable {
    /// The step, configured with this optimizer's hyperparameters.
    var engine: DistributedSelective { get }
}

extension DistributedSelectiveOptimizer {
    /// The state of a sharded parameter: zero buffers on this rank's block.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for an empty matrix, a layout the mesh cannot step,
    ///   or a selection mode the layout cannot serve (`local` when the selection dimension is not sharded).
    public func initialState(for x: ShardedMatrix, mesh: DeviceMesh) throws(OptimizerError) -> DistributedSelective.State {
        try engine.initialState(for: x, mesh: mesh)
    }

    /// One step of one matrix: a batched step of one (`step(parameters:…)`).
    public func step(parameter x: inout ShardedMatrix, gradient g: ShardedMatrix, state: inout DistributedSelective.State,
                     learningRate eta: Float, mesh: DeviceMesh) throws(OptimizerError) -> StepOutcome {
        var xs = [x], states = [state]
        let outcomes = try engine.step(&xs, [g], &states, [eta], mesh: mesh)
        x = xs[0]
        state = states[0]
        return outcomes[0]
    }

    /// One step of several matrices, each exactly as if stepped alone, every collective issued once
    /// for the batch (`StepPlan.selective`). Collective over the mesh: every rank passes the same
    /// matrices in the same order. A matrix whose gradient holds NaN/±∞ on any rank is skipped (or
    /// throws, by the policy) on every rank.
    public func step(parameters xs: inout [ShardedMatrix], gradients gs: [ShardedMatrix],
                     states: inout [DistributedSelective.State], learningRates etas: [Float],
                     mesh: DeviceMesh) throws(OptimizerError) -> [StepOutcome] {
        try engine.step(&xs, gs, &states, etas, mesh: mesh)
    }

    /// The collectives the last step of these matrices issued on this rank (`StepPlan.selective`,
    /// with the selection the states recorded).
    public func plannedCollectives(forBatch xs: [ShardedMatrix], states: [DistributedSelective.State],
                                   mesh: DeviceMesh) -> [PlannedCollective] {
        engine.plannedCollectives(forBatch: xs, states: states, mesh: mesh)
    }
}

/// Dion2 over `ShardedMatrix`es on any mesh, equal to `Dion2` on one process with `exact` and
/// `global` selection (`Dion2.Configuration.selection`); `local` is the reference's per-shard rule.
public struct DistributedDion2: DistributedSelectiveOptimizer {
    public let engine: DistributedSelective

    /// - Parameters:
    ///   - c: the single-process hyperparameters (and, for the selective ones, the selection mode).
    ///   - gradientsAveragedByCaller: `true` when the caller averages gradients over `dp` itself.
    ///   - finitenessAgreedByCaller: `true` when the caller has agreed over the world that every
    ///     gradient is finite: the step takes no finiteness vote of its own.
    ///   - wire: the format of the routed slices and of O on the wire (bf16: 2 bytes per element).
    public init(_ c: Dion2.Configuration, gradientsAveragedByCaller: Bool = false,
                finitenessAgreedByCaller: Bool = false, wire: WirePrecision = .fp32) {
        engine = DistributedSelective(rule: .init(kind: .dion2, routing: SelectiveRouting(c.selection), fraction: c.fraction,
                                                  decay: c.errorFeedbackDecay, momentum: 0, nesterov: false, beta2: nil,
                                                  cautiousWeightDecay: false, weightDecay: c.weightDecay, epsilon: c.epsilon,
                                                  adjustment: c.adjustment, nonFinitePolicy: c.nonFinitePolicy, wire: wire),
                                      gradientsAveragedByCaller: gradientsAveragedByCaller,
                                      finitenessAgreedByCaller: finitenessAgreedByCaller)
    }
}

/// NorDion2 over `ShardedMatrix`es on any mesh (rows selected whatever the layout; V sharded like
/// the rows; the Frobenius rescale over the whole selected submatrix).
public struct DistributedNorDion2: DistributedSelectiveOptimizer {
    public let engine: DistributedSelective

    /// - Parameters:
    ///   - c: the single-process hyperparameters (and, for the selective ones, the selection mode).
    ///   - gradientsAveragedByCaller: `true` when the caller averages gradients over `dp` itself.
    ///   - finitenessAgreedByCaller: `true` when the caller has agreed over the world that every
    ///     gradient is finite: the step takes no finiteness vote of its own.
    ///   - wire: the format of the routed slices and of O on the wire (bf16: 2 bytes per element).
    public init(_ c: NorDion2.Configuration, gradientsAveragedByCaller: Bool = false,
                finitenessAgreedByCaller: Bool = false, wire: WirePrecision = .fp32) {
        engine = DistributedSelective(rule: .init(kind: .norDion2, routing: SelectiveRouting(c.selection), fraction: c.fraction,
                                                  decay: c.momentum, momentum: 0, nesterov: false, beta2: c.beta2,
                                                  cautiousWeightDecay: false, weightDecay: c.weightDecay, epsilon: c.epsilon,
                                                  adjustment: c.adjustment, nonFinitePolicy: c.nonFinitePolicy, wire: wire),
                                      gradientsAveragedByCaller: gradientsAveragedByCaller,
                                      finitenessAgreedByCaller: finitenessAgreedByCaller)
    }
}

/// NorMuon over `ShardedMatrix`es on any mesh: whole shards to the owner and O back (as Muon), then
/// the neuron-wise normalization with the Frobenius rescale over the whole matrix (two scalars per
/// matrix cross each sharding axis), not per shard as the reference approximates.
public struct DistributedNorMuon: DistributedSelectiveOptimizer {
    public let engine: DistributedSelective

    /// - Parameters:
    ///   - c: the single-process hyperparameters (and, for the selective ones, the selection mode).
    ///   - gradientsAveragedByCaller: `true` when the caller averages gradients over `dp` itself.
    ///   - finitenessAgreedByCaller: `true` when the caller has agreed over the world that every
    ///     gradient is finite: the step takes no finiteness vote of its own.
    ///   - wire: the format of the routed slices and of O on the wire (bf16: 2 bytes per element).
    public init(_ c: NorMuon.Configuration, gradientsAveragedByCaller: Bool = false,
                finitenessAgreedByCaller: Bool = false, wire: WirePrecision = .fp32) {
        engine = DistributedSelective(rule: .init(kind: .norMuon, routing: .whole, fraction: 1, decay: 1, momentum: c.momentum,
                                                  nesterov: c.nesterov, beta2: c.beta2, cautiousWeightDecay: c.cautiousWeightDecay,
                                                  weightDecay: c.weightDecay, epsilon: c.epsilon, adjustment: c.adjustment,
                                                  nonFinitePolicy: c.nonFinitePolicy, wire: wire),
                                      gradientsAveragedByCaller: gradientsAveragedByCaller,
                                      finitenessAgreedByCaller: finitenessAgreedByCaller)
    }
}

extension SelectiveRouting {
    /// The routing of a selection mode.
    init(_ mode: SelectionMode) {
        switch mode {
        case .exact: self = .exact
        case .global: self = .global
        case .local: self = .local
        }
    }
}
