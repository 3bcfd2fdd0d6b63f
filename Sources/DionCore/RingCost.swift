/// Elements one rank sends and receives in one collective.
public struct TransferVolume: Sendable, Hashable, Codable {
    /// Elements sent by this rank.
    public var sent: Int
    /// Elements received by this rank.
    public var received: Int

    public init(sent: Int, received: Int) {
        self.sent = sent
        self.received = received
    }

    /// The same volume in bytes for elements of `elementSize` bytes.
    public func bytes(elementSize: Int) -> TransferVolume {
        TransferVolume(sent: sent * elementSize, received: received * elementSize)
    }
}

/// The per-rank traffic of each collective under the standard ring algorithms, exactly, in
/// elements. These are the formulas the ledger records and `docs/communication-model.md`
/// states; for g ranks and N elements in equal blocks they reduce to the textbook
/// 2(g−1)/g·N (all-reduce) and (g−1)/g·N (reduce-scatter, all-gather).
///
/// Ring reduce-scatter of blocks c₀…c_{g−1}: block b starts at rank b+1 and travels g−1 hops
/// to rank b, so rank r sends every block but its own (N − c_r) and receives every block
/// but block r−1 (N − c_{r−1}). Ring all-gather is the mirror image: rank r receives every
/// block but its own (N − c_r) and sends every block but block r+1 (N − c_{r+1}).
/// All-reduce is a reduce-scatter followed by an all-gather over the split of N into g
/// blocks of ⌈N/g⌉ or ⌊N/g⌋ elements (the larger blocks first).
public enum RingCost {
    /// The split of `total` elements into `parts` blocks, the first `total % parts` one larger.
    public static func evenBlocks(total: Int, parts: Int) -> [Int] {
        guard parts > 0 else { return [] }
        return (0..<parts).map { evenBlock($0, total: total, parts: parts) }
    }

    @inline(__always)
    static func evenBlock(_ index: Int, total: Int, parts: Int) -> Int {
        total / parts + (index < total % parts ? 1 : 0)
    }

    @inline(__always)
    static func wrap(_ index: Int, _ g: Int) -> Int { ((index % g) + g) % g }

    /// All-reduce of `count` elements over `groupSize` ranks, as seen by `rank`.
    ///
    /// On every collective's path when the ledger is on, so it uses one division.
    @inline(__always)
    public static func allReduce(count: Int, groupSize g: Int, rank r: Int) -> TransferVolume {
        guard g > 1 else { return TransferVolume(sent: 0, received: 0) }
        let quotient = count / g
        let remainder = count - quotient * g
        @inline(__always) func block(_ i: Int) -> Int { quotient + (i < remainder ? 1 : 0) }
        let own = block(r)
        let next = block(r + 1 == g ? 0 : r + 1)
        let previous = block(r == 0 ? g - 1 : r - 1)
        return TransferVolume(sent: (count - own) + (count - next), received: (count - previous) + (count - own))
    }

    /// Reduce-scatter in equal blocks of `blockCount` elements (input g·blockCount).
    public static func reduceScatter(blockCount: Int, groupSize g: Int) -> TransferVolume {
        TransferVolume(sent: (g - 1) * blockCount, received: (g - 1) * blockCount)
    }

    /// Reduce-scatter where rank i receives `counts[i]` elements.
    public static func reduceScatter(counts: [Int], rank r: Int) -> TransferVolume {
        let g = counts.count
        guard g > 1 else { return TransferVolume(sent: 0, received: 0) }
        let total = counts.reduce(0, +)
        return TransferVolume(sent: total - counts[r], received: total - counts[wrap(r - 1, g)])
    }

    /// All-gather in equal blocks of `blockCount` elements (output g·blockCount).
    public static func allGather(blockCount: Int, groupSize g: Int) -> TransferVolume {
        TransferVolume(sent: (g - 1) * blockCount, received: (g - 1) * blockCount)
    }

    /// All-gather where rank i contributes `counts[i]` elements.
    public static func allGather(counts: [Int], rank r: Int) -> TransferVolume {
        let g = counts.count
        guard g > 1 else { return TransferVolume(sent: 0, received: 0) }
        let total = counts.reduce(0, +)
        return TransferVolume(sent: total - counts[wrap(r + 1, g)], received: total - counts[r])
    }

    /// Broadcast of `count` elements from `root` along a pipelined chain root → root+1 → …:
    /// every rank but the root receives N, every rank but the last in the chain sends N.
    public static func broadcast(count: Int, groupSize g: Int, rank r: Int, root: Int) -> TransferVolume {
        guard g > 1 else { return TransferVolume(sent: 0, received: 0) }
        let position = wrap(r - root, g)
        return TransferVolume(sent: position < g - 1 ? count : 0, received: position > 0 ? count : 0)
    }

    /// All-to-all: everything but the block a rank keeps for itself crosses the network once.
    public static func allToAll(sendCounts: [Int], receiveCounts: [Int], rank r: Int) -> TransferVolume {
        TransferVolume(sent: sendCounts.reduce(0, +) - sendCounts[r],
                       received: receiveCounts.reduce(0, +) - receiveCounts[r])
    }

    /// All-to-all in equal blocks of `blockCount` elements per destination.
    public static func allToAll(blockCount: Int, groupSize g: Int) -> TransferVolume {
        TransferVolume(sent: (g - 1) * blockCount, received: (g - 1) * blockCount)
    }
}
