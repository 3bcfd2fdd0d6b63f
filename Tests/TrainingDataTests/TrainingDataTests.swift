import Foundation
import Testing
@testable import TrainingData

@Suite("Training data")
struct TrainingDataTests {
    let text = Array(String(repeating: "To be, or not to be, that is the question. ", count: 40).utf8)

    @Test("the split is deterministic: the last 10% is validation")
    func split() throws {
        let corpus = try ByteCorpus(bytes: text, source: "synthetic", validationFraction: 0.1, minimumLength: 16)
        #expect(corpus.train + corpus.validation == text)
        #expect(corpus.validation.count == Int((Double(text.count) * 0.1).rounded()))
    }

    @Test("a missing file, a too-short text and a bad fraction are clear errors")
    func errors() {
        let missing = #expect(throws: DataError.self) { try ByteCorpus(contentsOf: "/no/such/file.txt") }
        #expect(missing?.code == .missingFile)
        #expect(missing?.message.contains("Scripts/fetch-data.sh") == true)
        let short = #expect(throws: DataError.self) {
            try ByteCorpus(bytes: Array("tiny".utf8), source: "tiny", minimumLength: 64)
        }
        #expect(short?.code == .tooShort)
        #expect(throws: DataError.self) { try ByteCorpus(bytes: text, source: "x", validationFraction: 1.5) }
        #expect(throws: DataError.self) { try BatchSampler(tokens: [1, 2, 3], sequenceLength: 3, seed: 0) }
    }

    @Test("batches are keyed by (seed, step, index): the same whatever the slicing")
    func deterministicBatches() throws {
        let sampler = try BatchSampler(tokens: text, sequenceLength: 32, seed: 7)
        let whole = sampler.batch(step: 3, sequences: 0..<8)
        var parts: [Int32] = []
        for replica in 0..<4 {
            for micro in 0..<2 {
                let range = try BatchSampler.slice(globalBatch: 8, replicas: 4, replica: replica, microBatches: 2,
                                                   micro: micro)
                parts += sampler.batch(step: 3, sequences: range).inputs
            }
        }
        #expect(parts == whole.inputs)
        #expect(whole.targets[0] == Int32(text[sampler.offset(step: 3, index: 0) + 1]))
        #expect(sampler.batch(step: 4, sequences: 0..<8) != whole)
        let other = try BatchSampler(tokens: text, sequenceLength: 32, seed: 8)
        #expect(other.batch(step: 3, sequences: 0..<8) != whole)
        #expect(throws: DataError.self) { try BatchSampler.slice(globalBatch: 6, replicas: 4, replica: 0) }
    }

    @Test("the default corpus loads when fetched", .enabled(if: FileManager.default.fileExists(atPath: "data/shakespeare.txt")))
    func shakespeare() throws {
        let corpus = try ByteCorpus(contentsOf: "data/shakespeare.txt", minimumLength: 256)
        #expect(corpus.train.count > 4_000_000)
        #expect(String(decoding: corpus.train.prefix(25), as: UTF8.self) == "ALL'S WELL THAT ENDS WELL")
    }
}
