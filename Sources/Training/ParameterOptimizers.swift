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
    /// One parameter's share of the optimizer state.
    public enum SlotState: Sendable, Equatable {
        case dion(DistributedDion.State)
        case muon(DistributedMuon.State)
        /// Dion2's, NorMuon's or NorDion2's state (`ParameterOptimizers.selective`).
        case selective(DistributedSelective.State)
        case adamw(AdamW.State)
    }

    /// A parameter's assignment and state.
    public struct Slot: Sendable {
        /// The parameter it updates.
        public let id: ParameterID
        public let name: String
        public let role: ParameterRole
        public let family: OptimizerFamily
        public let learningRate: Float
        public var state: SlotState
    }

    public let dion: DistributedDion
    public let muon: DistributedMuon
    /// The matrix optimizer with `--optimizer dion2|normuon|nordion2`, `nil` otherwise.
    public let selective: (any DistributedSelectiveOptimizer)?
    public let matrixAdamW: DistributedElementwise<AdamW>
    public let scalarAdamW: DistributedElementwise<AdamW>
    public var slots: [Slot]

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
            let state: SlotState
            switch assignment.family {
            case .dion:
                state = .dion(try dion.initialState(for: x, parameterID: p.id.randomStreamKey, mesh: mesh,
                                                    transposed: MeshParameters.dionTransposed(p.split)))
            case .muon: state = .muon(try muon.initialState(for: x, parameterID: p.id.randomStreamKey, mesh: mesh))
            case .dion2, .normuon, .nordion2:
                guard let selective else {
                    throw OptimizerError(.invalidHyperparameter, "\(p.name) was assigned to \(assignment.family.rawValue) "
                                         + "but --optimizer is \(c.optimizer.rawValue)")
                }
                do {
                    state = .selective(try selective.initialState(for: x, mesh: mesh))
                } catch {
                    throw OptimizerError(error.code, "\(p.name): \(error.message)")
                }
            default: state = .adamw(try (role == .matrix ? matrixAdamW : scalarAdamW).initialState(for: x))
            }
            slots.append(Slot(id: p.id, name: p.name, role: role, family: assignment.family, learningRate: assignment.learningRate,
                              state: state))
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
        slots.indices.map { i in
            guard case .dion(let state) = slots[i].state else { return false }
            let x = shards[i]
            return dion.dataParallelSync.usesCompressedSync(rows: x.rows, columns: x.columns, layout: x.layout,
                                                            rank: state.q.columns, mesh: mesh)
        }
    }

    /// One optimizer step on every parameter with the learning rates scaled by `multiplier`.
    /// Collective over the mesh (every rank steps every parameter in the same order). All Dion
    /// matrices step as one batch, and so do all Dion2/NorMuon/NorDion2 matrices, so each of
    /// their collectives is issued once per step.
    ///
    /// - Throws: `OptimizerError`: `.shapeMismatch` for a gradient shard that does not fit its
    ///   parameter; `.communication` with the `MPIError` when a collective of a step fails.
    public mutating func step(shards: inout [ShardedMatrix], gradients: [[Float]], multiplier: Double,
                              mesh: DeviceMesh) throws(OptimizerError) {
        var grads: [ShardedMatrix] = []
        for i in slots.indices {
            do throws(ShardingError) {
                grads.append(try ShardedMatrix(rows: shards[i].rows, columns: shards[i].columns, layout: shards[i].layout,
                                               local: gradients[i], mesh: mesh))
            } catch {
                throw OptimizerError(.shapeMismatch, error.code == .shapeMismatch ? error.message : "\(error)")
            }
        }
        let rates = slots.map { $0.learningRate * Float(multiplier) }
        var dionIndices: [Int] = []
        var dionStates: [DistributedDion.State] = []
        for i in slots.indices {
            if case .dion(let state) = slots[i].state {
                dionIndices.append(i)
                dionStates.append(state)
            }
        }
        var dionShards = dionIndices.map { shards[$0] }
        _ = try dion.step(parameters: &dionShards, gradients: dionIndices.map { grads[$0] }, states: &dionStates,
                          learningRates: dionIndices.map { rates[$0] }, mesh: mesh)
        for (k, i) in dionIndices.enumerated() {
            shards[i] = dionShards[k]
            slots[i].state = .dion(dionStates[k])
        }
        if let selective {
            let indices = slots.indices.filter { if case .selective = slots[$0].state { true } else { false } }
            var states: [DistributedSelective.State] = indices.compactMap {
                if case .selective(let state) = slots[$0].state { state } else { nil }
            }
            var batch = indices.map { shards[$0] }
            _ = try selective.step(parameters: &batch, gradients: indices.map { grads[$0] }, states: &states,
                                   learningRates: indices.map { rates[$0] }, mesh: mesh)
            for (k, i) in indices.enumerated() {
                shards[i] = batch[k]
                slots[i].state = .selective(states[k])
            }
        }
        for i in slots.indices {
            let (g, eta) = (grads[i], rates[i])
            switch slots[i].state {
            case .dion, .selective:
                continue
            case .muon(var state):
                _ = try muon.step(parameter: &shards[i], gradient: g, state: &state, learningRate: eta, mesh: mesh)
                slots[i].state = .muon(state)
            case .adamw(var state):
                let optimizer = slots[i].role == .matrix ? matrixAdamW : scalarAdamW
                _ = try optimizer.step(parameter: &shards[i], gradient: g, state: &state, learningRate: eta, mesh: mesh)
                slots[i].state = .adamw(state)
            }
        }
    }
}
