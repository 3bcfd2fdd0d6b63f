import LinearAlgebra
import Testing
import Transformer

/// The order in which the model asks a parameter source for weights and announces them
/// (`ParameterSource.prefetch`): with FSDP every request is an all-gather and every announcement
/// starts one, so a request must have been announced, in request order, and a bounded number ahead.
struct WeightRequestOrderTests {
    /// A source that serves whole weights from memory and logs every call.
    struct RecordingSource: ParameterSource {
        var inner: InMemoryParameters
        var announced: [[ParameterID]] = []
        var requested: [[ParameterID]] = []
        /// Per request: how many announcements were not yet requested when it was made (itself included).
        var outstanding: [Int] = []
        /// Matrices to leave out of every answer (a faulty source).
        var drop = 0

        mutating func weights(_ ids: [ParameterID]) throws(TransformerError) -> [Matrix] {
            outstanding.append(announced.count - requested.count)
            requested.append(ids)
            return Array(try inner.weights(ids).dropLast(drop))
        }

        mutating func prefetch(_ ids: [ParameterID]) throws(TransformerError) { announced.append(ids) }

        mutating func accumulateGradients(_ gradients: [(id: ParameterID, gradient: Matrix)]) throws(TransformerError) {
            try inner.accumulateGradients(gradients)
        }

        func allReduceTensorParallel(_ values: inout [Float]) throws(TransformerError) {}
    }

    static func model(layers: Int) throws -> TransformerModel {
        try TransformerModel(try TransformerConfiguration(layers: layers, modelDimension: 16, heads: 2, sequenceLength: 8))
    }

    static func source(_ model: TransformerModel) -> RecordingSource {
        RecordingSource(inner: InMemoryParameters(model.parameters.all.map { model.parameters.initialValue($0.id, seed: 1) }))
    }

    /// Embeddings; per block the attention's weights then the MLP's; head and final norm; with a
    /// backward, from the second-to-last block down, the MLP's then the attention's.
    static func expected(_ p: TransformerParameters, layers: Int, backward: Bool) -> [[ParameterID]] {
        var order = [[p.embedding, p.positionEmbedding]]
        for l in 0..<layers { order += [p.block(l).attentionPart, p.block(l).mlpPart] }
        order.append([p.finalNorm, p.head])
        if backward {
            for l in stride(from: layers - 2, through: 0, by: -1) { order += [p.block(l).mlpPart, p.block(l).attentionPart] }
        }
        return order
    }

    @Test("every request announced before it, in request order, at most 3 outstanding; none left over",
          arguments: [(1, false), (1, true), (3, false), (3, true)])
    func order(layers: Int, backward: Bool) throws {
        let model = try Self.model(layers: layers)
        var source = Self.source(model)
        let inputs: [Int32] = [1, 4, 2, 9, 0, 3, 3, 7]
        let targets: [Int32] = [4, 2, 9, 0, 3, 3, 7, 1]
        if backward {
            _ = try model.lossAndGradients(inputs: inputs, targets: targets, sequences: 1, source: &source)
        } else {
            _ = try model.loss(inputs: inputs, targets: targets, sequences: 1, source: &source)
        }
        let expected = Self.expected(model.parameters, layers: layers, backward: backward)
        #expect(source.requested == expected)
        #expect(source.announced == expected)
        #expect(source.outstanding.allSatisfy { (1...3).contains($0) }, "\(source.outstanding)")
        // The lookahead is used: somewhere three requests are in flight when one is served.
        #expect(source.outstanding.contains(3), "\(source.outstanding)")
    }

    @Test("a source that returns too few matrices is a shape mismatch, not a crash")
    func shortAnswer() throws {
        let model = try Self.model(layers: 2)
        var source = Self.source(model)
        source.drop = 1
        #expect(throws: TransformerError.self) {
            try model.lossAndGradients(inputs: [1, 2, 3, 4], targets: [2, 3, 4, 5], sequences: 1, source: &source)
        }
    }
}
