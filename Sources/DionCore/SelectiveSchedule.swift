/// Which slices of a matrix a selective optimizer (Dion2, NorDion2) selects.
public enum SliceDimension: String, Sendable, Hashable, Codable {
    case rows, columns

    /// Dion2's single-process rule, whatever the layout: rows when m ≤ n, else columns (the shorter
    /// slices, so Polar Express runs on a k×n or m×k submatrix).
    public static func dion2(rows m: Int, columns n: Int) -> SliceDimension { m <= n ? .rows : .columns }

    /// What a selective optimizer selects in an m × n matrix: Dion2's rule for Dion2 (`dion2Rule`),
    /// rows for NorDion2 and NorMuon. The step and every plan call it.
    public static func selected(dion2Rule: Bool, rows m: Int, columns n: Int) -> SliceDimension {
        dion2Rule ? dion2(rows: m, columns: n) : .rows
    }
}

/// What crosses the network in a step of Dion2, NorDion2 or NorMuon (`StepPlan.selective`), and
/// who decides the selection.
public enum SelectiveRouting: String, Sendable, Hashable, Codable {
    /// Every rank learns the whole-matrix scores (one fp64 scalar per slice) and selects the exact
    /// top-k; only the selected slices go to the owner and back.
    case exact
    /// The reference's `global` scope: whole shards go to the owner, which takes the exact top-k and
    /// sends back the selected indices (k Int32) and the selected slices of O.
    case global
    /// The reference's `local` scope: each shard of the selection dimension selects its own top
    /// k_loc = min(shard, ⌈α·⌈p/F⌉⌉) (scores summed over the other dimension's shards only); the
    /// union goes to the owner and back.
    case local
    /// NorMuon: no selection, whole shards go to the owner and O comes back.
    case whole
}

/// One matrix of a selective step on a mesh, from global shapes and the layout alone (so every
/// rank agrees): the work orientation W (W = M when the selection dimension is rows, Mᵀ when it
/// is columns), W's shape p × q, and the axes (of more than one rank) sharding W's rows (`slices`)
/// and columns (`across`). The step and `StepPlan.selective` both use it.
///
/// The slices of W are routed to one owner rank of the group `slices` × `across` in two stages —
/// over `across` (a stage owner gathers whole-width slices of its shard), then over `slices` —
/// and O comes back the same way; a matrix no axis shards (replicated) is orthogonalized by one
/// owner of the world and all-gathered.
public struct SelectiveSchedule: Sendable, Hashable {
    public let dimension: SliceDimension
    /// Slices (rows of W).
    public let p: Int
    /// The length of a slice (columns of W).
    public let q: Int
    /// The axis sharding the slices, when it has more than one rank.
    public let slices: MeshAxis?
    /// The axis sharding each slice's length, when it has more than one rank.
    public let across: MeshAxis?

