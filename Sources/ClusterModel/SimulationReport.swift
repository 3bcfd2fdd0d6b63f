import DionCore

/// What `dion simulate --json` writes: per optimizer, this implementation's exact step (the step
/// plans of every rank) and the reference's batched schedule beside it.
public struct SimulationReport: Sendable, Codable, Equatable {
    /// One optimizer's step under one schedule: bytes per rank (exact for `implemented`, the
    /// reference's real-valued volumes rounded to bytes for `reference`), modelled times.
    public struct Schedule: Sendable, Codable, Equatable {
        /// Bytes the busiest rank sends per step, all axes.
        public var bytes_sent_per_rank: Int
        /// That rank's bytes by axis label (`dp`, `fsdp`, `tp`, `world`).
        public var bytes_by_axis: [String: Int]
        /// The α–β time of the step's collectives on the preset's links, seconds.
        public var comm_seconds: Double
        /// The modelled time of the optimizer's arithmetic, seconds.
        public var compute_seconds: Double
        /// (comm + compute) over Muon's under the same schedule.
        public var ratio_to_muon: Double
    }

    /// One optimizer's step under both schedules.
    public struct Record: Sendable, Codable, Equatable {
        /// `dion`, `muon` or `adamw`.
        public var optimizer: String
        /// Dion's ρ, `nil` for the others.
        public var rank_fraction: Double?
        /// This implementation (the default the table prints).
        public var implemented: Schedule
        /// The Dion reference's schedule (`--schedule reference` prints it too).
        public var reference: Schedule
    }

    /// The model's name.
    public var model: String
    /// All of the model's parameters (`ModelDescription.parameters`).
    public var parameters: Int
    /// Parameters in the weight matrices the implemented schedule covers (embeddings, heads and
    /// vectors, stepped by AdamW in `dion train`, are left out there; the reference counts them).
    public var weight_matrix_parameters: Int
    /// The network preset's name.
    public var network: String
    /// The mesh's axis sizes by label (`dp`, `fsdp`, `tp`).
    public var mesh: [String: Int]
    /// One record per optimizer, in the order asked.
    public var records: [Record]

    /// Both schedules for every optimizer of `optimizers` on `model`, `mesh` and `network`.
    public static func make(model: ModelDescription, mesh: MeshShape, network: NetworkPreset,
                            optimizers: [SimulatedOptimizer]) throws(ClusterModelError) -> SimulationReport {
        let weights = model.matrices.filter { !$0.scalarOptimizer }
            .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
        func implemented(_ optimizer: SimulatedOptimizer) throws(ClusterModelError) -> Schedule {
            let cost = try ImplementedSchedule.cost(optimizer, matrices: weights, mesh: mesh, network: network)
            let compute = OptimizerCost.estimate(optimizer, model: model, mesh: mesh, network: network).computeSeconds
            return Schedule(bytes_sent_per_rank: cost.total, bytes_by_axis: cost.bytesByAxis, comm_seconds: cost.commSeconds,
                            compute_seconds: compute, ratio_to_muon: 0)
        }
        func reference(_ optimizer: SimulatedOptimizer) -> Schedule {
            let cost = OptimizerCost.estimate(optimizer, model: model, mesh: mesh, network: network)
            return Schedule(bytes_sent_per_rank: Int(cost.bytesSent.rounded()),
                            bytes_by_axis: cost.bytesByAxis.mapValues { Int($0.rounded()) }, comm_seconds: cost.commSeconds,
                            compute_seconds: cost.computeSeconds, ratio_to_muon: 0)
        }
        let muonImplemented = try implemented(.muon), muonReference = reference(.muon)
        var records: [Record] = []
        for optimizer in optimizers {
            var mine = try implemented(optimizer), theirs = reference(optimizer)
            mine.ratio_to_muon = (mine.comm_seconds + mine.compute_seconds)
                / Swift.max(muonImplemented.comm_seconds + muonImplemented.compute_seconds, 1e-30)
            theirs.ratio_to_muon = (theirs.comm_seconds + theirs.compute_seconds)
                / Swift.max(muonReference.comm_seconds + muonReference.compute_seconds, 1e-30)
            records.append(Record(optimizer: optimizer.name, rank_fraction: optimizer.rankFraction, implemented: mine,
                                  reference: theirs))
        }
        return SimulationReport(model: model.name, parameters: model.parameters,
                                weight_matrix_parameters: weights.reduce(0) { $0 + $1.rows * $1.columns },
                                network: network.name, mesh: ["dp": mesh.replicate, "fsdp": mesh.fsdp, "tp": mesh.tp],
                                records: records)
    }
}
