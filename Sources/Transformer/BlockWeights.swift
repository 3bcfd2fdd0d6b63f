import LinearAlgebra

/// A block's attention weights as one request to a `ParameterSource` returns them
/// (`BlockParameters.attentionPart` order).
struct AttentionWeights {
    let norm: Matrix
    let query: Matrix
    let key: Matrix
    let value: Matrix
    let output: Matrix

    /// - Throws: `TransformerError.shapeMismatch` unless `list` holds the five matrices.
    init(_ list: [Matrix]) throws(TransformerError) {
        guard list.count == 5 else {
            throw TransformerError(.shapeMismatch, "a block's attention has 5 weights, got \(list.count)")
        }
        (norm, query, key, value, output) = (list[0], list[1], list[2], list[3], list[4])
    }
}

/// A block's MLP weights as one request returns them (`BlockParameters.mlpPart` order).
struct MLPWeights {
    let norm: Matrix
    /// w1 (h×d, column parallel).
    let input: Matrix
    /// w2 (d×h, row parallel).
    let output: Matrix

    /// - Throws: `TransformerError.shapeMismatch` unless `list` holds the three matrices.
    init(_ list: [Matrix]) throws(TransformerError) {
        guard list.count == 3 else {
            throw TransformerError(.shapeMismatch, "a block's MLP has 3 weights, got \(list.count)")
        }
        (norm, input, output) = (list[0], list[1], list[2])
    }
}

/// Both halves of a block's weights: what the last block's forward keeps for its backward.
struct BlockWeights {
    let attention: AttentionWeights
    let mlp: MLPWeights
}
