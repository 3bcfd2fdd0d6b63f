/// One matrix of a Dion2, NorDion2 or NorMuon step as its plan sees it: the matrix, the slices it
/// selects, and how many slices each shard of the selection dimension sent at the step.
///
/// The counts are the data-dependent part of the schedule: with the `exact` and `global`
/// routings they come from the step's selection (`SelectiveSchedule.countsPerShard(of:mesh:)` of
/// the indices every rank learns), with `local` from the shapes (`localCounts`), with `whole`
/// (NorMuon) they are the shard sizes. A plan for a step is therefore made after the step (from
/// the selection it recorded), or before it from a selection one assumes.
public struct PlannedSelection: Sendable, Hashable {
    public let matrix: PlannedMatrix
    public let dimension: SliceDimension
    /// Selected slices per shard of the selection dimension (one entry when it is not sharded over
    /// an axis of more than one rank), summing to k.
    public let selectedPerShard: [Int]

    public init(matrix: PlannedMatrix, dimension: SliceDimension, selectedPerShard: [Int]) {
        self.matrix = matrix
        self.dimension = dimension
        self.selectedPerShard = selectedPerShard
    }
}

extension StepPlan {
    /// A batched step of Dion2, NorDion2 or NorMuon (`DistributedSelective`), every collective issued
    /// once for the matrices that need it, in this order (elements per matrix; W = the matrix with
    /// the selected slices as rows, `slices`/`across` the axes sharding W's rows/columns; fp32
    /// unless said):
    ///  0. world: the finiteness flag (1);
    ///  1. dp: the gradient block (unless the caller averaged it);
    ///  2. `across`: the partial L1 score of each local slice, summed (fp64; exact, local);
    ///  3. `slices`: the scores all-gathered, one per slice (fp64; exact);
    ///  4. `across`: all-to-all of the routed slices to the stage owner (|S_loc|·q_loc; whole
    ///     shards for global and whole);
    ///  5. `slices`: all-to-all of the whole-width slices to the owner (|S_loc|·q);
    ///  6. world: O all-gathered from the owners of unsharded matrices (k·q each);
    ///  7. `slices`: back from the owner — global: the k indices (Int32) first — then the selected
    ///     slices of O (|S_r|·q to shard r);
    ///  8. `across`: the same from the stage owner (global: the k indices, then |S_loc|·q_r);
    ///  9. `across`: the partial row sums of squares of O (fp64; NorMuon, NorDion2);
    /// 10. each sharding axis: ‖O‖²_F and ‖Ô‖²_F partial sums (2, fp64; NorMuon, NorDion2).
    /// Phases 2–5 and 7–10 issue one collective per axis (fsdp, then tp) that some matrix uses.
    /// The matrix data of phases 4–8 (slices of U, O) moves as `wire` elements (2 bytes each for
    /// bf16); the global routing's indices stay Int32, the rest fp32 or fp64 as said.
    public static func selective(_ batch: [PlannedSelection], routing: SelectiveRouting, normalizes: Bool,
                                 gradientsAveragedByCaller: Bool, wire: WirePrecision = .fp32,
                                 at c: MeshCoordinate) -> [PlannedCollective] {
        let mesh = c.mesh
        let schedules = batch.map { SelectiveSchedule($0.matrix, dimension: $0.dimension, mesh: mesh) }
        let ks = batch.map { $0.selectedPerShard.reduce(0, +) }
        let owners = SelectiveSchedule.owners(schedules, selected: ks, mesh: mesh)
        // Shard sizes once per matrix (the loops below index them per rank).
        let sliceShards = schedules.map { $0.sliceShards(mesh) }, acrossShards = schedules.map { $0.acrossShards(mesh) }
        let axes: [MeshAxis] = [.fsdp, .tp]
        var plan = [allReduce(nil, batch.count, at: c)]
        if mesh.replicate > 1 && !gradientsAveragedByCaller {
            let blocks = batch.map { c.localLength($0.matrix.rows, over: $0.matrix.layout.rows.axis)
                                     * c.localLength($0.matrix.columns, over: $0.matrix.layout.columns.axis) }
            plan.append(allReduce(.replicate, blocks.reduce(0, +), at: c))
        }
        // This rank's place: slice shard, across shard, stage owner?, owner?
        let me = schedules.indices.map { j -> (slice: Int, across: Int, holder: Bool, owner: Bool) in
            let s = schedules[j]
            let o = s.ownerCoordinates(owners[j], mesh: mesh)
            let slice = s.slices.map { c.index(on: $0) } ?? 0, across = s.across.map { c.index(on: $0) } ?? 0
            let holder = s.across == nil || across == o.across
            return (slice, across, holder, holder && (s.slices == nil || slice == o.slices))
        }
        func routed(_ j: Int, shard: Int) -> Int {
            routing == .global || routing == .whole ? sliceShards[j][shard] : batch[j].selectedPerShard[shard]
        }
        func selected(_ j: Int) -> Int { batch[j].selectedPerShard[me[j].slice] }
        if routing == .exact || routing == .local {
            for axis in axes {
                let js = schedules.indices.filter { schedules[$0].across == axis }
                if !js.isEmpty {
                    plan.append(allReduce(axis, js.reduce(0) { $0 + sliceShards[$1][me[$1].slice] },
                                          elementSize: 8, at: c))
                }
            }
        }
        if routing == .exact {
            for axis in axes {
                let js = schedules.indices.filter { schedules[$0].slices == axis }
                guard !js.isEmpty else { continue }
                let counts = (0..<mesh.size(of: axis)).map { r in js.reduce(0) { $0 + sliceShards[$1][r] } }
                plan.append(gatherv(axis, counts: counts, elementSize: 8, at: c))
            }
        }
        var exchange = AllToAllTally(axes: axes, mesh: mesh)
        // 4: over `across`, every rank's routed slices to the stage owner.
        for j in schedules.indices {
            guard let axis = schedules[j].across else { continue }
            let o = schedules[j].ownerCoordinates(owners[j], mesh: mesh).across
            let rows = routed(j, shard: me[j].slice)
            exchange.send(axis, to: o, rows * acrossShards[j][me[j].across])
            if me[j].holder { for r in 0..<mesh.size(of: axis) { exchange.receive(axis, from: r, rows * acrossShards[j][r]) } }
        }
        plan += exchange.drain(wire: wire, at: c)
        // 5: over `slices`, the stage owners' whole-width slices to the owner.
        for j in schedules.indices {
            guard let axis = schedules[j].slices else { continue }
            let o = schedules[j].ownerCoordinates(owners[j], mesh: mesh).slices
            exchange.send(axis, to: o, me[j].holder ? routed(j, shard: me[j].slice) * schedules[j].q : 0)
            if me[j].owner { for r in 0..<mesh.size(of: axis) { exchange.receive(axis, from: r, routed(j, shard: r) * schedules[j].q) } }
        }
        plan += exchange.drain(wire: wire, at: c)
        // 6: unsharded matrices: O all-gathered over the world from their owners.
        let unsharded = schedules.indices.filter { schedules[$0].slices == nil && schedules[$0].across == nil }
        if !unsharded.isEmpty && mesh.processCount > 1 {
            var counts = [Int](repeating: 0, count: mesh.processCount)
            for j in unsharded { counts[owners[j]] += ks[j] * schedules[j].q }
            plan.append(gatherv(nil, counts: counts, elementSize: 4, wire: wire, at: c))
        }
        // 7: over `slices`, back from the owner (global: the indices first).
        for stage in routing == .global ? [true, false] : [false] {
            for j in schedules.indices {
                guard let axis = schedules[j].slices else { continue }
                let o = schedules[j].ownerCoordinates(owners[j], mesh: mesh).slices
                if me[j].owner {
                    for r in 0..<mesh.size(of: axis) { exchange.send(axis, to: r, stage ? ks[j] : batch[j].selectedPerShard[r] * schedules[j].q) }
                }
                exchange.receive(axis, from: o, !me[j].holder ? 0 : stage ? ks[j] : selected(j) * schedules[j].q)
            }
            plan += exchange.drain(wire: stage ? nil : wire, at: c)
        }
        // 8: over `across`, back from the stage owner.
        for stage in routing == .global ? [true, false] : [false] {
            for j in schedules.indices {
                guard let axis = schedules[j].across else { continue }
                let o = schedules[j].ownerCoordinates(owners[j], mesh: mesh).across
                if me[j].holder {
                    for r in 0..<mesh.size(of: axis) {
                        exchange.send(axis, to: r, stage ? ks[j] : selected(j) * acrossShards[j][r])
                    }
                }
                exchange.receive(axis, from: o, stage ? ks[j] : selected(j) * acrossShards[j][me[j].across])
            }
            plan += exchange.drain(wire: stage ? nil : wire, at: c)
        }
        guard normalizes else { return plan }
        for axis in axes {
            let js = schedules.indices.filter { schedules[$0].across == axis }
            if !js.isEmpty { plan.append(allReduce(axis, js.reduce(0) { $0 + selected($1) }, elementSize: 8, at: c)) }
        }
        for axis in axes {
            let js = schedules.indices.filter { schedules[$0].slices == axis || schedules[$0].across == axis }
            if !js.isEmpty { plan.append(allReduce(axis, 2 * js.count, elementSize: 8, at: c)) }
        }
        return plan
    }
}

