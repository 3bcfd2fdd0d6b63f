import DionCore

/// One optimizer step of *this project's* distributed optimizers on a mesh, from shapes alone:
/// the step plans (`StepPlan`) of every rank, as `dion bench comm --model` runs them — Dion, Dion2,
/// NorDion2 and NorMuon step all weight matrices as one batch, Muon and AdamW step them one by one;
/// the layout is the one `bench comm` picks (tensor-parallel column with tp > 1, else FSDP with
/// fsdp > 1, else replicated); matrix i has parameter id i (Muon's owner is id mod the owning axis).
///
/// Dion2's and NorDion2's bytes depend on the selection (`StepPlan.selective`): with the `local`
/// routing the per-shard counts follow from shapes and are exact; with `exact` and `global` the
/// plan assumes the k selected slices spread over the shards in proportion to their sizes
/// (`SelectiveSchedule.proportionalCounts`) — a real step sends that when its selection is spread
/// so, and otherwise differs by the slices a shard has above or below its share. NorMuon moves
/// whole shards and is exact.
///
/// Bytes are exact (the ledger's ring counts); time prices each planned collective with the α–β
/// model on its axis' link. Both are the maximum over ranks of a rank's total.
public enum ImplementedSchedule {
    /// A rank's step: bytes sent per axis label (`dp`, `fsdp`, `tp`, `world`) and modelled time.
    public struct RankCost: Sendable, Hashable {
        /// Bytes this rank sends per step, by axis label (`dp`, `fsdp`, `tp`, `world`).
        public var bytesByAxis: [String: Int] = [:]
        /// The modelled time of the rank's collectives, seconds (0 without a network).
        public var commSeconds = 0.0
        /// Bytes this rank sends per step over all axes.
        public var total: Int { bytesByAxis.values.reduce(0, +) }
    }

    /// The layout `dion bench comm` uses on this mesh.
    public static func layout(_ mesh: MeshShape) -> ShardLayout {
        if mesh.tp > 1 { return mesh.fsdp > 1 ? .fsdpColumnParallel : .columnParallel }
        if mesh.fsdp > 1 { return .fsdp }
        return .replicated
    }

    /// The plan of one rank's step: `routing` is Dion2's and NorDion2's selection (exact, global or
    /// local), `wire` the format of Muon's, Dion2's, NorDion2's and NorMuon's matrix data.
    public static func plan(_ optimizer: SimulatedOptimizer, matrices: [(rows: Int, columns: Int)],
                            routing: SelectiveRouting = .exact, wire: WirePrecision = .fp32,
                            at c: MeshCoordinate) throws(ClusterModelError) -> [PlannedCollective] {
        let layout = layout(c.mesh)
        let planned = matrices.enumerated().map { id, m in
            PlannedMatrix(rows: m.rows, columns: m.columns, layout: layout,
                          rank: optimizer.rankFraction.map { DionSizes.rank(fraction: $0, rows: m.rows, columns: m.columns) } ?? 0,
                          parameterID: UInt64(id))
        }
        switch optimizer {
        case .dion:
            do {
                return try StepPlan.dion(planned, sync: .automatic, randomizedCholeskyQR: true, at: c)
            } catch {
                throw ClusterModelError("\(error.message)")
            }
        case .muon: return planned.flatMap { StepPlan.muon($0, gradientsAveragedByCaller: false, wire: wire, at: c) }
        case .adamw: return planned.flatMap { StepPlan.elementwise($0, gradientsAveragedByCaller: false, at: c) }
        case .dion2, .norMuon, .norDion2:
            return try selectivePlan(optimizer, planned, routing: routing, wire: wire, at: c)
        }
    }

    /// The step's cost on the rank that sends the most (bytes), with time on `network` when given.
    public static func cost(_ optimizer: SimulatedOptimizer, matrices: [(rows: Int, columns: Int)], mesh: MeshShape,
                            network: NetworkPreset? = nil, routing: SelectiveRouting = .exact,
                            wire: WirePrecision = .fp32) throws(ClusterModelError) -> RankCost {
        var worst: RankCost?
        for c in MeshCoordinate.all(in: mesh) {
            var cost = RankCost()
            for collective in try plan(optimizer, matrices: matrices, routing: routing, wire: wire, at: c) {
                cost.bytesByAxis[collective.axis?.label ?? "world", default: 0] += collective.bytesSent
                if let network { cost.commSeconds += seconds(collective, mesh: mesh, network: network) }
            }
            if worst == nil || cost.total > worst!.total || (cost.total == worst!.total && cost.commSeconds > worst!.commSeconds) {
                worst = cost
            }
        }
        return worst ?? RankCost()
    }

    /// Bytes sent per step: the maximum over ranks of a rank's total, and that rank's bytes by axis.
    public static func bytesSent(_ optimizer: SimulatedOptimizer, matrices: [(rows: Int, columns: Int)], mesh: MeshShape,
                                 routing: SelectiveRouting = .exact,
                                 wire: WirePrecision = .fp32) throws(ClusterModelError) -> (total: Int, byAxis: [String: Int]) {
        let worst = try cost(optimizer, matrices: matrices, mesh: mesh, routing: routing, wire: wire)
        return (worst.total, worst.bytesByAxis)
    }

    /// The α–β time of one planned collective on its axis' link.
    static func seconds(_ collective: PlannedCollective, mesh: MeshShape, network: NetworkPreset) -> Double {
        let (bandwidth, latency) = network.link(collective.axis, mesh: mesh)
        let operation: CollectiveTime.Operation = switch collective.operation {
        case .allReduce: .allReduce
        case .reduceScatter: .reduceScatter
        case .allGather, .broadcast: .allGather
        case .allToAll: .allToAll
        }
        return CollectiveTime.seconds(operation, bytes: Double(collective.messageElements * collective.elementSize),
                                      ranks: collective.axis.map { mesh.size(of: $0) } ?? mesh.processCount,
                                      bandwidth: bandwidth, latency: latency)
    }
}
