import DionDistributed
import LinearAlgebra
import Optimizers
import Sharding
import Transformer

/// Every parameter's optimizer, learning rate and state on this rank (§1.2 roles): the weight
/// matrices go to Dion, Muon or AdamW (`--optimizer`); the embeddings, the head and the norm
/// gains to AdamW at the scalar learning rate without weight decay (with `--optimizer adamw`,
/// everything at `--lr`).
public struct ParameterOptimizers {
    /// One parameter's share of the optimizer state.
    public enum SlotState: Sendable, Equatable {
        case dion(DistributedDion.State)
        case muon(DistributedMuon.State)
        case adamw(AdamW.State)
    }

    /// A parameter's assignment and state.
    public struct Slot: Sendable {
        public let name: String
        public let role: ParameterRole
        public let family: OptimizerFamily
        public let learningRate: Float
        public var state: SlotState
    }

    public let dion: DistributedDion
    public let muon: DistributedMuon
    public let matrixAdamW: DistributedElementwise<AdamW>
    public let scalarAdamW: DistributedElementwise<AdamW>
    public var slots: [Slot]

    /// - Throws: `OptimizerError` for hyperparameters the optimizers refuse.
    public init(configuration c: TrainingConfiguration, parameters: TransformerParameters, shards: [ShardedMatrix],
                mesh: DeviceMesh) throws {
        let callerAverages = c.gradientClip > 0
        dion = DistributedDion(try DionConfiguration(momentum: 0.95, weightDecay: c.weightDecay, rank: .fraction(c.rankFraction),
                                                     seed: c.seed),
                               dataParallelSync: callerAverages ? .averagedByCaller : c.dataParallelSync)
        muon = DistributedMuon(try Muon.Configuration(momentum: 0.95, weightDecay: c.weightDecay, nesterov: true),
                               gradientsAveragedByCaller: callerAverages)
        matrixAdamW = DistributedElementwise(AdamW(try AdamW.Configuration(beta1: 0.9, beta2: 0.95, weightDecay: c.weightDecay)),
                                             gradientsAveragedByCaller: callerAverages)
        scalarAdamW = DistributedElementwise(AdamW(try AdamW.Configuration(beta1: 0.9, beta2: 0.95, weightDecay: 0)),
                                             gradientsAveragedByCaller: callerAverages)
        let matrixFamily: OptimizerFamily = switch c.optimizer {
        case .dion: .dion
        case .muon: .muon
        case .adamw: .adamw
        }
        var slots = [Slot]()
        for p in parameters.all {
            let role = try ParameterRole.infer(name: p.name, shape: [p.rows, p.columns])
            let base = role == .matrix || c.optimizer == .adamw ? c.learningRate : c.scalarLearningRate
            let assignment = ParameterAssignment.assign(name: p.name, role: role, matrixOptimizer: matrixFamily,
                                                        scalarOptimizer: .adamw, baseLearningRate: base,
                                                        inputDimension: p.columns)
            let x = shards[p.index]
            let state: SlotState
            switch assignment.family {
            case .dion:
                state = .dion(try dion.initialState(for: x, parameterID: UInt64(p.index), mesh: mesh,
                                                    transposed: MeshParameters.dionTransposed(p.split)))
            case .muon: state = .muon(try muon.initialState(for: x, parameterID: UInt64(p.index), mesh: mesh))
            default: state = .adamw(try (role == .matrix ? matrixAdamW : scalarAdamW).initialState(for: x))
            }
            slots.append(Slot(name: p.name, role: role, family: assignment.family, learningRate: assignment.learningRate,
                              state: state))
        }
        self.slots = slots
    }

    /// One optimizer step on every parameter with the learning rates scaled by `multiplier`.
    /// Collective over the mesh (every rank steps every parameter in the same order). All Dion
    /// matrices step as one batch, so each of Dion's collectives is issued once per step.
    public mutating func step(shards: inout [ShardedMatrix], gradients: [[Float]], multiplier: Double,
                              mesh: DeviceMesh) throws {
        let grads = try slots.indices.map { i in
            try ShardedMatrix(rows: shards[i].rows, columns: shards[i].columns, layout: shards[i].layout,
                              local: gradients[i], mesh: mesh)
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
        for i in slots.indices {
            let (g, eta) = (grads[i], rates[i])
            switch slots[i].state {
            case .dion:
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