extension StepPlan {
    /// An all-gather with per-rank `counts` over `axis` (the world for `nil`).
    static func gatherv(_ axis: MeshAxis?, counts: [Int], elementSize: Int, wire: WirePrecision? = nil,
                        at c: MeshCoordinate) -> PlannedCollective {
        PlannedCollective(operation: .allGather, axis: axis, messageElements: counts.reduce(0, +), elementSize: elementSize,
                          volume: RingCost.allGather(counts: counts, rank: c.index(on: axis)), wire: wire)
    }
}

/// The per-destination counts of one batched all-to-all per axis, gathered matrix by matrix.
struct AllToAllTally {
    let axes: [MeshAxis]
    let mesh: MeshShape
    private var sends: [MeshAxis: [Int]] = [:]
    private var receives: [MeshAxis: [Int]] = [:]

    init(axes: [MeshAxis], mesh: MeshShape) {
        self.axes = axes
        self.mesh = mesh
    }

    mutating func send(_ axis: MeshAxis, to rank: Int, _ count: Int) {
        sends[axis, default: [Int](repeating: 0, count: mesh.size(of: axis))][rank] += count
        receives[axis] = receives[axis] ?? [Int](repeating: 0, count: mesh.size(of: axis))
    }

    mutating func receive(_ axis: MeshAxis, from rank: Int, _ count: Int) {
        receives[axis, default: [Int](repeating: 0, count: mesh.size(of: axis))][rank] += count
        sends[axis] = sends[axis] ?? [Int](repeating: 0, count: mesh.size(of: axis))
    }

    /// One all-to-all per touched axis (in `axes` order), then empty: Int32 indices for `wire` nil,
    /// else matrix data in the wire format.
    mutating func drain(wire: WirePrecision?, at c: MeshCoordinate) -> [PlannedCollective] {
        defer { sends = [:]; receives = [:] }
        return axes.compactMap { axis -> PlannedCollective? in
            guard let s = sends[axis], let r = receives[axis] else { return nil }
            return PlannedCollective(operation: .allToAll, axis: axis, messageElements: s.reduce(0, +), elementSize: 4,
                                     volume: RingCost.allToAll(sendCounts: s, receiveCounts: r, rank: c.index(on: axis)),
                                     wire: wire)
        }
    }
}
