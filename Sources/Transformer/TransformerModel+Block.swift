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
    var weights: BlockWeights?

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
    private func stackedQKV(_ w: AttentionWeights) throws(TransformerError) -> Matrix {
        try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try Matrix(rows: w.query.rows + w.key.rows + w.value.rows, columns: w.query.columns,
                       elements: w.query.elements + w.key.elements + w.value.elements)
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
        let attention = try AttentionWeights(try requests.take(ids.attentionPart, from: &source))
        let (a, inverse1) = RMSNorm.forward(x, gain: attention.norm.elements, pool: pool)
        let qkv = try pool.product(a, try stackedQKV(attention), transposeB: true)
        try source.progress()
        let (o, probabilities) = try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try CausalAttention.forward(qkv: qkv, sequences: sequences, heads: localHeads, pool: pool)
        }
        try source.progress()
        let middle = try residual(x, plus: o, attention.output, source: &source)
        try source.progress()
        let mlp = try MLPWeights(try requests.take(ids.mlpPart, from: &source))
        let (m, inverse2) = RMSNorm.forward(middle, gain: mlp.norm.elements, pool: pool)
        let u = try pool.product(m, mlp.input, transposeB: true)
        try source.progress()
        let act = ReLUSquared.forward(u, pool: pool)
        let out = try residual(middle, plus: act, mlp.output, source: &source)
        try source.progress()
        return BlockCache(input: x, attentionInput: a, inverseRMS1: inverse1, qkv: qkv,
                          probabilities: probabilities, attention: o, middle: middle, mlpInput: m, inverseRMS2: inverse2,
                          hidden: u, activated: act, output: out,
                          weights: keepWeights ? BlockWeights(attention: attention, mlp: mlp) : nil)
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
        let mlp: MLPWeights
        if let kept = c.weights {
            mlp = kept.mlp
        } else {
            mlp = try MLPWeights(try requests.take(ids.mlpPart, from: &source))
        }
        // MLP: z = act·W2ᵀ, act = relu²(u), u = m·W1ᵀ.
        let dW2 = try pool.product(d, transposeA: true, c.activated)
        try source.progress()
        var du = try pool.product(d, mlp.output)
        ReLUSquared.backward(&du, input: c.hidden)
        try source.progress()
        let dW1 = try pool.product(du, transposeA: true, c.mlpInput)
        try source.progress()
        var dm = try pool.product(du, mlp.input)
        try source.progress()
        pool.recycle(du)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&dm.elements) }
        let dGain2 = RMSNorm.backward(dm, x: c.middle, gain: mlp.norm.elements, inverseRMS: c.inverseRMS2, accumulatingInto: &d)
        // The MLP's gradients are final: send them now (with FSDP, their reduce-scatter runs behind
        // the attention's backward), the attention's at the end.
        let gain2 = try gainGradient(dGain2)
        try source.accumulateGradients([(ids.mlpNorm, gain2), (ids.mlpInput, dW1), (ids.mlpOutput, dW2)])
        // Attention: y = o·Woᵀ; d is now the gradient at `middle`.
        pool.recycle(dm)
        let attention: AttentionWeights
        if let kept = c.weights {
            attention = kept.attention
        } else {
            attention = try AttentionWeights(try requests.take(ids.attentionPart, from: &source))
        }
        let dWo = try pool.product(d, transposeA: true, c.attention)
        try source.progress()
        let dO = try pool.product(d, attention.output)
        try source.progress()
        let dQKV = try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try CausalAttention.backward(dO, qkv: c.qkv, probabilities: c.probabilities, sequences: sequences,
                                         heads: localHeads, pool: pool)
        }
        pool.recycle(dO)
        try source.progress()
        let dWqkv = try pool.product(dQKV, transposeA: true, c.attentionInput)
        try source.progress()
        var da = try pool.product(dQKV, try stackedQKV(attention))
        try source.progress()
        pool.recycle(dQKV)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&da.elements) }
        let dGain1 = RMSNorm.backward(da, x: c.input, gain: attention.norm.elements, inverseRMS: c.inverseRMS1, accumulatingInto: &d)
        pool.recycle(da)
        let width = dWqkv.rows / 3
        defer { pool.recycle(dWqkv, dWo, dW1, dW2) }
        let gain1 = try gainGradient(dGain1)
        try source.accumulateGradients([(ids.attentionNorm, gain1), (ids.query, dWqkv.rows(0..<width)),
                                        (ids.key, dWqkv.rows(width..<(2 * width))),
                                        (ids.value, dWqkv.rows((2 * width)..<(3 * width))), (ids.attentionOutput, dWo)])
    }
}
