import MPIShim
import Optimizers
import Sharding

extension ShardedMatrix {
    /// This matrix as the step plans see it (`StepPlan`).
    func planned(rank: Int = 0, transposed: Bool? = nil, parameterID: UInt64 = 0) -> PlannedMatrix {
        PlannedMatrix(rows: rows, columns: columns, layout: layout, rank: rank, transposed: transposed,
                      parameterID: parameterID)
    }
}

extension DistributedDion {
    /// The collectives one step issues on this rank (`StepPlan.dion`). `transposed` is the
    /// state's orientation when it was chosen explicitly.
    public func plannedCollectives(for x: ShardedMatrix, rank r: Int, mesh: DeviceMesh,
                                   transposed: Bool? = nil) throws(ShardingError) -> [PlannedCollective] {
        try plannedCollectives(forBatch: [(x, r, transposed)], mesh: mesh)
    }

    /// The collectives a batched step of these matrices issues on this rank (`StepPlan.dion`).
    public func plannedCollectives(forBatch batch: [(x: ShardedMatrix, rank: Int, transposed: Bool?)],
                                   mesh: DeviceMesh) throws(ShardingError) -> [PlannedCollective] {
        try StepPlan.dion(batch.map { $0.x.planned(rank: $0.rank, transposed: $0.transposed) }, sync: dataParallelSync,
                          randomizedCholeskyQR: dion.configuration.orthonormalization == .rcqr, at: mesh.coordinate)
    }

    /// Makes per-replica buffers consistent before a checkpoint: with the compressed sync every
    /// replica keeps its own buffer M (their mean follows the single-device recursion); this
    /// all-reduce-averages M over `dp`, which preserves the mean, so after it every replica holds
    /// the same state and a checkpoint needs one copy. Collective over `dp`; a no-op otherwise.
    public func synchronizeForCheckpoint(_ state: inout State, mesh: DeviceMesh) throws(OptimizerError) {
        guard mesh.shape.replicate > 1 else { return }
        do throws(MPIError) {
            try mesh.communicator(.replicate).allReduce(&state.momentum.elements, op: .average)
        } catch {
            throw OptimizerError(communication: error, while: "averaging Muon's momentum over dp for a checkpoint")
        }
    }
}

extension DistributedMuon {
    /// The collectives one step issues on this rank (`StepPlan.muon`).
    public func plannedCollectives(for x: ShardedMatrix, parameterID: UInt64, mesh: DeviceMesh) -> [PlannedCollective] {
        StepPlan.muon(x.planned(parameterID: parameterID), gradientsAveragedByCaller: gradientsAveragedByCaller, wire: wire,
                      at: mesh.coordinate)
    }
}

extension DistributedElementwise {
    /// The collectives one step issues on this rank (`StepPlan.elementwise`).
    public func plannedCollectives(for x: ShardedMatrix, mesh: DeviceMesh) -> [PlannedCollective] {
        StepPlan.elementwise(x.planned(), gradientsAveragedByCaller: gradientsAveragedByCaller, at: mesh.coordinate)
    }
}
