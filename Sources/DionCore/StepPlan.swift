/// One collective an optimizer step issues on one rank, with what it moves under the ring model.
public struct PlannedCollective: Sendable, Hashable {
    public enum Operation: String, Sendable, Hashable, Codable {
        case allReduce, reduceScatter, allGather, broadcast, allToAll
    }
    public let operation: Operation
    /// The mesh axis, or `nil` for the whole world.
    public let axis: MeshAxis?
    /// Elements of the whole message: the all-reduced or broadcast vector, the gathered result,
    /// or what this rank exchanges in an all-to-all (what the α–β model prices).
    public let messageElements: Int
    /// Bytes per element.
    public let elementSize: Int
    /// Elements this rank sends and receives (`RingCost`, as the ledger records them).
    public let volume: TransferVolume
    /// The wire format when this collective carries an optimizer's matrix data (`--wire`; then
    /// `elementSize == wire.elementSize`), `nil` for flags, gradients, scores, norms and indices.
    public let wire: WirePrecision?

    public init(operation: Operation, axis: MeshAxis?, messageElements: Int, elementSize: Int, volume: TransferVolume,
                wire: WirePrecision? = nil) {
        self.operation = operation
        self.axis = axis
        self.messageElements = messageElements
        self.elementSize = wire?.elementSize ?? elementSize
        self.volume = volume
        self.wire = wire
    }

    /// Bytes this rank sends.
    public var bytesSent: Int { volume.sent * elementSize }
}

/// A matrix as a step plan sees it: its global shape and layout, and what the optimizers key on.
public struct PlannedMatrix: Sendable, Hashable {
    public let rows: Int
    public let columns: Int
    public let layout: ShardLayout
    /// Dion's rank r for this matrix (unused by the other optimizers).
    public let rank: Int
    /// The work orientation chosen by the caller for a replicated layout (`nil`: m < n transposes).
    public let transposed: Bool?
    /// The parameter's identity (Muon's owner is it modulo the owning axis).
    public let parameterID: UInt64

    public init(rows: Int, columns: Int, layout: ShardLayout, rank: Int = 0, transposed: Bool? = nil,
                parameterID: UInt64 = 0) {
        self.rows = rows
        self.columns = columns
        self.layout = layout
        self.rank = rank
        self.transposed = transposed
        self.parameterID = parameterID
    }
}

