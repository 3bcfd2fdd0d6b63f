/// One batch of token sequences: `inputs[b]` and `targets[b]` (the next bytes) for each
/// sequence, flattened row-major as `sequences × length`.
public struct TokenBatch: Sendable, Equatable {
    /// Number of sequences.
    public let sequences: Int
    /// Tokens per sequence.
    public let length: Int
    /// Input tokens, `sequences × length`.
    public let inputs: [Int32]
    /// Target tokens (inputs shifted by one), `sequences × length`.
    public let targets: [Int32]
}

/// Deterministic random windows of a byte stream, keyed by (seed, step, sequence index), so
/// that the global batch of a step is the same whatever the mesh: data-parallel replica i of R
/// takes sequences [i·B/R, (i+1)·B/R) of the global batch of B, and gradient-accumulation
/// micro-batch k takes its consecutive slice of those.
public struct BatchSampler: Sendable {
    /// The bytes windows are drawn from.
    public let tokens: [UInt8]
    /// Tokens per sequence.
    public let sequenceLength: Int
    /// Seed of the draw.
    public let seed: UInt64

    /// - Throws: `DataError.tooShort` when `tokens` cannot hold one sequence plus its target.
    public init(tokens: [UInt8], sequenceLength: Int, seed: UInt64) throws(DataError) {
        guard sequenceLength >= 1 else {
            throw DataError(.invalidArgument, "the sequence length must be at least 1, got \(sequenceLength)")
        }
        guard tokens.count > sequenceLength else {
            throw DataError(.tooShort, "\(tokens.count) bytes cannot hold a sequence of \(sequenceLength) plus its "
                            + "next byte; use a longer text or a shorter --seq-len")
        }
        self.tokens = tokens
        self.sequenceLength = sequenceLength
        self.seed = seed
    }

    /// Start offset of sequence `index` of the global batch of `step`.
    public func offset(step: Int, index: Int) -> Int {
        let windows = UInt64(tokens.count - sequenceLength)
        return Int(SplitMix64.hash(seed, UInt64(bitPattern: Int64(step)), UInt64(bitPattern: Int64(index))) % windows)
    }

    /// The sequences `range` of the global batch of `step`.
    public func batch(step: Int, sequences range: Range<Int>) -> TokenBatch {
        var inputs = [Int32]()
        var targets = [Int32]()
        inputs.reserveCapacity(range.count * sequenceLength)
        targets.reserveCapacity(range.count * sequenceLength)
        for index in range {
            let start = offset(step: step, index: index)
            for t in 0..<sequenceLength {
                inputs.append(Int32(tokens[start + t]))
                targets.append(Int32(tokens[start + t + 1]))
            }
        }
        return TokenBatch(sequences: range.count, length: sequenceLength, inputs: inputs, targets: targets)
    }

    /// The slice of a global batch of `globalBatch` sequences that replica `replica` of
    /// `replicas` trains on in micro-batch `micro` of `microBatches`.
    ///
    /// - Throws: `DataError.invalidArgument` unless `globalBatch` divides into replicas and
    ///   micro-batches evenly (uneven slices would weight sequences differently per mesh).
    public static func slice(globalBatch: Int, replicas: Int, replica: Int, microBatches: Int = 1,
                             micro: Int = 0) throws(DataError) -> Range<Int> {
        guard globalBatch > 0, replicas > 0, microBatches > 0, (0..<replicas).contains(replica),
              (0..<microBatches).contains(micro) else {
            throw DataError(.invalidArgument, "batch \(globalBatch), replica \(replica) of \(replicas), micro-batch "
                            + "\(micro) of \(microBatches) is not a valid slice")
        }
        guard globalBatch % (replicas * microBatches) == 0 else {
            throw DataError(.invalidArgument, "--batch-size \(globalBatch) must be divisible by the data-parallel "
                            + "size \(replicas) times --grad-accum \(microBatches)")
        }
        let perReplica = globalBatch / replicas
        let perMicro = perReplica / microBatches
        let start = replica * perReplica + micro * perMicro
        return start..<(start + perMicro)
    }
}

/// SplitMix64's finalizer as a keyed hash: a few multiply-xorshift rounds that give
/// well-mixed 64-bit values for consecutive keys (Steele, Lea and Flood, 2014).
enum SplitMix64 {
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func hash(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        mix(mix(mix(a) ^ b) ^ c)
    }
}
