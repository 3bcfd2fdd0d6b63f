import DionCore
import MPIShim
import Sharding
import Testing
import Training
import TrainingData
import Transformer

/// The training step takes one finiteness vote over the world (the `GradientSynchronizer`'s
/// 3-element all-reduce) whatever the matrix optimizer: the optimizers step on gradients agreed
/// finite by the caller and take no vote of their own. Counted in the ledger, on one process
/// (the world of the test host; each vote is recorded there as on any mesh). The trainer's mesh
/// is built on a duplicate of the world with a ledger of its own, so collectives of tests
/// running beside it in this process are not counted.
@Suite("one world vote per training step (one process)", .serialized)
struct WorldVoteTests {
    static func trainer(_ optimizer: MatrixOptimizer, ledger: CommunicationLedger) throws -> Trainer {
        let shape = try MeshShape(parsing: "dp=1")
        let configuration = TrainingConfiguration(
            model: try TransformerConfiguration(layers: 1, modelDimension: 16, heads: 2, sequenceLength: 8),
            mesh: shape, optimizer: optimizer, learningRate: 0.02, scalarLearningRate: 0.004,
            schedule: try LearningRateSchedule(shape: .cosine, warmup: 0, steps: 10), batchSize: 2)
        let text: [UInt8] = (0..<4000).map { (k: Int) -> UInt8 in UInt8(97 + (k * 7 + k / 13) % 26) }
        return try Trainer(configuration: configuration, corpus: try ByteCorpus(bytes: text, source: "votes"),
                           mesh: try DeviceMesh(shape: shape, world: try MPIRuntime.world().duplicate(label: "world", ledger: ledger)),
                           output: try TrainingOutput(active: false, metricsPath: nil))
    }

    /// All-reduces and collectives of any kind on the world's ledger label.
    static func worldCounts(_ ledger: CommunicationLedger) -> (allReduces: Int, all: Int) {
        var allReduces = 0, all = 0
        for (key, totals) in ledger.totals() where key.communicator == "world" {
            all += totals.calls
            if key.operation == .allReduce { allReduces += totals.calls }
        }
        return (allReduces, all)
    }

    @Test("each optimizer: exactly one world all-reduce and no other world collective per step",
          arguments: [MatrixOptimizer.dion, .muon, .adamw, .dion2, .normuon, .nordion2])
    func oneVote(optimizer: MatrixOptimizer) throws {
        let ledger = CommunicationLedger()
        let trainer = try Self.trainer(optimizer, ledger: ledger)
        var steps = 0
        for _ in 0..<3 {
            let before = Self.worldCounts(ledger)
            let result = try trainer.trainStep()
            let after = Self.worldCounts(ledger)
            #expect(!result.skipped && result.loss.isFinite, "\(optimizer): step \(trainer.step) \(result)")
            #expect(after.allReduces - before.allReduces == 1,
                    "\(optimizer): step \(trainer.step) issued \(after.allReduces - before.allReduces) world all-reduces")
            #expect(after.all - before.all == 1,
                    "\(optimizer): step \(trainer.step) issued \(after.all - before.all) world collectives")
            steps += 1
        }
        #expect(steps == 3)
    }
}
