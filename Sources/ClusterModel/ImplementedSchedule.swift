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
    /// One collective as one rank sees it.
    struct Transfer {
        let axis: String
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
                    for transfer in transfers { byAxis[transfer.axis, default: 0] += transfer.sent }
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

        var world: (size: Int, rank: Int) { (mesh.processCount, (dp * mesh.fsdp + fsdp) * mesh.tp + tp) }

        func allReduce(_ axis: String, _ count: Int, _ bytesPerElement: Int) -> Transfer {
            let (g, r): (Int, Int) = switch axis {
            case "dp": (mesh.replicate, dp)
            case "fsdp": (mesh.fsdp, fsdp)
            case "tp": (mesh.tp, tp)
            default: world
            }
            return Transfer(axis: axis, sent: RingCost.allReduce(count: count, groupSize: g, rank: r).sent * bytesPerElement)
        }
    }

    /// The layout `dion bench comm` uses on this mesh: which axis shards rows and columns.
    static func layout(_ mesh: MeshShape) -> (rows: String?, columns: String?) {
        if mesh.tp > 1 { return ("tp", mesh.fsdp > 1 ? "fsdp" : nil) }
        if mesh.fsdp > 1 { return ("fsdp", nil) }
        return (nil, nil)
    }

    static func size(_ axis: String?, _ mesh: MeshShape) -> Int {
        switch axis {
        case "fsdp": mesh.fsdp
        case "tp": mesh.tp
        default: 1
        }
    }

    static func index(_ axis: String?, _ c: Coordinates) -> Int {
        switch axis {
        case "fsdp": c.fsdp
        case "tp": c.tp
        default: 0
        }
    }

    /// This rank's block length of a dimension of `length` sharded over `axis`.
    static func local(_ length: Int, _ axis: String?, _ c: Coordinates) -> Int {
        ChunkSplit.sizes(length: length, parts: size(axis, c.mesh))[index(axis, c)]
    }

    static func schedule(_ optimizer: SimulatedOptimizer, _ matrices: [(rows: Int, columns: Int)],
                         _ c: Coordinates) throws(ClusterModelError) -> [Transfer] {
        switch optimizer {
        case .dion(let rho): return try dion(rho, matrices, c)
        case .muon: return muon(matrices, c)
        case .adamw:
            return matrices.flatMap { m -> [Transfer] in
                let (axes, mesh) = (layout(c.mesh), c.mesh)
                let block = local(m.rows, axes.rows, c) * local(m.columns, axes.columns, c)
                return [c.allReduce("world", 1, 4)] + (mesh.replicate > 1 ? [c.allReduce("dp", block, 4)] : [])
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
        var sums = [String: (count: Int, bytes: Int)]()
        func add(_ key: String, _ count: Int, _ bytes: Int = 4) { sums[key] = ((sums[key]?.count ?? 0) + count, bytes) }
        var gathers: [Transfer] = []
        for m in matrices {
            let r: Int
            do { r = try configuration.rank(rows: m.rows, columns: m.columns) } catch {
                throw ClusterModelError("\(m.rows)x\(m.columns): \(error.message)")
            }
            // Orientation: P's side is the tp-sharded dimension, Q's side the fsdp-sharded one;
            // FSDP on rows transposes; unsharded follows the single-device rule (B = Mᵀ when m < n).
            let transposed = axes.rows == "fsdp" || (axes.rows == nil && m.rows < m.columns)
            let (p, q) = transposed ? (m.columns, m.rows) : (m.rows, m.columns)
            let (pAxis, qAxis) = transposed ? (axes.columns, axes.rows) : (axes.rows, axes.columns)
            let (inner, outer) = (size(pAxis, mesh) > 1 ? pAxis : nil, size(qAxis, mesh) > 1 ? qAxis : nil)
            let pLocal = local(p, pAxis, c), qLocal = local(q, qAxis, c)
            // The automatic sync: compressed only if it also beats the gradient block it replaces.
            let ceilShard = { (length: Int, axis: String?) in ChunkSplit.chunkSize(length: length, parts: size(axis, mesh)) }
            let compressed = mesh.replicate > 1 && r < min(m.rows, m.columns) && (m.rows + m.columns) * r < m.rows * m.columns
                && (ceilShard(p, pAxis) + ceilShard(q, qAxis)) * r < ceilShard(m.rows, axes.rows) * ceilShard(m.columns, axes.columns)
            add("0 world", 1)
            if mesh.replicate > 1 && !compressed { add("1 dp", local(m.rows, axes.rows, c) * local(m.columns, axes.columns, c)) }
            if outer != nil { add("2 fsdp", pLocal * r + 1) }
            if compressed { add("3 dp", pLocal * r + 1) }
            if inner != nil {
                add("4 tp", 1)
                if p > r && configuration.orthonormalization == .rcqr {
                    add("5 tp", Orthonormalization.sketchRows(rank: r) * r)
                    add("6 tp", r * r + 1)
                } else {
                    let counts = ChunkSplit.sizes(length: p, parts: mesh.tp).map { $0 * r }
                    gathers.append(Transfer(axis: "tp", sent: RingCost.allGather(counts: counts, rank: c.tp).sent * 4))
                }
                add("8 tp", qLocal * r)
            }
            if compressed { add("9 dp", qLocal * r) }
            if outer != nil { add("a fsdp", r, 8) }
        }
        return sums.keys.sorted().map { key in
            let (count, bytes) = sums[key] ?? (0, 4)
            return c.allReduce(String(key.split(separator: " ")[1]), count, bytes)
        } + gathers
    }

    /// Muon one matrix at a time (`DistributedMuon`): the dp gradient all-reduce, then the owner
    /// broadcast (replicated), the two all-to-alls of the FSDP owner scheme, or the all-gathers of
    /// U over the row then the column axis (tensor parallel).
    static func muon(_ matrices: [(rows: Int, columns: Int)], _ c: Coordinates) -> [Transfer] {
        let mesh = c.mesh
        let axes = layout(mesh)
        var out: [Transfer] = []
        for (id, m) in matrices.enumerated() {
            let (rowsLocal, columnsLocal) = (local(m.rows, axes.rows, c), local(m.columns, axes.columns, c))
            let block = rowsLocal * columnsLocal
            out.append(c.allReduce("world", 1, 4))
            if mesh.replicate > 1 { out.append(c.allReduce("dp", block, 4)) }
            if axes.rows == nil && axes.columns == nil {
                if mesh.replicate > 1 {
                    let v = RingCost.broadcast(count: block, groupSize: mesh.replicate, rank: c.dp, root: id % mesh.replicate)
                    out.append(Transfer(axis: "dp", sent: v.sent * 4))
                }
            } else if axes.rows == "fsdp" && axes.columns == nil {
                let owner = id % mesh.fsdp == c.fsdp
                out.append(Transfer(axis: "fsdp", sent: owner ? 0 : block * 4))
                out.append(Transfer(axis: "fsdp", sent: owner ? (m.rows * m.columns - block) * 4 : 0))
            } else {
                var height = rowsLocal
                if let axis = axes.rows, size(axis, mesh) > 1 {
                    let counts = ChunkSplit.sizes(length: m.rows, parts: size(axis, mesh)).map { $0 * columnsLocal }
                    out.append(Transfer(axis: axis, sent: RingCost.allGather(counts: counts, rank: index(axis, c)).sent * 4))
                    height = m.rows
                }
                if let axis = axes.columns, size(axis, mesh) > 1 {
                    let counts = ChunkSplit.sizes(length: m.columns, parts: size(axis, mesh)).map { $0 * height }
                    out.append(Transfer(axis: axis, sent: RingCost.allGather(counts: counts, rank: index(axis, c)).sent * 4))
                }
            }
        }
        return out
    }
}