/// The communication schedule of each distributed optimizer, written once: the ordered list of
/// collectives one step issues on one rank, from shapes, layouts, the mesh and the configuration
/// alone (no MPI, no BLAS). The distributed steps' byte checks compare the ledger against it and
/// the cluster model prices it; docs/communication.md explains each phase.
public enum StepPlan {
    /// Dion's batched step (§2 paths A, B, C; `DistributedDion.step(parameters:…)`): each phase's
    /// collective is issued once over the concatenated payloads of the matrices that need it.
    /// Phases, in order (elements per matrix):
    ///  0. world: the finiteness flag (1);
    ///  1. dp: the gradient block (uncompressed sync);
    ///  2. fsdp (outer): P₀ = B·Q plus a zero-guard flag (p_loc·r + 1), summed;
    ///  3. fsdp: instead, when P is not tp-sharded, P₀ and the flag (p·r + 1) reduce-scattered to
    ///     the matrix's owner (`DionMatrixSchedule.ownedOrthonormalization`);
    ///  4. dp: P₀ and the flag averaged (compressed sync; with phase 3 only on the owner);
    ///  5. tp (inner): the zero-guard flag (1);
    ///  6. tp: the sketch product S·P (k_s·r) of randomized Cholesky QR;
    ///  7. tp: the Gram matrix and a fallback flag (r·r + 1);
    ///  8. tp: P gathered (p_loc·r each) instead of 6–7 when p ≤ r or Cholesky QR is not randomized;
    ///  9. fsdp: the owners' P and flags all-gathered (p·r + 1) after phase 3;
    /// 10. tp: R = Bᵀ·P partial sums (q_loc·r);
    /// 11. dp: R averaged (compressed sync);
    /// 12. fsdp: the column sums of squares of R (r, fp64).
    ///
    /// `DistributedDion.BackwardStage` (`dion train` with fsdp and no dp) issues phases 2, 3 and 9
    /// once per block of the backward instead of once per step, on duplicates of the fsdp
    /// communicator: the same elements in total over the ranks, and per rank for the reduce-scatters
    /// and all-gathers in pieces (`RingCost` is additive there; a phase-2 all-reduce with fsdp ≥ 3
    /// cut per block may move a few elements more or fewer on a rank), the rest as listed.
    ///
    /// - Throws: `ShardingError.invalidLayout` for a layout Dion cannot work on.
    public static func dion(_ batch: [PlannedMatrix], sync: DionDataParallelSync, randomizedCholeskyQR: Bool,
                            at c: MeshCoordinate) throws(ShardingError) -> [PlannedCollective] {
        var merged: [Int: (axis: MeshAxis?, count: Int, size: Int)] = [:]
        var gathers: [PlannedCollective] = []
        func add(_ phase: Int, _ axis: MeshAxis?, _ count: Int, _ size: Int = 4) {
            merged[phase] = (axis, (merged[phase]?.count ?? 0) + count, size)
        }
        let mesh = c.mesh
        let schedules = try batch.map { x throws(ShardingError) in
            try DionMatrixSchedule(x, sync: sync, randomizedCholeskyQR: randomizedCholeskyQR, mesh: mesh)
        }
        let owners = OrthonormalizationOwners.assign(schedules, fsdp: mesh.fsdp)
        // Phases 3 and 9: each fsdp rank's block is P₀ (then P) and the flag of every matrix it owns.
        var ownedCounts = [Int](repeating: 0, count: mesh.fsdp)
        for (i, (x, schedule)) in zip(batch, schedules).enumerated() {
            let (geometry, r) = (schedule.geometry, x.rank)
            let pLocal = c.localLength(geometry.p, over: geometry.innerAxis)
            let qLocal = c.localLength(geometry.q, over: geometry.outerAxis)
            let block = c.localLength(x.rows, over: x.layout.rows.axis) * c.localLength(x.columns, over: x.layout.columns.axis)
            add(0, nil, 1)
            if schedule.averagesGradient { add(1, .replicate, block) }
            if let owner = owners[i] {
                for (f, count) in schedule.ownedPieces(owner: owner, fsdp: mesh.fsdp).enumerated() { ownedCounts[f] += count }
                if schedule.compressed && owner == c.fsdp { add(4, .replicate, geometry.p * r + 1) }
            } else {
                if let outer = schedule.outer { add(2, outer, pLocal * r + 1) }
                if schedule.compressed { add(4, .replicate, pLocal * r + 1) }
            }
            if let inner = schedule.inner {
                add(5, inner, 1)
                if schedule.distributedOrthonormalization {
                    add(6, inner, DionSizes.sketchRows(rank: r) * r)
                    add(7, inner, r * r + 1)
                } else {
                    let counts = ChunkSplit.sizes(length: geometry.p, parts: mesh.size(of: inner)).map { $0 * r }
                    gathers.append(allGather(inner, counts: counts, at: c))
                }
                add(10, inner, qLocal * r)
            }
            if schedule.compressed { add(11, .replicate, qLocal * r) }
            if let outer = schedule.outer { add(12, outer, r, 8) }
        }
        return (0...12).flatMap { phase -> [PlannedCollective] in
            switch phase {
            case 3:
                return ownedCounts.allSatisfy({ $0 == 0 }) ? [] : [PlannedCollective(
                    operation: .reduceScatter, axis: .fsdp, messageElements: ownedCounts.reduce(0, +), elementSize: 4,
                    volume: RingCost.reduceScatter(counts: ownedCounts, rank: c.fsdp))]
            case 8:
                return gathers
            case 9:
                return ownedCounts.allSatisfy({ $0 == 0 }) ? [] : [allGather(.fsdp, counts: ownedCounts, at: c)]
            default:
                guard let all = merged[phase] else { return [] }
                return [allReduce(all.axis, all.count, elementSize: all.size, at: c)]
            }
        }
    }

