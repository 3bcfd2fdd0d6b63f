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
        /// `dion`, `muon`, `adamw`, `dion2`, `normuon` or `nordion2`.
        public var optimizer: String
        /// Dion's ρ, `nil` for the others.
        public var rank_fraction: Double?
        /// Dion2's and NorDion2's α, `nil` for the others.
        public var fraction: Double?
        /// Dion2's and NorDion2's selection (exact, global, local; exact and global priced with the
        /// selection spread over shards in proportion to their sizes), `whole` for NorMuon.
        public var selection: String?
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
    /// The wire format of Muon's, Dion2's, NorMuon's and NorDion2's matrix data (`fp32`, `bf16`).
    public var wire: String
    /// The mesh's axis sizes by label (`dp`, `fsdp`, `tp`).
    public var mesh: [String: Int]
    /// One record per optimizer, in the order asked.
    public var records: [Record]

    /// Both schedules for every optimizer of `optimizers` on `model`, `mesh` and `network`.
    ///
    /// `routing` is Dion2's and NorDion2's selection, `wire` the format of the orthogonalized
    /// optimizers' matrix data (both schedules; Muon's ratio uses the same wire).
    public static func make(model: ModelDescription, mesh: MeshShape, network: NetworkPreset,
                            optimizers: [SimulatedOptimizer], routing: SelectiveRouting = .exact,
                            wire: WirePrecision = .fp32) throws(ClusterModelError) -> SimulationReport {
        let weights = model.matrices.filter { !$0.scalarOptimizer }
            .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
        func implemented(_ optimizer: SimulatedOptimizer) throws(ClusterModelError) -> Schedule {
            let cost = try ImplementedSchedule.cost(optimizer, matrices: weights, mesh: mesh, network: network, routing: routing,
                                                    wire: wire)
            let compute = OptimizerCost.estimate(optimizer, model: model, mesh: mesh, network: network, wire: wire).computeSeconds
            return Schedule(bytes_sent_per_rank: cost.total, bytes_by_axis: cost.bytesByAxis, comm_seconds: cost.commSeconds,
                            compute_seconds: compute, ratio_to_muon: 0)
        }
        func reference(_ optimizer: SimulatedOptimizer) -> Schedule {
            let cost = OptimizerCost.estimate(optimizer, model: model, mesh: mesh, network: network, wire: wire)
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
            let selection = optimizer == .norMuon ? "whole" : optimizer.selectionFraction == nil ? nil : routing.rawValue
            records.append(Record(optimizer: optimizer.name, rank_fraction: optimizer.rankFraction,
                                  fraction: optimizer.selectionFraction, selection: selection, implemented: mine, reference: theirs))
        }
        return SimulationReport(model: model.name, parameters: model.parameters,
                                weight_matrix_parameters: weights.reduce(0) { $0 + $1.rows * $1.columns },
                                network: network.name, wire: wire.rawValue, mesh: ["dp": mesh.replicate, "fsdp": mesh.fsdp, "tp": mesh.tp],
                                records: records)
    }
}
