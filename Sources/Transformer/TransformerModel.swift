import LinearAlgebra

/// The forward and backward pass of the byte transformer on this rank's tensor-parallel slice.
///
/// With tp = T, rank t holds heads [t·H/T, (t+1)·H/T) of q, k, v (rows of wq, wk, wv: column
/// parallel) and the matching columns of wo (row parallel), and hidden units [t·h/T, (t+1)·h/T)
/// of w1 (rows) and w2 (columns). Per block the forward all-reduces the two row-parallel outputs
/// (N×d each) over `tp`, and the backward all-reduces the two input gradients of the
/// column-parallel linears (N×d each) — the f/g operators of Megatron-LM. Embeddings, norms and
/// the head are computed redundantly on every tp rank.
public struct TransformerModel: Sendable {
    public let configuration: TransformerConfiguration
    public let parameters: TransformerParameters
    public let tensorParallelSize: Int
    public let tensorParallelRank: Int
    /// The recycled activation buffers of this model's steps (shared by copies of the model).
    public let pool = ActivationPool()

    /// - Throws: `TransformerError.invalidConfiguration` when heads or the hidden width do not
    ///   divide by `tensorParallelSize`.
    public init(_ configuration: TransformerConfiguration, tensorParallelSize: Int = 1,
                tensorParallelRank: Int = 0) throws(TransformerError) {
        try configuration.validate(tensorParallel: tensorParallelSize)
        guard (0..<tensorParallelSize).contains(tensorParallelRank) else {
            throw TransformerError(.invalidConfiguration, "tp rank \(tensorParallelRank) of \(tensorParallelSize)")
        }
        self.configuration = configuration
        parameters = TransformerParameters(configuration)
        self.tensorParallelSize = tensorParallelSize
        self.tensorParallelRank = tensorParallelRank
    }

    /// The rows and columns of parameter `id` that this tp rank holds.
    public func localRanges(_ id: ParameterID) -> (rows: Range<Int>, columns: Range<Int>) {
        let p = parameters[id]
        func part(_ length: Int) -> Range<Int> {
            let size = length / tensorParallelSize
            return (tensorParallelRank * size)..<((tensorParallelRank + 1) * size)
        }
        switch p.split {
        case .replicated: return (0..<p.rows, 0..<p.columns)
        case .outputRows: return (part(p.rows), 0..<p.columns)
        case .inputColumns: return (0..<p.rows, part(p.columns))
        }
    }

    /// The mean cross-entropy of predicting `targets` from `inputs` (`sequences` rows of equal
    /// length ≤ the configured sequence length); forward only.
    ///
    /// - Throws: `TransformerError`: `.shapeMismatch` for a batch that does not fit the model,
    ///   `.invalidToken` for a token outside the vocabulary, or what `source` throws (a failed
    ///   collective as `.communication` with its `MPIError`).
    public func loss<S: ParameterSource>(inputs: [Int32], targets: [Int32], sequences: Int,
                                         source: inout S) throws(TransformerError) -> Float {
        try run(inputs: inputs, targets: targets, sequences: sequences, source: &source, backward: false)
    }

    /// The mean cross-entropy and, through `source.accumulateGradients`, its gradient with
    /// respect to every parameter (this rank's tp slice).
    ///
    /// - Throws: `TransformerError`, as `loss(inputs:targets:sequences:source:)` does.
    public func lossAndGradients<S: ParameterSource>(inputs: [Int32], targets: [Int32], sequences: Int,
                                                     source: inout S) throws(TransformerError) -> Float {
        try run(inputs: inputs, targets: targets, sequences: sequences, source: &source, backward: true)
    }

