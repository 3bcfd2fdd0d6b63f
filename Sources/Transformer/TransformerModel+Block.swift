import LinearAlgebra

/// What one block's forward keeps for its backward (activations only: FSDP gathers the
/// weights again for the backward).
struct BlockCache {
    var input: Matrix
    var attentionInput: Matrix
    var inverseRMS1: [Float]
    /// The fused projection [q | k | v], N×(3·h·d_h) on this rank's heads.
    var qkv: Matrix
    var probabilities: Matrix
    var attention: Matrix
    var middle: Matrix
    var mlpInput: Matrix
    var inverseRMS2: [Float]
    var hidden: Matrix
    var activated: Matrix
    var output: Matrix
    /// The block's weights as the forward used them, kept only for the last block, whose backward
    /// starts right after the forward: it uses these instead of asking the source again (with FSDP,
    /// one all-gather fewer per micro-batch). Not pool memory.
    var weights: BlockParameters<Matrix>?

    /// Every activation but `input` (the previous block's `output`), to give back to the pool.
    var ownActivations: [Matrix] {
        [attentionInput, qkv, probabilities, attention, middle, mlpInput, hidden, activated, output]
    }
}

extension TransformerModel {
    private var localHeads: Int { configuration.heads / tensorParallelSize }

    /// A norm gain's gradient as the d×1 matrix its parameter is.
    func gainGradient(_ g: [Float]) throws(TransformerError) -> Matrix {
        try TransformerError.arithmetic { () throws(LinearAlgebraError) in try Matrix(rows: g.count, columns: 1, elements: g) }
    }

