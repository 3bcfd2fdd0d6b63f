import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// The exact per-rank bytes of one optimizer step of *this project's* distributed optimizers
/// (docs/communication.md), derived from shapes and the mesh alone — the schedule `dion bench comm
/// --model` runs: Dion steps all weight matrices as one batch (each all-reduce once over the
/// concatenated payloads), Muon and AdamW step them one by one; the layout is the one `bench comm`
/// picks (tensor-parallel column with tp > 1, else FSDP with fsdp > 1, else replicated); matrix i
/// has parameter id i (Muon's owner is id mod the owning axis).
///
/// `OptimizerCost` models the reference's batched schedule at cluster scale; this one is for
/// checking the model against the ledger of real runs: ring costs with chunked (uneven) blocks,
/// the maximum over ranks of each rank's total, as `bench comm` reports.
public enum ImplementedSchedule {
    /// One collective as one rank sees it, on a mesh axis or (`nil`) the world.
    struct Transfer {
        let axis: MeshAxis?
        let sent: Int
    }

    /// Bytes sent per step: the maximum over ranks of a rank's total, and that rank's bytes by axis.
    public static func bytesSent(_ optimizer: SimulatedOptimizer, matrices: [(rows: Int, columns: Int)],
                                 mesh: MeshShape) throws(ClusterModelError) -> (total: Int, byAxis: [String: Int]) {
        var worst = (total: -1, byAxis: [String: Int]())
        for d in 0..<mesh.replicate {
            for f in 0..<mesh.fsdp {
                for t in 0..<mesh.tp {
                    let coordinates = Coordinates(mesh: mesh, dp: d, fsdp: f, tp: t)
                    let transfers = try schedule(optimizer, matrices, coordinates)
                    var byAxis = [String: Int]()
                    for transfer in transfers { byAxis[transfer.axis?.label ?? "world", default: 0] += transfer.sent }
                    let total = byAxis.values.reduce(0, +)
                    if total > worst.total { worst = (total, byAxis) }
                }
            }
        }
        return worst
    }

    /// A rank's place on the mesh.
    struct Coordinates {
        let mesh: MeshShape
        let dp: Int
        let fsdp: Int
        let tp: Int

        /// This rank's index on `axis` (0 for none), and on the world (`DeviceMesh`'s numbering).
        func index(_ axis: MeshAxis?) -> Int {
            switch axis {
            case .replicate: dp
            case .fsdp: fsdp
            case .tp: tp
            case nil: (dp * mesh.fsdp + fsdp) * mesh.tp + tp
            }
        }

        /// The size of `axis`, or of the world for `nil`.
        func size(_ axis: MeshAxis?) -> Int { axis.map { mesh.size(of: $0) } ?? mesh.processCount }

        func allReduce(_ axis: MeshAxis?, _ count: Int, _ bytesPerElement: Int) -> Transfer {
            Transfer(axis: axis, sent: RingCost.allReduce(count: count, groupSize: size(axis), rank: index(axis)).sent * bytesPerElement)
        }

        func allGather(_ axis: MeshAxis, counts: [Int]) -> Transfer {
            Transfer(axis: axis, sent: RingCost.allGather(counts: counts, rank: index(axis)).sent * 4)
        }

        /// This rank's block length of a dimension of `length` sharded over `axis` (whole for `nil`).
        func local(_ length: Int, _ axis: MeshAxis?) -> Int {
            guard let axis else { return length }
            return ChunkSplit.sizes(length: length, parts: mesh.size(of: axis))[index(axis)]
        }

        /// The full (ceil-divided) block length of a dimension sharded over `axis`.
        func chunk(_ length: Int, _ axis: MeshAxis?) -> Int {
            ChunkSplit.chunkSize(length: length, parts: axis.map { mesh.size(of: $0) } ?? 1)
        }
    }

    /// The layout `dion bench comm` uses on this mesh: which axis shards rows and columns.
    static func layout(_ mesh: MeshShape) -> (rows: MeshAxis?, columns: MeshAxis?) {
        if mesh.tp > 1 { return (.tp, mesh.fsdp > 1 ? .fsdp : nil) }
        if mesh.fsdp > 1 { return (.fsdp, nil) }
        return (nil, nil)
    }

    static func schedule(_ optimizer: SimulatedOptimizer, _ matrices: [(rows: Int, columns: Int)],
                         _ c: Coordinates) throws(ClusterModelError) -> [Transfer] {
        switch optimizer {
        case .dion(let rho): return try dion(rho, matrices, c)
        case .muon: return muon(matrices, c)
        case .adamw:
            let axes = layout(c.mesh)
            return matrices.flatMap { m -> [Transfer] in
                let block = c.local(m.rows, axes.rows) * c.local(m.columns, axes.columns)
                return [c.allReduce(nil, 1, 4)] + (c.mesh.replicate > 1 ? [c.allReduce(.replicate, block, 4)] : [])
            }
        }
    }

