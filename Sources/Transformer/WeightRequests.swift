import LinearAlgebra

/// The weight requests of one pass of the model, in the order it makes them, announced to the
/// parameter source a fixed number ahead (`ParameterSource.prefetch`): with FSDP each request is
/// an all-gather, and announcing the next ones keeps the link busy while this one's compute runs.
///
/// The order: the embeddings; per block, the attention's weights, then the MLP's; the head and
/// final norm; with a backward, per block from the second-to-last down, the MLP's and then the
/// attention's (the last block's backward uses the weights its forward kept).
struct WeightRequests {
    private let groups: [[ParameterID]]
    /// The next request to serve.
    private var next = 0
    /// `groups[0..<announced]` have been announced.
    private var announced = 0

    /// Requests past the current one announced: two halves of a block (a whole block's bytes in
    /// flight while a half computes, so the link never waits for the next announcement).
    static let lookahead = 2

    /// The embeddings' request: token and position embeddings.
    static func embeddings(_ parameters: TransformerParameters) -> [ParameterID] {
        [parameters.embedding, parameters.positionEmbedding]
    }

    /// The tail's request: final norm gain and head.
    static func tail(_ parameters: TransformerParameters) -> [ParameterID] { [parameters.finalNorm, parameters.head] }

    init(_ parameters: TransformerParameters, backward: Bool) {
        let layers = parameters.configuration.layers
        var groups = [Self.embeddings(parameters)]
        for l in 0..<layers {
            let block = parameters.block(l)
            groups.append(block.attentionPart)
            groups.append(block.mlpPart)
        }
        groups.append(Self.tail(parameters))
        if backward {
            for l in stride(from: layers - 2, through: 0, by: -1) {
                let block = parameters.block(l)
                groups.append(block.mlpPart)
                groups.append(block.attentionPart)
            }
        }
        self.groups = groups
    }

    /// The weights of `ids`, which must be the next request: announces it and the `lookahead` after
    /// it that are not yet announced, then asks `source` for it (exactly one matrix per id).
    ///
    /// - Throws: `TransformerError.shapeMismatch` for a request out of order or a source that
    ///   returns another number of matrices; the source's own errors.
    mutating func take<S: ParameterSource>(_ ids: [ParameterID], from source: inout S) throws(TransformerError) -> [Matrix] {
        guard next < groups.count, groups[next] == ids else {
            throw TransformerError(.shapeMismatch, "weights of parameters \(ids.map(\.rawValue)) asked for out of order "
                                   + "(request \(next) of \(groups.count))")
        }
        while announced < Swift.min(next + 1 + Self.lookahead, groups.count) {
            try source.prefetch(groups[announced])
            announced += 1
        }
        next += 1
        let list = try source.weights(ids)
        guard list.count == ids.count else {
            throw TransformerError(.shapeMismatch, "asked the parameter source for \(ids.count) weights, got \(list.count)")
        }
        return list
    }
}
