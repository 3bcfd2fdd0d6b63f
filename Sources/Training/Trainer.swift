import Checkpointing
import ClusterModel
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding
import TrainingData
import Transformer

/// The training loop on a mesh: every data-parallel rank (dp × fsdp) trains on its slice of the
/// global batch of each step, the model runs on its tensor-parallel slice with its FSDP shards
/// gathered per block, and the optimizers step the sharded parameters.
///
/// Per step: the micro-batches' gradients are reduce-scattered over `fsdp` block by block as the
/// backward produces them; the `GradientSynchronizer` scales each block's shards to the mean over
/// the global batch and averages them over `dp` in one bucket per block; one 3-element
/// all-reduce over the world agrees on the loss, on whether any rank saw a non-finite loss or
/// gradient (then every rank skips the step, weights and state untouched) and on whether any
/// rank asks to stop (its metrics file failed: then every rank stops before the update);
/// optional clipping by the global norm; the optimizers step on the synchronized gradients.
/// With `overlap` the FSDP and dp collectives run behind the forward and backward compute (same
/// collectives, same results). Runs with the same flags see the same data whatever the mesh.
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
    /// The step's gradient synchronization (also reached by `parameters` as blocks finish).
    let synchronizer: GradientSynchronizer
    /// Dion's backward stage where it applies (fsdp without dp, no clipping; `DionBackwardLink`).
    let dionLink: DionBackwardLink?
    /// Start Dion's fsdp communication during the backward where the stage applies (the same
    /// arithmetic and bytes as the step after the backward; `--dion-in-backward`).
    public var dionInBackward = true

    /// Whether the FSDP all-gathers, reduce-scatters and the dp gradient buckets run behind
    /// compute (`--overlap on`). Either way the same collectives move the same bytes and the
    /// losses are bit-identical; only the time spent waiting changes.
    ///
    /// Stays off while per-call agreement checks are on (`MPIRuntime.debugCollectives`): each
    /// check blocks when a collective is issued, and with overlap the dp buckets are issued when
    /// each rank sees its reduce-scatters complete, at points MPI's timing picks — two ranks
    /// could each block in a check the other has not reached.
    public var overlap: Bool {
        get { parameters.overlap }
        set {
            let on = newValue && !MPIRuntime.debugCollectives
            parameters.overlap = on
            synchronizer.overlap = on
            dionLink?.stage.overlap = on
        }
    }

    /// - Throws: `TrainingError`: `.invalidConfiguration` for a configuration the mesh cannot run,
    ///   `.data` (the `DataError`) for a corpus too short for the sequence length, `.model`,
    ///   `.mesh` or `.optimizer` for a model, layout or hyperparameter its layer refuses; all
    ///   identically on every rank before any collective.
    public init(configuration: TrainingConfiguration, corpus: ByteCorpus, mesh: DeviceMesh, output: TrainingOutput,
                simulatedNetwork: SimulatedNetwork? = nil) throws(TrainingError) {
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
        do throws(TransformerError) {
            model = try TransformerModel(configuration.model, tensorParallelSize: mesh.shape.tp,
                                         tensorParallelRank: mesh.index(on: .tp))
        } catch {
            throw TrainingError(error)
        }
        do throws(DataError) {
            try corpus.requireParts(longerThan: configuration.model.sequenceLength)
            train = try BatchSampler(tokens: corpus.train, sequenceLength: configuration.model.sequenceLength,
                                     seed: configuration.seed)
            validation = try BatchSampler(tokens: corpus.validation, sequenceLength: configuration.model.sequenceLength,
                                          seed: configuration.seed &+ 0x5EED)
        } catch {
            throw TrainingError(error)
        }
        do throws(ShardingError) {
            parameters = try MeshParameters(parameters: model.parameters, mesh: mesh, seed: configuration.seed)
        } catch {
            throw TrainingError(error, while: "sharding the initial weights")
        }
        do throws(OptimizerError) {
            optimizers = try ParameterOptimizers(configuration: configuration, parameters: model.parameters,
                                                 shards: parameters.shards, mesh: mesh)
        } catch {
            throw TrainingError(error)
        }
        spans = ComputeSpans(pid: mesh.world.rank)
        let byOptimizer = optimizers.synchronizesOverReplicas(shards: parameters.shards, mesh: mesh.shape)
        synchronizer = GradientSynchronizer(mesh: mesh, fsdp: mesh.shape.fsdp, microBatches: configuration.gradientAccumulation,
                                            averagedHere: byOptimizer.map { !$0 }, overlap: false)
        parameters.synchronizer = synchronizer
        do throws(OptimizerError) {
            dionLink = try DionBackwardLink.make(optimizers, shards: parameters.shards, clipping: configuration.gradientClip > 0,
                                                 mesh: mesh, overlap: false)
        } catch {
            throw TrainingError(error)
        }
        synchronizer.dionLink = dionLink
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
    ///
    /// - Throws: `TrainingError`: `.communication` with the `MPIError` when a collective fails
    ///   (in the model's FSDP or tp collectives, the gradient synchronization or an optimizer
    ///   step alike); `.nonFinite` after `maxBadSteps` consecutive skipped steps; `.model`,
    ///   `.optimizer` or `.data` when a layer refuses its input.
    public func trainStep() throws(TrainingError) -> StepResult {
        let c = configuration
        injectStall()
        let computeStart = Date().timeIntervalSince1970
        parameters.beginGradients()
        if dionInBackward, let dionLink {
            do throws(OptimizerError) {
                try dionLink.begin(optimizers, shards: parameters.shards)
            } catch {
                throw TrainingError(error)
            }
        }
        var lossSum: Float = 0
        for micro in 0..<c.gradientAccumulation {
            let range: Range<Int>
            do throws(DataError) {
                range = try BatchSampler.slice(globalBatch: c.batchSize, replicas: c.dataParallelSize, replica: dataIndex,
                                               microBatches: c.gradientAccumulation, micro: micro)
            } catch {
                throw TrainingError(error)
            }
            let batch = train.batch(step: step, sequences: range)
            synchronizer.beginMicroBatch(last: micro == c.gradientAccumulation - 1)
            do throws(TransformerError) {
                lossSum += try model.lossAndGradients(inputs: batch.inputs, targets: batch.targets, sequences: batch.sequences,
                                                      source: &parameters)
            } catch {
                throw TrainingError(error)
            }
        }
        try parameters.finishGradients()
        injectNaN()
        let agreed: GradientSynchronizer.Agreement
        do throws(MPIError) {
            agreed = try synchronizer.agree(localLoss: lossSum / Float(c.gradientAccumulation), gradients: parameters.gradients,
                                            stop: output.metricsFailure != nil)
        } catch {
            throw TrainingError(communication: error, while: GradientSynchronizer.voting)
        }
        let loss = agreed.loss
        let optimizerStart = Date().timeIntervalSince1970
        spans.add("forward+backward \(step)", from: computeStart, to: optimizerStart)
        if agreed.stop || agreed.nonFinite {
            do throws(OptimizerError) {
                try dionLink?.abandon()
            } catch {
                throw TrainingError(error)
            }
        }
        if agreed.stop { return StepResult(loss: .nan, skipped: false, stopped: true) }
        if agreed.nonFinite {
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
        if c.gradientClip > 0 {
            do throws(MPIError) {
                try synchronizer.clip(&parameters.gradients, shards: parameters.shards, to: c.gradientClip)
            } catch {
                throw TrainingError(communication: error, while: GradientSynchronizer.clipping)
            }
        }
        injectMPIFailure()
        do throws(OptimizerError) {
            try optimizers.step(shards: &parameters.shards, gradients: parameters.gradients,
                                multiplier: c.schedule.multiplier(at: step), mesh: mesh, dionStage: dionLink)
        } catch {
            throw TrainingError(error)
        }
        spans.add("optimizer \(step)", from: optimizerStart, to: Date().timeIntervalSince1970)
        step += 1
        return StepResult(loss: loss, skipped: false, stopped: false)
    }

    /// The mean validation loss over `evalBatches` fixed batches (collective over the world).
    ///
    /// - Throws: `TrainingError`: `.communication` with the `MPIError` when a collective fails;
    ///   `.model` or `.data` when a layer refuses its input.
    public func evaluate() throws(TrainingError) -> Double {
        let c = configuration
        var total: Float = 0
        let range: Range<Int>
        do throws(DataError) {
            range = try BatchSampler.slice(globalBatch: c.batchSize, replicas: c.dataParallelSize, replica: dataIndex)
        } catch {
            throw TrainingError(error)
        }
        for k in 0..<c.evalBatches {
            let batch = validation.batch(step: k, sequences: range)
            do throws(TransformerError) {
                total += try model.loss(inputs: batch.inputs, targets: batch.targets, sequences: batch.sequences, source: &parameters)
            } catch {
                throw TrainingError(error)
            }
        }
        var agreed: [Double] = [Double(total) / Double(c.evalBatches)]
        do throws(MPIError) {
            try mesh.world.allReduce(&agreed, op: .sum)
        } catch {
            throw TrainingError(communication: error, while: "averaging the validation loss across ranks")
        }
        return agreed[0] / Double(mesh.world.size)
    }
}
