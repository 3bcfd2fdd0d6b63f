import Checkpointing
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding
import Testing
import Training
import TrainingData
import Transformer

/// Issue 14, item 4: every optimizer's state is a typed `Codable` value saved and restored
/// through one generic path, and a checkpoint restores it exactly.
@Suite("Typed optimizer states (one process)", .serialized)
struct OptimizerStateTests {
    /// A trainer of a tiny model on one process with `optimizer`.
    static func trainer(_ optimizer: MatrixOptimizer) throws -> Trainer {
        let world = try MPIRuntime.world()
        let shape = try MeshShape(parsing: "dp=1")
        let configuration = TrainingConfiguration(
            model: try TransformerConfiguration(layers: 1, modelDimension: 16, heads: 2, sequenceLength: 8),
            mesh: shape, optimizer: optimizer, learningRate: 0.02, scalarLearningRate: 0.004,
            schedule: try LearningRateSchedule(shape: .cosine, warmup: 0, steps: 10), batchSize: 2)
        let text: [UInt8] = (0..<4000).map { (k: Int) -> UInt8 in
            let letter: Int = (k * 7 + k / 13) % 26
            return UInt8(97 + letter)
        }
        return try Trainer(configuration: configuration, corpus: try ByteCorpus(bytes: text, source: "states"),
                           mesh: try DeviceMesh(shape: shape, world: world),
                           output: try TrainingOutput(active: false, metricsPath: nil))
    }

    /// Every state of `trainer`, JSON-encoded group by group (the states are `Codable`).
    static func encodedStates(_ o: ParameterOptimizers) throws -> [Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try o.dionStates.states.map { try encoder.encode($0) } + o.muonStates.states.map { try encoder.encode($0) }
            + o.selectiveStates.states.map { try encoder.encode($0) } + o.matrixAdamWStates.states.map { try encoder.encode($0) }
            + o.scalarAdamWStates.states.map { try encoder.encode($0) }
    }

    @Test("states round-trip through JSON and through a checkpoint, bit for bit",
          arguments: [MatrixOptimizer.dion, .muon, .adamw, .dion2, .nordion2])
    func roundTrip(_ optimizer: MatrixOptimizer) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("states-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trained = try Self.trainer(optimizer)
        for _ in 0..<2 { _ = try trained.trainStep() }
        let o = trained.optimizers
        let groups = [o.dionStates.slots, o.muonStates.slots, o.selectiveStates.slots, o.matrixAdamWStates.slots,
                      o.scalarAdamWStates.slots]
        #expect(groups.map(\.count).reduce(0, +) == o.slots.count, "one state per parameter")
        let decoder = JSONDecoder()
        for state in o.dionStates.states { #expect(try decoder.decode(DistributedDion.State.self, from: try JSONEncoder().encode(state)) == state) }
        for state in o.muonStates.states { #expect(try decoder.decode(DistributedMuon.State.self, from: try JSONEncoder().encode(state)) == state) }
        for state in o.selectiveStates.states {
            #expect(try decoder.decode(DistributedSelective.State.self, from: try JSONEncoder().encode(state)) == state)
        }
        for state in o.matrixAdamWStates.states + o.scalarAdamWStates.states {
            #expect(try decoder.decode(AdamW.State.self, from: try JSONEncoder().encode(state)) == state)
        }
        let store = try CheckpointStore(directory: directory.path, keep: 1)
        try trained.saveCheckpoint(to: store)
        let restored = try Self.trainer(optimizer)
        try restored.restore(from: store)
        #expect(restored.parameters.shards == trained.parameters.shards)
        #expect(try Self.encodedStates(restored.optimizers) == Self.encodedStates(o))
        #expect(restored.optimizers.dionStates.states == o.dionStates.states)
        #expect(restored.optimizers.selectiveStates.states == o.selectiveStates.states)
    }

    @Test("a sharded matrix's block is its storage: local is a view, not a copy")
    func blockIsStorage() throws {
        let world = try MPIRuntime.world()
        let mesh = try DeviceMesh(shape: try MeshShape(parsing: "dp=1"), world: world)
        var x = try ShardedMatrix(rows: 2, columns: 3, layout: .replicated,
                                  block: try Matrix(rows: 2, columns: 3, elements: [1, 2, 3, 4, 5, 6]), mesh: mesh)
        x.local[4] = 50
        #expect(x.block[1, 1] == 50)
        x.block[0, 2] = 30
        #expect(x.local == [1, 2, 30, 4, 50, 6])
        #expect(throws: ShardingError.self) {
            try ShardedMatrix(rows: 2, columns: 3, layout: .replicated, block: Matrix(rows: 3, columns: 2), mesh: mesh)
        }
    }
}
