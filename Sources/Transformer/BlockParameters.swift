/// The parameters of one transformer block, by role, in the order of `TransformerParameters.all`:
/// `attn_norm`, `wq`, `wk`, `wv`, `wo`, `mlp_norm`, `w1`, `w2`.
///
/// Generic over what is held per parameter: `BlockParameters<ParameterID>` names them,
/// `BlockParameters<Matrix>` holds one rank's weights or gradients of them.
public struct BlockParameters<Value> {
    /// The attention's RMSNorm gain (d×1).
    public var attentionNorm: Value
    /// The query projection (out×in, column parallel).
    public var query: Value
    /// The key projection (column parallel).
    public var key: Value
    /// The value projection (column parallel).
    public var value: Value
    /// The attention's output projection (row parallel).
    public var attentionOutput: Value
    /// The MLP's RMSNorm gain (d×1).
    public var mlpNorm: Value
    /// The MLP's input projection w1 (h×d, column parallel).
    public var mlpInput: Value
    /// The MLP's output projection w2 (d×h, row parallel).
    public var mlpOutput: Value

    /// Parameters per block.
    public static var count: Int { 8 }

    public init(attentionNorm: Value, query: Value, key: Value, value: Value, attentionOutput: Value, mlpNorm: Value,
                mlpInput: Value, mlpOutput: Value) {
        self.attentionNorm = attentionNorm
        self.query = query
        self.key = key
        self.value = value
        self.attentionOutput = attentionOutput
        self.mlpNorm = mlpNorm
        self.mlpInput = mlpInput
        self.mlpOutput = mlpOutput
    }

    /// The eight values in the order of `TransformerParameters.all`: `attentionPart`, then `mlpPart`.
    public var all: [Value] { attentionPart + mlpPart }

    /// The attention's five values (norm gain, query, key, value, output projection): the model
    /// asks a source for them apart from the MLP's, so that with FSDP the MLP's weights arrive
    /// while the attention computes.
    public var attentionPart: [Value] { [attentionNorm, query, key, value, attentionOutput] }

    /// The MLP's three values (norm gain, w1, w2).
    public var mlpPart: [Value] { [mlpNorm, mlpInput, mlpOutput] }

    /// The eight values of `list`, in the order of `all`.
    ///
    /// - Throws: `TransformerError.shapeMismatch` unless `list` has exactly eight values.
    public init(_ list: [Value]) throws(TransformerError) {
        guard list.count == Self.count else {
            throw TransformerError(.shapeMismatch, "a block has \(Self.count) parameters, got \(list.count)")
        }
        self.init(attentionNorm: list[0], query: list[1], key: list[2], value: list[3], attentionOutput: list[4],
                  mlpNorm: list[5], mlpInput: list[6], mlpOutput: list[7])
    }

    /// The same roles, each value transformed.
    public func map<T>(_ transform: (Value) throws -> T) rethrows -> BlockParameters<T> {
        BlockParameters<T>(attentionNorm: try transform(attentionNorm), query: try transform(query), key: try transform(key),
                           value: try transform(value), attentionOutput: try transform(attentionOutput),
                           mlpNorm: try transform(mlpNorm), mlpInput: try transform(mlpInput),
                           mlpOutput: try transform(mlpOutput))
    }
}

extension BlockParameters: Sendable where Value: Sendable {}
extension BlockParameters: Equatable where Value: Equatable {}