    private func run<S: ParameterSource>(inputs: [Int32], targets: [Int32], sequences: Int, source: inout S,
                                         backward: Bool) throws(TransformerError) -> Float {
        let c = configuration
        guard sequences > 0, inputs.count % sequences == 0, inputs.count == targets.count else {
            throw TransformerError(.shapeMismatch, "\(inputs.count) inputs and \(targets.count) targets do not form "
                                   + "\(sequences) sequences")
        }
        let t = inputs.count / sequences
        guard (1...c.sequenceLength).contains(t) else {
            throw TransformerError(.shapeMismatch, "sequences of \(t) tokens; the model takes 1…\(c.sequenceLength)")
        }
        var requests = WeightRequests(parameters, backward: backward)
        let embed = try requests.take(WeightRequests.embeddings(parameters), from: &source)
        var x = try embedded(inputs, length: t, embed[0], embed[1])
        var caches = [BlockCache]()
        let firstInput = x
        defer { pool.recycle(firstInput) }
        for l in 0..<c.layers {
            // The last block's backward follows its forward at once: it keeps its weights.
            let cache = try blockForward(x, layer: l, sequences: sequences, keepWeights: backward && l == c.layers - 1,
                                         requests: &requests, source: &source)
            x = cache.output
            if backward {
                caches.append(cache)
            } else {
                var spent = cache.ownActivations
                spent.removeLast()          // the output, the next block's input
                if l > 0 { spent.append(cache.input) }
                pool.recycle(spent)
            }
        }
        defer {
            pool.recycle(caches.flatMap(\.ownActivations))
            if !backward { pool.recycle(x) }
        }
        let tail = try requests.take(WeightRequests.tail(parameters), from: &source)
        let (f, inverse) = RMSNorm.forward(x, gain: tail[0].elements, pool: pool)
        var dLogits = try pool.product(f, tail[1], transposeB: true)
        defer { pool.recycle(f, dLogits) }
        let loss = try CrossEntropy.lossAndGradient(overwriting: &dLogits, targets: targets)
        guard backward else { return loss }
        let dHead = try pool.product(dLogits, transposeA: true, f)
        try source.progress()
        let df = try pool.product(dLogits, tail[1])
        var dx = pool.zeros(rows: x.rows, columns: x.columns)
        defer { pool.recycle(dHead, df, dx) }
        let dGain = RMSNorm.backward(df, x: x, gain: tail[0].elements, inverseRMS: inverse, accumulatingInto: &dx)
        let gain = try gainGradient(dGain)
        try source.accumulateGradients([(parameters.finalNorm, gain), (parameters.head, dHead)])
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            try blockBackward(&dx, caches[l], layer: l, sequences: sequences, requests: &requests, source: &source)
        }
        let d = c.modelDimension
        var dEmbed = pool.zeros(rows: embed[0].rows, columns: embed[0].columns)
        var dPosition = pool.zeros(rows: embed[1].rows, columns: embed[1].columns)
        defer { pool.recycle(dEmbed, dPosition) }
        dx.elements.withUnsafeBufferPointer { pdx in
            dEmbed.elements.withUnsafeMutableBufferPointer { pe in
                dPosition.elements.withUnsafeMutableBufferPointer { pp in
                    guard let g = pdx.baseAddress, let e = pe.baseAddress, let p = pp.baseAddress else { return }
                    for (n, token) in inputs.enumerated() {
                        let source = g + n * d, embedRow = e + Int(token) * d, positionRow = p + (n % t) * d
                        for j in 0..<d {
                            embedRow[j] += source[j]
                            positionRow[j] += source[j]
                        }
                    }
                }
            }
        }
        try source.accumulateGradients([(parameters.embedding, dEmbed), (parameters.positionEmbedding, dPosition)])
        return loss
    }

    /// x[n] = embed[token n] + pos_embed[n mod T].
    ///
    /// - Throws: `TransformerError.invalidToken` for a token outside the vocabulary.
    private func embedded(_ inputs: [Int32], length t: Int, _ embed: Matrix,
                          _ position: Matrix) throws(TransformerError) -> Matrix {
        let d = configuration.modelDimension
        if let bad = inputs.first(where: { !(0..<configuration.vocabularySize).contains(Int($0)) }) {
            throw TransformerError(.invalidToken, "input token \(bad) is outside the vocabulary of "
                                   + "\(configuration.vocabularySize)")
        }
        let x = Matrix.uninitialized(rows: inputs.count, columns: d, pool: pool) { px in
            guard let px else { return }
            embed.elements.withUnsafeBufferPointer { pe in
                position.elements.withUnsafeBufferPointer { pp in
                    for (n, token) in inputs.enumerated() {
                        let out = px + n * d
                        let embedRow = pe.baseAddress.unsafelyUnwrapped + Int(token) * d
                        let positionRow = pp.baseAddress.unsafelyUnwrapped + (n % t) * d
                        for j in 0..<d { out[j] = embedRow[j] + positionRow[j] }
                    }
                }
            }
        }
        return x
    }
}
