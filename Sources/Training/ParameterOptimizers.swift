import DionDistributed
import LinearAlgebra
import Optimizers
import Sharding
import Transformer

/// Every parameter's optimizer, learning rate and state on this rank (§1.2 roles): the weight
/// matrices go to Dion, Muon, Dion2, NorMuon, NorDion2 or AdamW (`--optimizer`); the embeddings, the head and the norm
/// gains to AdamW at the scalar learning rate without weight decay (with `--optimizer adamw`,
/// everything at `--lr`).
///
/// The gradients they receive are synchronized by the training's `GradientSynchronizer`:
/// averaged over `dp` and agreed finite, so the optimizers neither average nor vote
/// (`gradientsAveragedByCaller`, `finitenessAgreedByCaller`) — except the matrices Dion syncs
/// with its compressed dp sync (`synchronizesOverReplicas`), which Dion averages itself.
public struct ParameterOptimizers {
    /// A parameter's assignment. Its state lives in the typed group of its optimizer
    /// (`dionStates`, `muonStates`, …; `ParameterOptimizers+States.swift`).
    public struct Slot: Sendable {
        /// The parameter it updates.
        public let id: ParameterID
        public let name: String
        public let role: ParameterRole
        public let family: OptimizerFamily
        public let learningRate: Float
    }

    public let dion: DistributedDion
    public let muon: DistributedMuon
    /// The matrix optimizer with `--optimizer dion2|normuon|nordion2`, `nil` otherwise.
    public let selective: (any DistributedSelectiveOptimizer)?
    public let matrixAdamW: DistributedElementwise<AdamW>
    public let scalarAdamW: DistributedElementwise<AdamW>
    public var slots: [Slot]
    /// Dion's states, one per matrix it steps.
    public var dionStates = StateGroup<DistributedDion.State>()
    /// Muon's states.
    public var muonStates = StateGroup<DistributedMuon.State>()
    /// Dion2's, NorMuon's or NorDion2's states (`selective`).
    public var selectiveStates = StateGroup<DistributedSelective.State>()
    /// AdamW's states of the weight matrices (with `--optimizer adamw`).
    public var matrixAdamWStates = StateGroup<AdamW.State>()
    /// AdamW's states of the embeddings, the head and the norm gains.
    public var scalarAdamWStates = StateGroup<AdamW.State>()
    /// Where each slot's state is.
    var locations: [StateLocation] = []

