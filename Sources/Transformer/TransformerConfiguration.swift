/// The sizes of a decoder-only byte transformer: token and learned position embeddings, `layers`
/// pre-norm blocks (RMSNorm → causal multi-head attention → residual, RMSNorm → ReLU² MLP →
/// residual), a final RMSNorm and an untied output head.
public struct TransformerConfiguration: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Vocabulary size (256 for bytes).
    public let vocabularySize: Int
    /// Number of blocks.
    public let layers: Int
    /// Width of the residual stream, d.
    public let modelDimension: Int
    /// Attention heads; d must be a multiple.
    public let heads: Int
    /// Tokens per sequence (the learned position table's length).
    public let sequenceLength: Int
    /// MLP hidden width (`mlpRatio`·d).
    public let hiddenDimension: Int

    /// - Throws: `TransformerError.invalidConfiguration` for non-positive sizes, a vocabulary
    ///   above 65 536, or heads that do not divide d_model.
    public init(vocabularySize: Int = 256, layers: Int, modelDimension: Int, heads: Int, sequenceLength: Int,
                mlpRatio: Int = 4) throws(TransformerError) {
        for (name, value) in [("--layers", layers), ("--d-model", modelDimension), ("--heads", heads),
                              ("--seq-len", sequenceLength), ("the vocabulary size", vocabularySize),
                              ("the MLP ratio", mlpRatio)] where value < 1 {
            throw TransformerError(.invalidConfiguration, "\(name) must be at least 1, got \(value)")
        }
        guard vocabularySize <= 65_536 else {
            throw TransformerError(.invalidConfiguration, "the vocabulary size must be at most 65536, got \(vocabularySize)")
        }
        guard modelDimension % heads == 0 else {
            throw TransformerError(.invalidConfiguration, "--d-model \(modelDimension) must be a multiple of --heads \(heads)")
        }
        let (hidden, overflow) = mlpRatio.multipliedReportingOverflow(by: modelDimension)
        guard !overflow else {
            throw TransformerError(.invalidConfiguration, "--d-model \(modelDimension) × the MLP ratio \(mlpRatio) is too large")
        }
        self.vocabularySize = vocabularySize
        self.layers = layers
        self.modelDimension = modelDimension
        self.heads = heads
        self.sequenceLength = sequenceLength
        self.hiddenDimension = hidden
    }

    /// d / heads.
    public var headDimension: Int { modelDimension / heads }

    /// Checks that attention heads and the MLP hidden width split evenly over `tp` ranks
    /// (Megatron-style tensor parallelism splits whole heads).
    ///
    /// - Throws: `TransformerError.invalidConfiguration` naming the size that does not divide.
    public func validate(tensorParallel t: Int) throws(TransformerError) {
        guard t >= 1 else { throw TransformerError(.invalidConfiguration, "tp must be at least 1, got \(t)") }
        guard heads % t == 0 else {
            throw TransformerError(.invalidConfiguration, "--heads \(heads) is not divisible by tp=\(t): tensor "
                                   + "parallelism gives every tp rank whole attention heads")
        }
        guard hiddenDimension % t == 0 else {
            throw TransformerError(.invalidConfiguration, "the MLP hidden width \(hiddenDimension) is not divisible by tp=\(t)")
        }
    }

    /// Number of trainable parameters.
    public var parameterCount: Int { TransformerParameters(self).all.reduce(0) { $0 + $1.rows * $1.columns } }

    public var description: String {
        "\(layers) layers, d=\(modelDimension), \(heads) heads, seq \(sequenceLength), vocab \(vocabularySize)"
    }
}
