import LinearAlgebra

/// What one block's forward keeps for its backward (activations only: FSDP gathers the
/// weights again for the backward).
struct BlockCache {
    var input: Matrix
    var attentionInput: Matrix
    var inverseRMS1: [Float]
    var q: Matrix, k: Matrix, v: Matrix
    var probabilities: [Matrix]
    var attention: Matrix
    var middle: Matrix
    var mlpInput: Matrix
    var inverseRMS2: [Float]
    var hidden: Matrix
    var activated: Matrix
    var output: Matrix
}

extension TransformerModel {
    private func blockIndices(_ layer: Int) -> [Int] {
        let base = parameters.layerBase(layer)
        return Array(base..<(base + TransformerParameters.perLayer))
    }

    private var localHeads: Int { configuration.heads / tensorParallelSize }

    /// x + Attn(norm(x)), then + MLP(norm(·)); two N×d all-reduces over tp.
    func blockForward<S: ParameterSource>(_ x: Matrix, layer: Int, sequences: Int, source: inout S) throws -> BlockCache {
        let w = try source.weights(blockIndices(layer))
        let (a, inverse1) = RMSNorm.forward(x, gain: w[0].elements)
        let q = try BLAS.matmul(a, w[1], transposeB: true)
        let k = try BLAS.matmul(a, w[2], transposeB: true)
        let v = try BLAS.matmul(a, w[3], transposeB: true)
        let (o, probabilities) = try CausalAttention.forward(q: q, k: k, v: v, sequences: sequences, heads: localHeads)
        var y = try BLAS.matmul(o, w[4], transposeB: true)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&y.elements) }
        var middle = x
        try BLAS.axpy(1, y, &middle)
        let (m, inverse2) = RMSNorm.forward(middle, gain: w[5].elements)
        let u = try BLAS.matmul(m, w[6], transposeB: true)
        let act = ReLUSquared.forward(u)
        var z = try BLAS.matmul(act, w[7], transposeB: true)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&z.elements) }
        var out = middle
        try BLAS.axpy(1, z, &out)
        return BlockCache(input: x, attentionInput: a, inverseRMS1: inverse1, q: q, k: k, v: v,
                          probabilities: probabilities, attention: o, middle: middle, mlpInput: m, inverseRMS2: inverse2,
                          hidden: u, activated: act, output: out)
    }

    /// Gradient with respect to the block's input from the gradient at its output; sends the
    /// block's weight gradients to `source`.
    func blockBackward<S: ParameterSource>(_ dOut: Matrix, _ c: BlockCache, layer: Int, sequences: Int,
                                           source: inout S) throws -> Matrix {
        let indices = blockIndices(layer)
        let w = try source.weights(indices)
        // MLP: z = act·W2ᵀ, act = relu²(u), u = m·W1ᵀ.
        let dW2 = try BLAS.matmul(dOut, transposeA: true, c.activated)
        let dAct = try BLAS.matmul(dOut, w[7])
        let du = ReLUSquared.backward(dAct, input: c.hidden)
        let dW1 = try BLAS.matmul(du, transposeA: true, c.mlpInput)
        var dm = try BLAS.matmul(du, w[6])
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&dm.elements) }
        let (dMiddleNorm, dGain2) = RMSNorm.backward(dm, x: c.middle, gain: w[5].elements, inverseRMS: c.inverseRMS2)
        var dMiddle = dOut
        try BLAS.axpy(1, dMiddleNorm, &dMiddle)
        // Attention: y = o·Woᵀ.
        let dWo = try BLAS.matmul(dMiddle, transposeA: true, c.attention)
        let dO = try BLAS.matmul(dMiddle, w[4])
        let (dq, dk, dv) = try CausalAttention.backward(dO, q: c.q, k: c.k, v: c.v, probabilities: c.probabilities,
                                                        sequences: sequences, heads: localHeads)
        let dWq = try BLAS.matmul(dq, transposeA: true, c.attentionInput)
        let dWk = try BLAS.matmul(dk, transposeA: true, c.attentionInput)
        let dWv = try BLAS.matmul(dv, transposeA: true, c.attentionInput)
        var da = try BLAS.matmul(dq, w[1])
        try BLAS.gemm(dk, w[2], alpha: 1, beta: 1, into: &da)
        try BLAS.gemm(dv, w[3], alpha: 1, beta: 1, into: &da)
        if tensorParallelSize > 1 { try source.allReduceTensorParallel(&da.elements) }
        let (dInputNorm, dGain1) = RMSNorm.backward(da, x: c.input, gain: w[0].elements, inverseRMS: c.inverseRMS1)
        var dInput = dMiddle
        try BLAS.axpy(1, dInputNorm, &dInput)
        try source.accumulateGradients([
            (indices[0], try Matrix(rows: dGain1.count, columns: 1, elements: dGain1)),
            (indices[1], dWq), (indices[2], dWk), (indices[3], dWv), (indices[4], dWo),
            (indices[5], try Matrix(rows: dGain2.count, columns: 1, elements: dGain2)),
            (indices[6], dW1), (indices[7], dW2),
        ])
        return dInput
    }
}
