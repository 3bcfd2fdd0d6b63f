/// Which `fsdp` rank orthonormalizes each matrix whose P is the same on every `fsdp` rank
/// (`DionMatrixSchedule.ownedOrthonormalization`), so that each P is orthonormalized once
/// instead of on every rank: greedy by cost, each matrix (largest p·r² first, ties by position)
/// to the least-loaded rank (ties to the lowest). A function of global shapes, so every rank and
/// the plan agree.
public enum OrthonormalizationOwners {
    /// The owner of each matrix (`nil` for those not orthonormalized by an owner), in `0..<ranks`.
    /// - Parameter costs: per matrix, p·r² or `nil` when it is not owned.
    public static func assign(costs: [Int?], ranks: Int) -> [Int?] {
        var owners = [Int?](repeating: nil, count: costs.count)
        guard ranks > 0 else { return owners }
        var load = [Int](repeating: 0, count: ranks)
        let order = costs.indices.filter { costs[$0] != nil }.sorted { a, b in
            let (ca, cb) = (costs[a] ?? 0, costs[b] ?? 0)
            return ca != cb ? ca > cb : a < b
        }
        for i in order {
            var best = 0
            for f in 1..<ranks where load[f] < load[best] { best = f }
            owners[i] = best
            load[best] += max(costs[i] ?? 0, 1)
        }
        return owners
    }

    /// The owners of a batch's matrices from their schedules on a mesh.
    public static func assign(_ schedules: [DionMatrixSchedule], fsdp: Int) -> [Int?] {
        assign(costs: schedules.map { s in
            s.ownedOrthonormalization ? s.geometry.p * s.rank * s.rank : nil
        }, ranks: fsdp)
    }
}