    /// - Parameters:
    ///   - x: the matrix (global shape and layout).
    ///   - dimension: the selection dimension (rows for NorMuon and NorDion2).
    ///   - mesh: the mesh.
    public init(_ x: PlannedMatrix, dimension: SliceDimension, mesh: MeshShape) {
        self.dimension = dimension
        let (pAxis, qAxis) = dimension == .rows ? (x.layout.rows.axis, x.layout.columns.axis)
                                                : (x.layout.columns.axis, x.layout.rows.axis)
        (p, q) = dimension == .rows ? (x.rows, x.columns) : (x.columns, x.rows)
        slices = pAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil }
        across = qAxis.flatMap { mesh.size(of: $0) > 1 ? $0 : nil }
    }

    /// Whether the selection dimension is split into shards by the layout (over an axis of any size).
    public static func shardsSlices(_ layout: ShardLayout, dimension: SliceDimension) -> Bool {
        (dimension == .rows ? layout.rows.axis : layout.columns.axis) != nil
    }

    /// The number of ranks of the owner group (1 when unsharded: the world group is used then).
    public func groupSize(_ mesh: MeshShape) -> Int {
        (slices.map { mesh.size(of: $0) } ?? 1) * (across.map { mesh.size(of: $0) } ?? 1)
    }

    /// The shard sizes of the slices (one entry when they are not sharded).
    public func sliceShards(_ mesh: MeshShape) -> [Int] {
        slices.map { ChunkSplit.sizes(length: p, parts: mesh.size(of: $0)) } ?? [p]
    }

    /// The shard sizes of a slice's length (one entry when not sharded).
    public func acrossShards(_ mesh: MeshShape) -> [Int] {
        across.map { ChunkSplit.sizes(length: q, parts: mesh.size(of: $0)) } ?? [q]
    }

    /// The reference's `local` rule: shard i selects min(its size, k_loc), k_loc = ⌈α·⌈p/F⌉⌉ (at
    /// least 1), F the number of shards of the slices.
    public func localCounts(fraction: Double, mesh: MeshShape) -> [Int] {
        let shards = sliceShards(mesh)
        let kLocal = Self.selectedCount(fraction: fraction, of: ChunkSplit.chunkSize(length: p, parts: shards.count))
        return shards.map { Swift.min($0, kLocal) }
    }

    /// k = min(size, max(1, ⌈α·size⌉)), α·size in Double: how many of `size` slices a fraction α
    /// selects (`SliceSelection.count` of the optimizers is this).
    public static func selectedCount(fraction: Double, of size: Int) -> Int {
        Swift.min(size, Swift.max(1, Int((fraction * Double(size)).rounded(.up))))
    }

    /// An assumed selection of k slices spread over the shards in proportion to their sizes (largest
    /// remainders first, ties to the lower shard): what `dion simulate` prices for the `exact` and
    /// `global` routings, whose real per-shard counts are the data's.
    public func proportionalCounts(_ k: Int, mesh: MeshShape) -> [Int] {
        let shards = sliceShards(mesh)
        guard p > 0 else { return shards.map { _ in 0 } }
        var counts = shards.map { k * $0 / p }
        let order = shards.indices.sorted { a, b in
            let (ra, rb) = (k * shards[a] % p, k * shards[b] % p)
            return ra > rb || (ra == rb && a < b)
        }
        var left = k - counts.reduce(0, +)
        for i in order where left > 0 && counts[i] < shards[i] {
            counts[i] += 1
            left -= 1
        }
        return counts
    }

    /// How many of `indices` (global slice indices) fall in each shard of the slices: the
    /// data-dependent input of `StepPlan.selective` for the `exact` and `global` routings.
    public func countsPerShard(of indices: [Int], mesh: MeshShape) -> [Int] {
        let shards = sliceShards(mesh)
        let chunk = ChunkSplit.chunkSize(length: p, parts: shards.count)
        var counts = [Int](repeating: 0, count: shards.count)
        for i in indices where i >= 0 && i < p { counts[Swift.min(i / Swift.max(chunk, 1), shards.count - 1)] += 1 }
        return counts
    }

    /// Who orthogonalizes each matrix of a batch: an index into the matrix's owner group (`slices`-major:
    /// owner = (index / |across|, index % |across|)), or a world rank for an unsharded matrix. Greedy
    /// by Polar Express cost (k·q·min(k, q)): the largest job first, to the least loaded rank of its
    /// group, ties to the lower index — even work over the ranks, decided from shapes and k alone.
    public static func owners(_ schedules: [SelectiveSchedule], selected: [Int], mesh: MeshShape) -> [Int] {
        var load: [String: [Int]] = [:]
        var owners = [Int](repeating: 0, count: schedules.count)
        let order = schedules.indices.sorted { a, b in
            let (ca, cb) = (schedules[a].cost(selected[a]), schedules[b].cost(selected[b]))
            return ca > cb || (ca == cb && a < b)
        }
        for i in order {
            let s = schedules[i]
            let key = "\(s.slices?.label ?? "-")/\(s.across?.label ?? "-")"
            let size = s.slices == nil && s.across == nil ? mesh.processCount : s.groupSize(mesh)
            var loads = load[key] ?? [Int](repeating: 0, count: size)
            let owner = loads.indices.min { loads[$0] < loads[$1] || (loads[$0] == loads[$1] && $0 < $1) } ?? 0
            loads[owner] += s.cost(selected[i])
            load[key] = loads
            owners[i] = owner
        }
        return owners
    }

    /// Polar Express work on a k×q submatrix, up to a constant.
    func cost(_ k: Int) -> Int { k * q * Swift.max(1, Swift.min(k, q)) }

    /// The owner's coordinates on (`slices`, `across`) for a group index.
    public func ownerCoordinates(_ owner: Int, mesh: MeshShape) -> (slices: Int, across: Int) {
        let a = across.map { mesh.size(of: $0) } ?? 1
        return (owner / a, owner % a)
    }
}
