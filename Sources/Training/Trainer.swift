import Checkpointing
import ClusterModel
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Sharding
import TrainingData
import Transformer

/// The training loop on a mesh: every data-parallel rank (dp × fsdp) trains on its slice of the
/// global batch of each step, the model runs on its tensor-parallel slice with its FSDP shards
/// gathered per block, and the optimizers step the sharded parameters.
///
/// Per step: the micro-batches' gradients are reduce-scattered over `fsdp` as the backward
/// produces them and scaled to the mean over the global batch; one 3-element all-reduce over the
/// world agrees on the loss, on whether any rank saw a non-finite loss or gradient (then every
/// rank skips the step, weights and state untouched) and on whether any rank asks to stop (its
/// metrics file failed: then every rank stops before the update); optional clipping by the global
/// norm; the optimizer steps. Runs with the same flags see the same data whatever the mesh.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let mesh: DeviceMesh
    public let model: TransformerModel
    public var parameters: MeshParameters
    public var optimizers: ParameterOptimizers
    let train: BatchSampler
    let validation: BatchSampler
    let output: TrainingOutput
    let dataSource: String
    /// The data's size and CRC-32C (`ByteCorpus.identity`), part of the checkpoint identity.
    let dataIdentity: String
    /// Steps completed.
    public internal(set) var step = 0
    /// Consecutive skipped steps.
    public internal(set) var badSteps = 0
    public internal(set) var skippedSteps = 0
    var spans: ComputeSpans
    /// Where `run` saves checkpoints, if anywhere.
    public var checkpoints: CheckpointStore?
    /// Save every this many steps (0: only when the run ends or stops).
    public var checkpointEvery = 0
    /// Injected faults (tests only).
    public var faults = DebugFaults()
    let simulatedNetwork: SimulatedNetwork?

    /// - Throws: `TrainingError` for a configuration the mesh cannot run, `DataError` for a
    ///   corpus too short for the sequence length; both identically on every rank before any collective.
    public init(configuration: TrainingConfiguration, corpus: ByteCorpus, mesh: DeviceMesh, output: TrainingOutput,
                simulatedNetwork: SimulatedNetwork? = nil) throws {
        try configuration.validate()
        guard mesh.shape == configuration.mesh else {
            throw TrainingError(.invalidConfiguration, "the device mesh \(mesh.shape) is not the configured \(configuration.mesh)")
        }
        self.configuration = configuration
        self.mesh = mesh
        self.output = output
        self.simulatedNetwork = simulatedNetwork
        dataSource = corpus.source
        dataIdentity = corpus.identity
        model = try TransformerModel(configuration.model, tensorParallelSize: mesh.shape.tp,
                                     tensorParallelRank: mesh.index(on: .tp))
        try corpus.requireParts(longerThan: configuration.model.sequenceLength)
        train = try BatchSampler(tokens: corpus.train, sequenceLength: configuration.model.sequenceLength, seed: configuration.seed)
        validation = try BatchSampler(tokens: corpus.validation, sequenceLength: configuration.model.sequenceLength,
                                      seed: configuration.seed &+ 0x5EED)
        parameters = try MeshParameters(parameters: model.parameters, mesh: mesh, seed: configuration.seed)
        optimizers = try ParameterOptimizers(configuration: configuration, parameters: model.parameters,
                                             shards: parameters.shards, mesh: mesh)
        spans = ComputeSpans(pid: mesh.world.rank)
    }

    /// This rank's index among the R·F data-parallel ranks.
    var dataIndex: Int { mesh.index(on: .replicate) * mesh.shape.fsdp + mesh.index(on: .fsdp) }

    /// The result of one step.
    public struct StepResult: Sendable {
        public let loss: Double
        public let skipped: Bool
        /// Every rank agreed to stop before this step's update (a rank's metrics write failed):
        /// weights, optimizer state and `step` are those after the previous step.
        public let stopped: Bool
    }

    /// One training step (collective over the world).
    public func trainStep() throws -> StepResult {
        let c = configuration
        injectStall()
        let computeStart = Date().timeIntervalSince1970
        parameters.zeroGradients()
        var lossSum: Float = 0
        for micro in 0..<c.gradientAccumulation {
            let range = try BatchSampler.slice(globalBatch: c.batchSize, replicas: c.dataParallelSize, replica: dataIndex,
                                               microBatches: c.gradientAccumulation, micro: micro)
            let batch = train.batch(step: step, sequences: range)
            lossSum += try model.lossAndGradients(inputs: batch.inputs, targets: batch.targets, sequences: batch.sequences,
                                                  source: &parameters)
        }
        parameters.scaleGradients(1 / Float(mesh.shape.fsdp * c.gradientAccumulation))
        injectNaN()
        let localLoss = lossSum / Float(c.gradientAccumulation)
        let finite = localLoss.isFinite && parameters.gradients.allSatisfy { $0.allSatisfy { $0.isFinite } }
        var agreed: [Double] = [finite ? Double(localLoss) : 0, finite ? 0 : 1, output.metricsFailure == nil ? 0 : 1]
        try mesh.world.allReduce(&agreed, op: .sum)
        let loss = agreed[0] / Double(mesh.world.size)
        let optimizerStart = Date().timeIntervalSince1970
        spans.add("forward+backward \(step)", from: computeStart, to: optimizerStart)
        if agreed[2] > 0 { return StepResult(loss: .nan, skipped: false, stopped: true) }
        if agreed[1] > 0 {
            badSteps += 1
            skippedSteps += 1
            if badSteps >= c.maxBadSteps {
                throw TrainingError(.nonFinite, "\(badSteps) consecutive steps had a non-finite loss or gradient (last at "
                                    + "step \(step + 1)); stopping. Lower --lr, enable --grad-clip or check the data")
            }
            step += 1
            return StepResult(loss: .nan, skipped: true, stopped: false)
        }
        badSteps = 0
        if c.gradientClip > 0 { try clipGradients(to: c.gradientClip) }
        try optimizers.step(shards: &parameters.shards, gradients: parameters.gradients,
                            multiplier: c.schedule.multiplier(at: step), mesh: mesh)
        spans.add("optimizer \(step)", from: optimizerStart, to: Date().timeIntervalSince1970)
        step += 1
        return StepResult(loss: loss, skipped: false, stopped: false)
    }

    /// Averages the gradients over `dp` (the optimizers are then told not to), computes the global
    /// norm (shards over fsdp and tp summed once each, tp-replicated tensors counted on tp rank 0)
    /// and scales every gradient by min(1, clip / norm).
    func clipGradients(to clip: Float) throws {
        if mesh.shape.replicate > 1 {
            for i in parameters.gradients.indices {
                try mesh.communicator(.replicate).allReduce(&parameters.gradients[i], op: .average)
            }
        }
        var sum: [Double] = [0]
        for (i, g) in parameters.gradients.enumerated() {
            let shard = parameters.shards[i]
            let tpSplit = shard.layout.rows.axis == .tp || shard.layout.columns.axis == .tp
            guard tpSplit || mesh.index(on: .tp) == 0 else { continue }
            sum[0] += g.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        try mesh.world.allReduce(&sum, op: .sum)
        let norm = (sum[0] / Double(mesh.shape.replicate)).squareRoot()
        let factor = Float(min(1, Double(clip) / (norm + 1e-6)))
        if factor < 1 { parameters.scaleGradients(factor) }
    }

    /// The mean validation loss over `evalBatches` fixed batches (collective over the world).
    public func evaluate() throws -> Double {
        let c = configuration
        var total: Float = 0
        let range = try BatchSampler.slice(globalBatch: c.batchSize, replicas: c.dataParallelSize, replica: dataIndex)
        for k in 0..<c.evalBatches {
            let batch = validation.batch(step: k, sequences: range)
            total += try model.loss(inputs: batch.inputs, targets: batch.targets, sequences: batch.sequences, source: &parameters)
        }
        var agreed: [Double] = [Double(total) / Double(c.evalBatches)]
        try mesh.world.allReduce(&agreed, op: .sum)
        return agreed[0] / Double(mesh.world.size)
    }
}
