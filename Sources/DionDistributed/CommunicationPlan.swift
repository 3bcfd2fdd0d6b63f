import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// One collective an optimizer step issues, as the cost formulas see it.
public struct PlannedCollective: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A ring all-reduce of `count` elements.
        case allReduce
        /// A collective whose per-rank volume (elements) depends on roles (root, owner) and is
        /// computed when planned: a broadcast or an all-to-all.
        case precomputed(sent: Int, received: Int)
    }
    public let kind: Kind
    /// The mesh axis (or `nil` for the whole world).
    public let axis: MeshAxis?
    /// Elements in the message (for all-to-all, see `kind`).
    public let count: Int
    /// Bytes per element.
    public let elementSize: Int

    /// Bytes this rank sends under the ring model (`RingCost`).
    public func bytesSent(mesh: DeviceMesh) -> Int {
        let (g, rank) = axis.map { (mesh.shape.size(of: $0), mesh.index(on: $0)) } ?? (mesh.world.size, mesh.world.rank)
        switch kind {
        case .allReduce: return RingCost.allReduce(count: count, groupSize: g, rank: rank).sent * elementSize
        case .precomputed(let sent, _): return sent * elementSize
        }
    }
}

extension DistributedDion {
    /// The collectives one step issues on this rank (the schedule of docs/communication.md).
    /// `transposed` is the state's orientation when it was chosen explicitly.
    public func plannedCollectives(for x: ShardedMatrix, rank r: Int, mesh: DeviceMesh,
                                   transposed: Bool? = nil) -> [PlannedCollective] {
        plannedCollectives(forBatch: [(x, r, transposed)], mesh: mesh)
    }

    /// The collectives a batched step of these matrices issues on this rank: each all-reduce of
    /// the schedule once, over the concatenated payloads of the matrices that need it (so its
    /// ring cost is that of the total count); the all-gathers of the fallback path one per matrix.
    public func plannedCollectives(forBatch batch: [(x: ShardedMatrix, rank: Int, transposed: Bool?)],
                                   mesh: DeviceMesh) -> [PlannedCollective] {
        guard !batch.isEmpty else { return [] }
        // Per phase of the step, in order: the summed all-reduce (axis, elements, element size),
        // or the individual collectives of the phase.
        var merged: [Int: (axis: MeshAxis?, count: Int, size: Int)] = [:]
        var individual: [Int: [PlannedCollective]] = [:]
        func add(_ phase: Int, _ axis: MeshAxis?, _ count: Int, _ size: Int = 4) {
            merged[phase] = (axis, (merged[phase]?.count ?? 0) + count, size)
        }
        for (x, r, transposed) in batch {
            let (m, n) = (x.rows, x.columns)
            guard let geometry = try? DionWorkGeometry(layout: x.layout, rows: m, columns: n, preferTransposed: transposed) else {
                continue
            }
            let (inner, outer) = (geometry.inner(mesh), geometry.outer(mesh))
            let pLocal = geometry.pRange(of: x).count, qLocal = geometry.qRange(of: x).count
            add(0, nil, 1)
            let compressed = usesCompressedSync(for: x, rank: r, mesh: mesh)
            if mesh.shape.replicate > 1 && !compressed && dataParallelSync != .averagedByCaller { add(1, .replicate, x.local.count) }
            if let outer { add(2, outer, pLocal * r + 1) }
            if compressed { add(3, .replicate, pLocal * r + 1) }
            if let inner {
                add(4, inner, 1)
                // Distributed RCQR (no fallback): S·P (k_s×r) and the Gram matrix (r×r + 1).
                if geometry.p > r && dion.configuration.orthonormalization == .rcqr {
                    add(5, inner, Orthonormalization.sketchRows(rank: r) * r)
                    add(6, inner, r * r + 1)
                } else {
                    let g = mesh.shape.size(of: inner)
                    let sent = RingCost.allGather(counts: ChunkSplit.sizes(length: geometry.p, parts: g).map { $0 * r },
                                                  rank: mesh.index(on: inner))
                    individual[7, default: []].append(
                        PlannedCollective(kind: .precomputed(sent: sent.sent, received: sent.received), axis: inner,
                                          count: pLocal * r, elementSize: 4))
                }
                add(8, inner, qLocal * r)
            }
            if compressed { add(9, .replicate, qLocal * r) }
            if let outer { add(10, outer, r, 8) }
        }
        return (0...10).flatMap { phase -> [PlannedCollective] in
            if let all = merged[phase] {
                return [PlannedCollective(kind: .allReduce, axis: all.axis, count: all.count, elementSize: all.size)]
            }
            return individual[phase] ?? []
        }
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
            throw OptimizerError(.numerical, "\(error)")
        }
    }
}

