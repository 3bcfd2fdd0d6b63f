import DionCore

extension ImplementedSchedule {
    /// Dion2's, NorDion2's or NorMuon's batched step (`StepPlan.selective`) with the selection the
    /// routing implies: the shard sizes for NorMuon, the per-shard rule for `local`, and for `exact`
    /// and `global` the k slices spread over the shards in proportion to their sizes.
    ///
    /// - Throws: `ClusterModelError` for `local` on a layout that does not shard a matrix's selection.
    static func selectivePlan(_ optimizer: SimulatedOptimizer, _ planned: [PlannedMatrix], routing: SelectiveRouting,
                              wire: WirePrecision, at c: MeshCoordinate) throws(ClusterModelError) -> [PlannedCollective] {
        let routing: SelectiveRouting = optimizer == .norMuon ? .whole : routing
        guard routing != .whole || optimizer == .norMuon else {
            throw ClusterModelError("\(optimizer.name) selects slices: use the exact, global or local selection")
        }
        let fraction = optimizer.selectionFraction ?? 1
        var selections: [PlannedSelection] = []
        for x in planned {
            let dimension = SliceDimension.selected(dion2Rule: optimizer.isDion2, rows: x.rows, columns: x.columns)
            let schedule = SelectiveSchedule(x, dimension: dimension, mesh: c.mesh)
            if routing == .local && !SelectiveSchedule.shardsSlices(x.layout, dimension: dimension) {
                throw ClusterModelError("selection local needs every matrix's \(dimension.rawValue) sharded, but the "
                                        + "\(x.rows)×\(x.columns) matrices are not under \(x.layout); use exact or global")
            }
            let counts = switch routing {
            case .whole: schedule.sliceShards(c.mesh)
            case .local: schedule.localCounts(fraction: fraction, mesh: c.mesh)
            case .exact, .global:
                schedule.proportionalCounts(SelectiveSchedule.selectedCount(fraction: fraction, of: schedule.p), mesh: c.mesh)
            }
            selections.append(PlannedSelection(matrix: x, dimension: dimension, selectedPerShard: counts))
        }
        return StepPlan.selective(selections, routing: routing, normalizes: !optimizer.isDion2,
                                  gradientsAveragedByCaller: false, wire: wire, at: c)
    }
}