    /// - Throws: `OptimizerError` for hyperparameters the optimizers refuse.
    public init(configuration c: TrainingConfiguration, parameters: TransformerParameters, shards: [ShardedMatrix],
                mesh: DeviceMesh) throws(OptimizerError) {
        // Clipping needs every gradient averaged before the norm: then Dion compresses nothing.
        var dion = DistributedDion(try DionConfiguration(momentum: 0.95, weightDecay: c.weightDecay,
                                                         rank: .fraction(c.rankFraction), seed: c.seed),
                                   dataParallelSync: c.gradientClip > 0 ? .averagedByCaller : c.dataParallelSync)
        dion.uncompressedGradientsAveragedByCaller = true
        dion.finitenessAgreedByCaller = true
        self.dion = dion
        var muon = DistributedMuon(try Muon.Configuration(momentum: 0.95, weightDecay: c.weightDecay, nesterov: true),
                                   gradientsAveragedByCaller: true, wire: c.wire)
        muon.finitenessAgreedByCaller = true
        self.muon = muon
        selective = try Self.selectiveOptimizer(c, synchronizedByCaller: true)
        var matrixAdamW = DistributedElementwise(AdamW(try AdamW.Configuration(beta1: 0.9, beta2: 0.95,
                                                                               weightDecay: c.weightDecay)),
                                                 gradientsAveragedByCaller: true)
        matrixAdamW.finitenessAgreedByCaller = true
        self.matrixAdamW = matrixAdamW
        var scalarAdamW = DistributedElementwise(AdamW(try AdamW.Configuration(beta1: 0.9, beta2: 0.95, weightDecay: 0)),
                                                 gradientsAveragedByCaller: true)
        scalarAdamW.finitenessAgreedByCaller = true
        self.scalarAdamW = scalarAdamW
        let matrixFamily: OptimizerFamily = switch c.optimizer {
        case .dion: .dion
        case .muon: .muon
        case .adamw: .adamw
        case .dion2: .dion2
        case .normuon: .normuon
        case .nordion2: .nordion2
        }
        var slots = [Slot]()
        for p in parameters.all {
            let role = try ParameterRole.infer(name: p.name, shape: [p.rows, p.columns])
            let base = role == .matrix || c.optimizer == .adamw ? c.learningRate : c.scalarLearningRate
            let assignment = ParameterAssignment.assign(name: p.name, role: role, matrixOptimizer: matrixFamily,
                                                        scalarOptimizer: .adamw, baseLearningRate: base,
                                                        inputDimension: p.columns)
            let x = shards[p.id.rawValue]
            let slot = slots.count
            switch assignment.family {
            case .dion:
                locations.append(dionStates.append(try dion.initialState(for: x, parameterID: p.id.randomStreamKey, mesh: mesh,
                                                                         transposed: MeshParameters.dionTransposed(p.split)),
                                                   slot: slot, at: StateLocation.dion))
            case .muon:
                locations.append(muonStates.append(try muon.initialState(for: x, parameterID: p.id.randomStreamKey, mesh: mesh),
                                                   slot: slot, at: StateLocation.muon))
            case .dion2, .normuon, .nordion2:
                guard let selective else {
                    throw OptimizerError(.invalidHyperparameter, "\(p.name) was assigned to \(assignment.family.rawValue) "
                                         + "but --optimizer is \(c.optimizer.rawValue)")
                }
                do {
                    locations.append(selectiveStates.append(try selective.initialState(for: x, mesh: mesh), slot: slot,
                                                            at: StateLocation.selective))
                } catch {
                    throw OptimizerError(error.code, "\(p.name): \(error.message)")
                }
            default:
                if role == .matrix {
                    locations.append(matrixAdamWStates.append(try matrixAdamW.initialState(for: x), slot: slot,
                                                              at: StateLocation.matrixAdamW))
                } else {
                    locations.append(scalarAdamWStates.append(try scalarAdamW.initialState(for: x), slot: slot,
                                                              at: StateLocation.scalarAdamW))
                }
            }
            slots.append(Slot(id: p.id, name: p.name, role: role, family: assignment.family, learningRate: assignment.learningRate))
        }
        self.slots = slots
    }

    /// The distributed Dion2, NorMuon or NorDion2 of `--optimizer` (`nil` for the others), with
    /// the hyperparameters training uses: the library's defaults (β = μ = 0.95, β₂ = 0.95, no
    /// Nesterov for NorMuon, the spectral-norm learning-rate adjustment), `--weight-decay`,
    /// `--fraction`, `--selection` and `--wire`. With `synchronizedByCaller` the gradients it
    /// receives are averaged over `dp` and agreed finite by the caller (the training's
    /// `GradientSynchronizer`): it neither averages nor votes.
    ///
    /// - Throws: `OptimizerError.invalidHyperparameter` for a fraction outside (0, 1] or a bad decay.
    static func selectiveOptimizer(_ c: TrainingConfiguration,
                                   synchronizedByCaller: Bool) throws(OptimizerError) -> (any DistributedSelectiveOptimizer)? {
        let byCaller = synchronizedByCaller
        return switch c.optimizer {
        case .dion2:
            DistributedDion2(try Dion2.Configuration(fraction: c.fraction, weightDecay: c.weightDecay, selection: c.selection),
                             gradientsAveragedByCaller: byCaller, finitenessAgreedByCaller: byCaller, wire: c.wire)
        case .normuon:
            DistributedNorMuon(try NorMuon.Configuration(weightDecay: c.weightDecay),
                               gradientsAveragedByCaller: byCaller, finitenessAgreedByCaller: byCaller, wire: c.wire)
        case .nordion2:
            DistributedNorDion2(try NorDion2.Configuration(fraction: c.fraction, weightDecay: c.weightDecay, selection: c.selection),
                                gradientsAveragedByCaller: byCaller, finitenessAgreedByCaller: byCaller, wire: c.wire)
        case .dion, .muon, .adamw:
            nil
        }
    }

