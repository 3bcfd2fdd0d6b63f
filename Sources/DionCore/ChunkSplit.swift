/// "Chunk" semantics for splitting a dimension of length L into k shards, as `torch.chunk`
/// and FSDP2 do: every shard but the last ones has ⌈L/k⌉ elements, the last non-empty one may
/// be short, and any after it are empty. So 3 rows over 4 ranks is 1, 1, 1, 0 and 130 over 4
/// is 33, 33, 33, 31: any shape works on any mesh.
public enum ChunkSplit {
    /// Elements per full shard, ⌈length/parts⌉.
    public static func chunkSize(length: Int, parts: Int) -> Int {
        parts <= 0 ? 0 : (length + parts - 1) / parts
    }

    /// The index range of shard `index`.
    public static func range(of index: Int, length: Int, parts: Int) -> Range<Int> {
        let chunk = chunkSize(length: length, parts: parts)
        let lower = Swift.min(index * chunk, length)
        let upper = Swift.min(lower + chunk, length)
        return lower..<upper
    }

    /// The sizes of all shards, in order.
    public static func sizes(length: Int, parts: Int) -> [Int] {
        (0..<Swift.max(parts, 0)).map { range(of: $0, length: length, parts: parts).count }
    }
}