    /// Dion's batched step (§2 paths A, B, C; `DistributedDion.step(parameters:…)`).
    static func dion(_ rho: Double, _ matrices: [(rows: Int, columns: Int)], _ c: Coordinates) throws(ClusterModelError)
        -> [Transfer] {
        let mesh = c.mesh
        let axes = layout(mesh)
        let configuration: DionConfiguration
        do {
            configuration = try DionConfiguration(rank: .fraction(rho))
        } catch {
            throw ClusterModelError("rank fraction \(rho): \(error.message)")
        }
        // Per phase of the batched step: one all-reduce over the summed count of every matrix in it.
        var phases = [Int: (axis: MeshAxis?, count: Int, bytes: Int)]()
        func add(_ phase: Int, _ axis: MeshAxis?, _ count: Int, _ bytes: Int = 4) {
            phases[phase] = (axis, (phases[phase]?.count ?? 0) + count, bytes)
        }
        var gathers: [Transfer] = []
        for m in matrices {
            let r: Int
            do { r = try configuration.rank(rows: m.rows, columns: m.columns) } catch {
                throw ClusterModelError("\(m.rows)x\(m.columns): \(error.message)")
            }
            // Orientation: P's side is the tp-sharded dimension, Q's side the fsdp-sharded one;
            // FSDP on rows transposes; unsharded follows the single-device rule (B = Mᵀ when m < n).
            let transposed = axes.rows == .fsdp || (axes.rows == nil && m.rows < m.columns)
            let (p, q) = transposed ? (m.columns, m.rows) : (m.rows, m.columns)
            let (pAxis, qAxis) = transposed ? (axes.columns, axes.rows) : (axes.rows, axes.columns)
            let (inner, outer) = (pAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil }, qAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil })
            let pLocal = c.local(p, pAxis), qLocal = c.local(q, qAxis)
            // The automatic sync: compressed only if it also beats the gradient block it replaces.
            let compressed = mesh.replicate > 1 && r < min(m.rows, m.columns) && (m.rows + m.columns) * r < m.rows * m.columns
                && (c.chunk(p, pAxis) + c.chunk(q, qAxis)) * r < c.chunk(m.rows, axes.rows) * c.chunk(m.columns, axes.columns)
            add(0, nil, 1)
            if mesh.replicate > 1 && !compressed { add(1, .replicate, c.local(m.rows, axes.rows) * c.local(m.columns, axes.columns)) }
            if let outer { add(2, outer, pLocal * r + 1) }
            if compressed { add(3, .replicate, pLocal * r + 1) }
            if let inner {
                add(4, inner, 1)
                if p > r && configuration.orthonormalization == .rcqr {
                    add(5, inner, Orthonormalization.sketchRows(rank: r) * r)
                    add(6, inner, r * r + 1)
                } else {
                    gathers.append(c.allGather(inner, counts: ChunkSplit.sizes(length: p, parts: mesh.size(of: inner)).map { $0 * r }))
                }
                add(8, inner, qLocal * r)
            }
            if compressed { add(9, .replicate, qLocal * r) }
            if let outer { add(10, outer, r, 8) }
        }
        return phases.keys.sorted().compactMap { phases[$0].map { c.allReduce($0.axis, $0.count, $0.bytes) } } + gathers
    }

    /// Muon one matrix at a time (`DistributedMuon`): the dp gradient all-reduce, then the owner
    /// broadcast (replicated), the two all-to-alls of the FSDP owner scheme, or the all-gathers of
    /// U over the row then the column axis (tensor parallel).
    static func muon(_ matrices: [(rows: Int, columns: Int)], _ c: Coordinates) -> [Transfer] {
        let mesh = c.mesh
        let axes = layout(mesh)
        var out: [Transfer] = []
        for (id, m) in matrices.enumerated() {
            let (rowsLocal, columnsLocal) = (c.local(m.rows, axes.rows), c.local(m.columns, axes.columns))
            let block = rowsLocal * columnsLocal
            out.append(c.allReduce(nil, 1, 4))
            if mesh.replicate > 1 { out.append(c.allReduce(.replicate, block, 4)) }
            if axes.rows == nil && axes.columns == nil {
                if mesh.replicate > 1 {
                    let v = RingCost.broadcast(count: block, groupSize: mesh.replicate, rank: c.dp, root: id % mesh.replicate)
                    out.append(Transfer(axis: .replicate, sent: v.sent * 4))
                }
            } else if axes.rows == .fsdp && axes.columns == nil {
                let owner = id % mesh.fsdp == c.fsdp
                out.append(Transfer(axis: .fsdp, sent: owner ? 0 : block * 4))
                out.append(Transfer(axis: .fsdp, sent: owner ? (m.rows * m.columns - block) * 4 : 0))
            } else {
                var height = rowsLocal
                if let axis = axes.rows, mesh.size(of: axis) > 1 {
                    out.append(c.allGather(axis, counts: ChunkSplit.sizes(length: m.rows, parts: mesh.size(of: axis)).map { $0 * columnsLocal }))
                    height = m.rows
                }
                if let axis = axes.columns, mesh.size(of: axis) > 1 {
                    out.append(c.allGather(axis, counts: ChunkSplit.sizes(length: m.columns, parts: mesh.size(of: axis)).map { $0 * height }))
                }
            }
        }
        return out
    }
}
