import DionDistributed
import MPIShim
import Optimizers
import Sharding

/// Dion's backward stage (`DistributedDion.BackwardStage`) in the training step: the gradient
/// synchronization hands it each block's final gradient shards (by parameter index), the model's
/// progress calls drive it, and the optimizer step applies it after the finiteness vote — or the
/// trainer abandons it when the step is skipped.
final class DionBackwardLink {
    let stage: DistributedDion.BackwardStage
    /// Per parameter: its position in Dion's batch (`ParameterOptimizers.dionStates`), or `nil`.
    private let positions: [Int?]
    /// Whether the stage is taking the current step (between `begin` and `step`/`abandon`).
    private(set) var active = false

    /// What the stage's collectives do, for their errors (`TrainingError.communication`).
    static let communicating = "reducing Dion's P₀ and gathering its P over fsdp"

    /// The link, or `nil` where the stage does not apply (not Dion, fsdp = 1, dp > 1, clipping,
    /// or per-call agreement checks on, `--debug-collectives`: they block where each rank's MPI
    /// timing puts the stage's calls). Collective over the mesh when it applies (it duplicates
    /// the fsdp communicator).
    static func make(_ optimizers: ParameterOptimizers, shards: [ShardedMatrix], clipping: Bool, mesh: DeviceMesh,
                     overlap: Bool) throws(OptimizerError) -> DionBackwardLink? {
        let slots = optimizers.dionStates.slots
        guard !clipping, !MPIRuntime.debugCollectives, DistributedDion.BackwardStage.supports(slots.map { shards[$0] }, states: optimizers.dionStates.states,
                                                                optimizer: optimizers.dion, mesh: mesh) else { return nil }
        var positions = [Int?](repeating: nil, count: shards.count)
        for (k, i) in slots.enumerated() { positions[i] = k }
        return DionBackwardLink(try DistributedDion.BackwardStage(optimizers.dion, mesh: mesh, overlap: overlap),
                                positions: positions)
    }

    private init(_ stage: DistributedDion.BackwardStage, positions: [Int?]) {
        self.stage = stage
        self.positions = positions
    }

    /// Starts the stage for this step's Dion matrices with their states as they are now.
    func begin(_ optimizers: ParameterOptimizers, shards: [ShardedMatrix]) throws(OptimizerError) {
        try stage.begin(parameters: optimizers.dionStates.slots.map { shards[$0] }, states: optimizers.dionStates.states)
        active = true
    }

    /// The shards of the parameters `indices` are final: Dion's among them go to the stage.
    func gradientsFinal(_ indices: [Int], gradients: [ShardedMatrix]) throws(MPIError) {
        guard active else { return }
        let mine = indices.compactMap { i in positions[i].map { (index: i, position: $0) } }
        guard !mine.isEmpty else { return }
        try stage.gradientsFinal(mine.map(\.position), gradients: mine.map { gradients[$0.index] })
    }

    /// Drives the stage's collectives in flight.
    func progress() throws(MPIError) {
        if active { try stage.progress() }
    }

    /// Applies the step (`BackwardStage.step`) to Dion's matrices.
    func step(parameters xs: inout [ShardedMatrix], gradients gs: [ShardedMatrix], states: inout [DistributedDion.State],
              learningRates etas: [Float]) throws(OptimizerError) {
        active = false
        _ = try stage.step(parameters: &xs, gradients: gs, states: &states, learningRates: etas)
    }

    /// The step is skipped: the stage's collectives are completed and dropped.
    func abandon() throws(OptimizerError) {
        guard active else { return }
        active = false
        try stage.abandon()
    }
}