    /// Muon, one matrix at a time (`DistributedMuon`): the finiteness flag over the world; the
    /// gradient averaged over `dp` (unless the caller did); then the whole update: broadcast from
    /// an owner over `dp` (replicated), sent to an owner and back with two all-to-alls over `fsdp`
    /// (FSDP on rows), or gathered over the rows' axis, then the columns' axis (tensor parallel).
    /// The update's collectives move `wire` elements (2 bytes each for bf16); the flag and the
    /// gradient stay fp32.
    public static func muon(_ x: PlannedMatrix, gradientsAveragedByCaller: Bool, wire: WirePrecision = .fp32,
                            at c: MeshCoordinate) -> [PlannedCollective] {
        let mesh = c.mesh
        let rowsLocal = c.localLength(x.rows, over: x.layout.rows.axis)
        let columnsLocal = c.localLength(x.columns, over: x.layout.columns.axis)
        let block = rowsLocal * columnsLocal
        var plan = [allReduce(nil, 1, at: c)]
        if mesh.replicate > 1 && !gradientsAveragedByCaller { plan.append(allReduce(.replicate, block, at: c)) }
        if x.layout == .replicated {
            if mesh.replicate > 1 {
                let owner = Int(x.parameterID % UInt64(mesh.replicate))
                plan.append(PlannedCollective(operation: .broadcast, axis: .replicate, messageElements: block, elementSize: 4,
                                              volume: RingCost.broadcast(count: block, groupSize: mesh.replicate,
                                                                         rank: c.replicate, root: owner), wire: wire))
            }
        } else if x.layout == .fsdp {
            guard mesh.fsdp > 1 else { return plan }
            let isOwner = Int(x.parameterID % UInt64(mesh.fsdp)) == c.fsdp
            let others = x.rows * x.columns - block
            // To the owner, then back: the owner keeps its own block local both ways.
            plan.append(PlannedCollective(operation: .allToAll, axis: .fsdp, messageElements: block, elementSize: 4,
                                          volume: TransferVolume(sent: isOwner ? 0 : block, received: isOwner ? others : 0),
                                          wire: wire))
            plan.append(PlannedCollective(operation: .allToAll, axis: .fsdp, messageElements: isOwner ? x.rows * x.columns : 0,
                                          elementSize: 4,
                                          volume: TransferVolume(sent: isOwner ? others : 0, received: isOwner ? 0 : block),
                                          wire: wire))
        } else {
            var height = rowsLocal
            if let axis = x.layout.rows.axis, mesh.size(of: axis) > 1 {
                let counts = ChunkSplit.sizes(length: x.rows, parts: mesh.size(of: axis)).map { $0 * columnsLocal }
                plan.append(allGather(axis, counts: counts, wire: wire, at: c))
                height = x.rows
            }
            if let axis = x.layout.columns.axis, mesh.size(of: axis) > 1 {
                let counts = ChunkSplit.sizes(length: x.columns, parts: mesh.size(of: axis)).map { $0 * height }
                plan.append(allGather(axis, counts: counts, wire: wire, at: c))
            }
        }
        return plan
    }

    /// AdamW or Lion (`DistributedElementwise`): the finiteness flag over the world and the
    /// gradient averaged over `dp` (unless the caller did); the update itself is local.
    public static func elementwise(_ x: PlannedMatrix, gradientsAveragedByCaller: Bool,
                                   at c: MeshCoordinate) -> [PlannedCollective] {
        let block = c.localLength(x.rows, over: x.layout.rows.axis) * c.localLength(x.columns, over: x.layout.columns.axis)
        var plan = [allReduce(nil, 1, at: c)]
        if c.mesh.replicate > 1 && !gradientsAveragedByCaller { plan.append(allReduce(.replicate, block, at: c)) }
        return plan
    }

    static func allReduce(_ axis: MeshAxis?, _ count: Int, elementSize: Int = 4, at c: MeshCoordinate) -> PlannedCollective {
        PlannedCollective(operation: .allReduce, axis: axis, messageElements: count, elementSize: elementSize,
                          volume: RingCost.allReduce(count: count, groupSize: c.size(of: axis), rank: c.index(on: axis)))
    }

    static func allGather(_ axis: MeshAxis, counts: [Int], wire: WirePrecision? = nil, at c: MeshCoordinate) -> PlannedCollective {
        PlannedCollective(operation: .allGather, axis: axis, messageElements: counts.reduce(0, +), elementSize: 4,
                          volume: RingCost.allGather(counts: counts, rank: c.index(on: axis)), wire: wire)
    }
}
