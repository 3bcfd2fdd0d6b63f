/// The α–β time of one collective over g ranks on one link (bandwidth β bytes/s per direction,
/// latency α per algorithm step): the faster of the ring and the log-depth algorithm.
///
/// - all-reduce of B bytes: ring 2(g−1)·α + 2(g−1)/g·B/β; recursive halving-doubling
///   2⌈log₂g⌉·α + 2(g−1)/g·B/β (same volume, fewer steps, used for small messages by NCCL/MPI).
/// - reduce-scatter / all-gather of B total bytes: ring (g−1)·α + (g−1)/g·B/β; recursive
///   ⌈log₂g⌉·α + (g−1)/g·B/β.
/// - all-to-all of B bytes per rank: (g−1)·α + (g−1)/g·B/β (pairwise exchange).
public enum CollectiveTime {
    public enum Operation: String, Sendable { case allReduce, reduceScatter, allGather, allToAll }

    public static func seconds(_ op: Operation, bytes: Double, ranks g: Int, bandwidth: Double, latency: Double) -> Double {
        guard g > 1, bytes > 0 else { return 0 }
        let steps = Double(g - 1)
        let logSteps = Double(Int.bitWidth - (g - 1).leadingZeroBitCount)  // ⌈log₂ g⌉
        let fraction = Double(g - 1) / Double(g)
        switch op {
        case .allReduce: return 2 * min(steps, logSteps) * latency + 2 * fraction * bytes / bandwidth
        case .reduceScatter, .allGather: return min(steps, logSteps) * latency + fraction * bytes / bandwidth
        case .allToAll: return steps * latency + fraction * bytes / bandwidth
        }
    }
}