extension DistributedMuon {
    /// The collectives one step issues on this rank.
    public func plannedCollectives(for x: ShardedMatrix, parameterID: UInt64, mesh: DeviceMesh) -> [PlannedCollective] {
        var plan = [PlannedCollective(kind: .allReduce, axis: nil, count: 1, elementSize: 4)]
        if mesh.shape.replicate > 1 && !gradientsAveragedByCaller {
            plan.append(PlannedCollective(kind: .allReduce, axis: .replicate, count: x.local.count, elementSize: 4))
        }
        if x.layout == .replicated, mesh.shape.replicate > 1 {
            let owner = Int(parameterID % UInt64(mesh.shape.replicate))
            let v = RingCost.broadcast(count: x.local.count, groupSize: mesh.shape.replicate,
                                       rank: mesh.index(on: .replicate), root: owner)
            plan.append(PlannedCollective(kind: .precomputed(sent: v.sent, received: v.received), axis: .replicate,
                                          count: x.local.count, elementSize: 4))
        } else if x.layout == .fsdp {
            guard mesh.shape.fsdp > 1 else { return plan }
            let owner = Int(parameterID % UInt64(mesh.shape.fsdp))
            let isOwner = mesh.index(on: .fsdp) == owner
            let others = x.rows * x.columns - x.local.count
            // To the owner, then back: the owner keeps its own block local both ways.
            plan.append(PlannedCollective(kind: .precomputed(sent: isOwner ? 0 : x.local.count, received: isOwner ? others : 0),
                                          axis: .fsdp, count: x.local.count, elementSize: 4))
            plan.append(PlannedCollective(kind: .precomputed(sent: isOwner ? others : 0, received: isOwner ? 0 : x.local.count),
                                          axis: .fsdp, count: isOwner ? x.rows * x.columns : 0, elementSize: 4))
        } else {
            // All-gather U over the rows' axis, then over the columns' axis (ShardedMatrix.gathered).
            var height = x.localRows
            if let axis = x.layout.rows.axis, mesh.shape.size(of: axis) > 1 {
                let counts = ChunkSplit.sizes(length: x.rows, parts: mesh.shape.size(of: axis)).map { $0 * x.localColumns }
                let v = RingCost.allGather(counts: counts, rank: mesh.index(on: axis))
                plan.append(PlannedCollective(kind: .precomputed(sent: v.sent, received: v.received), axis: axis,
                                              count: x.local.count, elementSize: 4))
                height = x.rows
            }
            if let axis = x.layout.columns.axis, mesh.shape.size(of: axis) > 1 {
                let counts = ChunkSplit.sizes(length: x.columns, parts: mesh.shape.size(of: axis)).map { $0 * height }
                let v = RingCost.allGather(counts: counts, rank: mesh.index(on: axis))
                plan.append(PlannedCollective(kind: .precomputed(sent: v.sent, received: v.received), axis: axis,
                                              count: height * x.localColumns, elementSize: 4))
            }
        }
        return plan
    }
}

extension DistributedElementwise {
    /// The collectives one step issues on this rank (none in the optimizer itself).
    public func plannedCollectives(for x: ShardedMatrix, mesh: DeviceMesh) -> [PlannedCollective] {
        var plan = [PlannedCollective(kind: .allReduce, axis: nil, count: 1, elementSize: 4)]
        if mesh.shape.replicate > 1 && !gradientsAveragedByCaller {
            plan.append(PlannedCollective(kind: .allReduce, axis: .replicate, count: x.local.count, elementSize: 4))
        }
        return plan
    }
}
