import Testing
import Transformer

/// The names a parameter is keyed by: `ParameterID`s in `TransformerParameters.all` order, a
/// block's parameters by role, and the random-stream key of the old bare index.
struct ParameterNamesTests {
    static func parameters() throws -> TransformerParameters {
        TransformerParameters(try TransformerConfiguration(layers: 3, modelDimension: 16, heads: 2, sequenceLength: 8))
    }

    @Test("every parameter's id is its position, and its stream key the position as UInt64")
    func idsArePositions() throws {
        let parameters = try Self.parameters()
        for (position, p) in parameters.all.enumerated() {
            #expect(p.id == ParameterID(position))
            #expect(p.id.randomStreamKey == UInt64(position))
            #expect(parameters[p.id].name == p.name)
        }
    }

    @Test("a block's roles name its parameters", arguments: 0..<3)
    func blockRoles(layer: Int) throws {
        let parameters = try Self.parameters()
        let block = parameters.block(layer)
        let names = block.map { parameters[$0].name }
        let expected = ["attn_norm", "wq", "wk", "wv", "wo", "mlp_norm", "w1", "w2"].map { "layers.\(layer).\($0)" }
        #expect(names.all == expected)
        #expect(names.attentionNorm == expected[0] && names.query == expected[1] && names.key == expected[2]
                && names.value == expected[3] && names.attentionOutput == expected[4] && names.mlpNorm == expected[5]
                && names.mlpInput == expected[6] && names.mlpOutput == expected[7])
        #expect(try BlockParameters(block.all) == block)
    }

    @Test("the embeddings, the final norm and the head")
    func ends() throws {
        let p = try Self.parameters()
        #expect([p.embedding, p.positionEmbedding, p.finalNorm, p.head].map { p[$0].name }
                == ["embed", "pos_embed", "final_norm", "head"])
    }

    @Test("a block needs exactly eight values")
    func wrongCount() {
        #expect(throws: TransformerError.self) { try BlockParameters([ParameterID(0)]) }
    }
}