    /// Per parameter: whether its optimizer synchronizes it over `dp` itself — the matrices Dion
    /// steps with the compressed dp sync (it all-reduces P₀ and R, never the gradient). The
    /// `GradientSynchronizer` averages all the others. Decided from global shapes, so every rank agrees.
    public func synchronizesOverReplicas(shards: [ShardedMatrix], mesh: MeshShape) -> [Bool] {
        var compressed = [Bool](repeating: false, count: slots.count)
        for (i, state) in zip(dionStates.slots, dionStates.states) {
            let x = shards[i]
            compressed[i] = dion.dataParallelSync.usesCompressedSync(rows: x.rows, columns: x.columns, layout: x.layout,
                                                                     rank: state.q.columns, mesh: mesh)
        }
        return compressed
    }

    /// One optimizer step on every parameter with the learning rates scaled by `multiplier`.
    /// Collective over the mesh (every rank steps every parameter in the same order). All Dion
    /// matrices step as one batch, and so do all Dion2/NorMuon/NorDion2 matrices, so each of
    /// their collectives is issued once per step.
    ///
    /// Everything is updated in place: the shards' blocks and the typed states are passed
    /// `inout` with no other reference alive (a batch's shards are moved out of `shards` for the
    /// step), so no buffer is copied on write.
    ///
    /// - Throws: `OptimizerError`: `.shapeMismatch` for a gradient shard that does not fit its
    ///   parameter; `.communication` with the `MPIError` when a collective of a step fails.
    public mutating func step(shards: inout [ShardedMatrix], gradients grads: [ShardedMatrix], multiplier: Double,
                              mesh: DeviceMesh) throws(OptimizerError) {
        try step(shards: &shards, gradients: grads, multiplier: multiplier, mesh: mesh, dionStage: nil)
    }

    /// The step, with Dion's matrices applied by its backward stage when `dionStage` took the step
    /// (`DionBackwardLink`: the same arithmetic, its communication started during the backward).
    mutating func step(shards: inout [ShardedMatrix], gradients grads: [ShardedMatrix], multiplier: Double,
                       mesh: DeviceMesh, dionStage: DionBackwardLink?) throws(OptimizerError) {
        let rates = slots.map { $0.learningRate * Float(multiplier) }
        if !dionStates.slots.isEmpty {
            let indices = dionStates.slots
            var batch = shards.moveOut(indices)
            defer { shards.moveIn(batch, at: indices) }
            if let dionStage, dionStage.active {
                try dionStage.step(parameters: &batch, gradients: indices.map { grads[$0] }, states: &dionStates.states,
                                   learningRates: indices.map { rates[$0] })
            } else {
                _ = try dion.step(parameters: &batch, gradients: indices.map { grads[$0] }, states: &dionStates.states,
                                  learningRates: indices.map { rates[$0] }, mesh: mesh)
            }
        }
        if let selective, !selectiveStates.slots.isEmpty {
            let indices = selectiveStates.slots
            var batch = shards.moveOut(indices)
            defer { shards.moveIn(batch, at: indices) }
            _ = try selective.step(parameters: &batch, gradients: indices.map { grads[$0] }, states: &selectiveStates.states,
                                   learningRates: indices.map { rates[$0] }, mesh: mesh)
        }
        for i in slots.indices {
            let (g, eta) = (grads[i], rates[i])
            switch locations[i] {
            case .dion, .selective:
                continue
            case .muon(let k):
                _ = try muon.step(parameter: &shards[i], gradient: g, state: &muonStates.states[k], learningRate: eta, mesh: mesh)
            case .matrixAdamW(let k):
                _ = try matrixAdamW.step(parameter: &shards[i], gradient: g, state: &matrixAdamWStates.states[k],
                                         learningRate: eta, mesh: mesh)
            case .scalarAdamW(let k):
                _ = try scalarAdamW.step(parameter: &shards[i], gradient: g, state: &scalarAdamWStates.states[k],
                                         learningRate: eta, mesh: mesh)
            }
        }
    }
}

extension Array where Element == ShardedMatrix {
    /// The matrices at `indices`, moved out for a batched step: the array keeps an empty block in
    /// their place, so the step holds the only reference to each block and updates it in place
    /// (copy-on-write would otherwise copy every block). `moveIn(_:at:)` puts them back.
    mutating func moveOut(_ indices: [Int]) -> [ShardedMatrix] {
        indices.map { i in
            let x = self[i]
            self[i].block = Matrix(rows: 0, columns: 0)
            return x
        }
    }

    /// Puts back the matrices `moveOut(_:)` took (stepped or not).
    mutating func moveIn(_ batch: [ShardedMatrix], at indices: [Int]) {
        for (k, i) in indices.enumerated() { self[i] = batch[k] }
    }
}