    /// [wq; wk; wv] stacked by rows: this rank's (3·h·d_h)×d weight of the fused QKV projection.
    /// The three stay separate parameters (their own optimizer state, FSDP shards and tp rows);
    /// only the product is fused, so q, k, v equal the separate products up to fp32 rounding.
    private func stackedQKV(_ query: Matrix, _ key: Matrix, _ value: Matrix) throws(TransformerError) -> Matrix {
        try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try Matrix(rows: query.rows + key.rows + value.rows, columns: query.columns,
                       elements: query.elements + key.elements + value.elements)
        }
    }

    /// x + Attn(norm(x)), then + MLP(norm(·)); two N×d all-reduces over tp. Takes the attention's
    /// weights and then the MLP's from `requests` (which announces the ones after them to `source`),
    /// and lets `source` progress between kernels. With `keepWeights` the cache keeps the weights
    /// for the backward (`BlockCache.weights`).
    func blockForward<S: ParameterSource>(_ x: Matrix, layer: Int, sequences: Int, keepWeights: Bool = false,
                                          requests: inout WeightRequests,
                                          source: inout S) throws(TransformerError) -> BlockCache {
        let ids = parameters.block(layer)
        // norm gain, q, k, v, output projection
        let attentionWeights = try requests.take(ids.attentionPart, from: &source)
        let (a, inverse1) = RMSNorm.forward(x, gain: attentionWeights[0].elements, pool: pool)
        let qkv = try pool.product(a, try stackedQKV(attentionWeights[1], attentionWeights[2], attentionWeights[3]),
                                   transposeB: true)
        try source.progress()
        let (o, probabilities) = try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try CausalAttention.forward(qkv: qkv, sequences: sequences, heads: localHeads, pool: pool)
        }
        try source.progress()
        let middle = try residual(x, plus: o, attentionWeights[4], source: &source)
        try source.progress()
        // norm gain, w1, w2
        let mlpWeights = try requests.take(ids.mlpPart, from: &source)
        let (m, inverse2) = RMSNorm.forward(middle, gain: mlpWeights[0].elements, pool: pool)
        let u = try pool.product(m, mlpWeights[1], transposeB: true)
        try source.progress()
        let act = ReLUSquared.forward(u, pool: pool)
        let out = try residual(middle, plus: act, mlpWeights[2], source: &source)
        try source.progress()
        return BlockCache(input: x, attentionInput: a, inverseRMS1: inverse1, qkv: qkv,
                          probabilities: probabilities, attention: o, middle: middle, mlpInput: m, inverseRMS2: inverse2,
                          hidden: u, activated: act, output: out,
                          weights: keepWeights ? try BlockParameters(attention: attentionWeights, mlp: mlpWeights) : nil)
    }

    /// x + z·Wᵀ for a row-parallel linear: without tp the residual add is the GEMM's β = 1; with tp
    /// the partial product is all-reduced first, then added.
    private func residual<S: ParameterSource>(_ x: Matrix, plus z: Matrix, _ w: Matrix,
                                              source: inout S) throws(TransformerError) -> Matrix {
        var sum = pool.copy(x)
        if tensorParallelSize == 1 {
            try TransformerError.arithmetic { () throws(LinearAlgebraError) in try BLAS.gemm(z, w, transposeB: true, beta: 1, into: &sum) }
        } else {
            var y = try pool.product(z, w, transposeB: true)
            try source.allReduceTensorParallel(&y.elements)
            try TransformerError.arithmetic { () throws(LinearAlgebraError) in try BLAS.axpy(1, y, &sum) }
            pool.recycle(y)
        }
        return sum
    }

    /// Turns `d`, the gradient at the block's output, into the gradient at its input; sends the
    /// block's weight gradients to `source` in two parts, the MLP's as soon as they are final and
    /// the attention's at the end. Uses the weights the cache kept, or takes the MLP's and then the
    /// attention's from `requests`; lets `source` progress between kernels.
    func blockBackward<S: ParameterSource>(_ d: inout Matrix, _ c: BlockCache, layer: Int, sequences: Int,
                                           requests: inout WeightRequests, source: inout S) throws(TransformerError) {
        let ids = parameters.block(layer)
        // norm gain, w1, w2
        let mlpWeights: [Matrix]
        if let kept = c.weights { mlpWeights = kept.mlpPart } else { mlpWeights = try requests.take(ids.mlpPart, from: &source) }
        // MLP: z = act·W2ᵀ, act = relu²(u), u = m·W1ᵀ.
        let dW2 = try pool.product(d, transposeA: true, c.activated)
        try source.progress()
        var du = try pool.product(d, mlpWeights[2])
        ReLUSquared.backward(&du, input: c.hidden)
        try source.progress()
        let dW1 = try pool.product(du, transposeA: true, c.mlpInput)
        try source.progress()
        var dm = try pool.product(du, mlpWeights[1])
        try source.progress()
        pool.recycle(du)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&dm.elements) }
        let dGain2 = RMSNorm.backward(dm, x: c.middle, gain: mlpWeights[0].elements, inverseRMS: c.inverseRMS2,
                                      accumulatingInto: &d)
        // The MLP's gradients are final: send them now (with FSDP, their reduce-scatter runs behind
        // the attention's backward), the attention's at the end.
        let gain2 = try gainGradient(dGain2)
        try source.accumulateGradients([(ids.mlpNorm, gain2), (ids.mlpInput, dW1), (ids.mlpOutput, dW2)])
        // Attention: y = o·Woᵀ; d is now the gradient at `middle`. Norm gain, q, k, v, output projection:
        pool.recycle(dm)
        let attentionWeights: [Matrix]
        if let kept = c.weights {
            attentionWeights = kept.attentionPart
        } else {
            attentionWeights = try requests.take(ids.attentionPart, from: &source)
        }
        let dWo = try pool.product(d, transposeA: true, c.attention)
        try source.progress()
        let dO = try pool.product(d, attentionWeights[4])
        try source.progress()
        let dQKV = try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try CausalAttention.backward(dO, qkv: c.qkv, probabilities: c.probabilities, sequences: sequences,
                                         heads: localHeads, pool: pool)
        }
        pool.recycle(dO)
        try source.progress()
        let dWqkv = try pool.product(dQKV, transposeA: true, c.attentionInput)
        try source.progress()
        var da = try pool.product(dQKV, try stackedQKV(attentionWeights[1], attentionWeights[2], attentionWeights[3]))
        try source.progress()
        pool.recycle(dQKV)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&da.elements) }
        let dGain1 = RMSNorm.backward(da, x: c.input, gain: attentionWeights[0].elements, inverseRMS: c.inverseRMS1,
                                      accumulatingInto: &d)
        pool.recycle(da)
        let width = dWqkv.rows / 3
        defer { pool.recycle(dWqkv, dWo, dW1, dW2) }
        let gain1 = try gainGradient(dGain1)
        try source.accumulateGradients([(ids.attentionNorm, gain1), (ids.query, dWqkv.rows(0..<width)),
                                        (ids.key, dWqkv.rows(width..<(2 * width))),
                                        (ids.value, dWqkv.rows((2 * width)..<(3 * width))), (ids.attentionOutput, dWo)])
    }
}
