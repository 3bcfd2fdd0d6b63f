import LinearAlgebra

/// How tensor parallelism splits a weight (Megatron style).
public enum TensorParallelSplit: String, Sendable, Hashable, Codable {
    /// Every tp rank holds all of it (embeddings, norms, head).
    case replicated
    /// Column-parallel linear: the output dimension (rows of an out×in weight) is split; q, k, v, w1.
    case outputRows
    /// Row-parallel linear: the input dimension (columns) is split; attention output and w2.
    case inputColumns
}

/// One trainable tensor of the model; vectors (norm gains) are stored as d×1 matrices.
public struct TransformerParameter: Sendable, Hashable {
    /// A stable name (`layers.3.wq`); the optimizer roles are inferred from it.
    public let name: String
    public let rows: Int
    public let columns: Int
    public let split: TensorParallelSplit
    /// Its identity: its position in `TransformerParameters.all`.
    public let id: ParameterID
}

/// The model's parameters in a fixed order, each named by its `ParameterID`.
///
/// Order: `embed` (V×d), `pos_embed` (T×d), then per layer `attn_norm` (d×1), `wq`, `wk`, `wv`
/// (d×d, out×in), `wo` (d×d), `mlp_norm` (d×1), `w1` (h×d), `w2` (d×h), then `final_norm` (d×1)
/// and `head` (V×d).
public struct TransformerParameters: Sendable {
    public let configuration: TransformerConfiguration
    public let all: [TransformerParameter]

    /// Parameters per block.
    public static let perLayer = BlockParameters<ParameterID>.count

    public init(_ c: TransformerConfiguration) {
        configuration = c
        let (d, h) = (c.modelDimension, c.hiddenDimension)
        var list = [TransformerParameter]()
        func add(_ name: String, _ rows: Int, _ columns: Int, _ split: TensorParallelSplit) {
            list.append(TransformerParameter(name: name, rows: rows, columns: columns, split: split, id: ParameterID(list.count)))
        }
        add("embed", c.vocabularySize, d, .replicated)
        add("pos_embed", c.sequenceLength, d, .replicated)
        for l in 0..<c.layers {
            add("layers.\(l).attn_norm", d, 1, .replicated)
            add("layers.\(l).wq", d, d, .outputRows)
            add("layers.\(l).wk", d, d, .outputRows)
            add("layers.\(l).wv", d, d, .outputRows)
            add("layers.\(l).wo", d, d, .inputColumns)
            add("layers.\(l).mlp_norm", d, 1, .replicated)
            add("layers.\(l).w1", h, d, .outputRows)
            add("layers.\(l).w2", d, h, .inputColumns)
        }
        add("final_norm", d, 1, .replicated)
        add("head", c.vocabularySize, d, .replicated)
        all = list
    }

    /// The token embedding `embed`.
    public var embedding: ParameterID { ParameterID(0) }
    /// The position embedding `pos_embed`.
    public var positionEmbedding: ParameterID { ParameterID(1) }
    /// Block `layer`'s parameters by role.
    public func block(_ layer: Int) -> BlockParameters<ParameterID> {
        let base = 2 + Self.perLayer * layer
        return BlockParameters(attentionNorm: ParameterID(base), query: ParameterID(base + 1), key: ParameterID(base + 2),
                               value: ParameterID(base + 3), attentionOutput: ParameterID(base + 4),
                               mlpNorm: ParameterID(base + 5), mlpInput: ParameterID(base + 6),
                               mlpOutput: ParameterID(base + 7))
    }
    /// The final RMSNorm gain `final_norm`.
    public var finalNorm: ParameterID { ParameterID(2 + Self.perLayer * configuration.layers) }
    /// The output head `head`.
    public var head: ParameterID { ParameterID(finalNorm.rawValue + 1) }

    /// The parameter named by `id`.
    public subscript(id: ParameterID) -> TransformerParameter { all[id.rawValue] }

    /// The initial value of parameter `id` for `seed`: norms 1; embeddings, q, k, v, w1 and
    /// the head N(0, 0.02²); the residual projections wo and w2 N(0, (0.02/√(2·layers))²) (GPT-2).
    /// Keyed by (seed, id, element), so any process can draw any block of it.
    public func initialValue(_ id: ParameterID, seed: UInt64) -> Matrix {
        let p = self[id]
        if p.name.hasSuffix("norm") { return Matrix(rows: p.rows, columns: p.columns, repeating: 1) }
        var std: Float = 0.02
        if p.name.hasSuffix(".wo") || p.name.hasSuffix(".w2") {
            std /= (2 * Float(configuration.layers)).squareRoot()
        }
        return KeyedNormalGenerator(seed: seed).matrix(stream: KeyedNormalGenerator.stream(0x1417, id.randomStreamKey),
                                                       rows: p.rows, columns: p.columns, scale: std)
    }
}
