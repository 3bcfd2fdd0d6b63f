import DionDistributed
import Foundation
import Optimizers
import Sharding
import Transformer

/// Which optimizer trains the weight matrices (the embedding, head and norm gains always go to
/// the scalar optimizer, §1.2): the kinds `OptimizerChoice` names too.
public typealias MatrixOptimizer = OptimizerKind

/// Everything that defines a training run; written into the metrics file's first record.
public struct TrainingConfiguration: Sendable, Hashable, Codable {
    public var model: TransformerConfiguration
    public var mesh: MeshShape
    public var optimizer: MatrixOptimizer
    /// Dion's rank fraction ρ.
    public var rankFraction: Double
    /// Dion2's and NorDion2's fraction α of the rows (or columns) each step updates.
    public var fraction: Double
    /// How Dion2 and NorDion2 select their slices across shards (`exact` is the same on every mesh).
    public var selection: SelectionMode
    /// The format of the optimizer collectives' matrix data (Muon, Dion2, NorMuon, NorDion2):
    /// fp32, or bf16 (half the bytes, each element rounded; compute stays fp32).
    public var wire: WirePrecision
    /// Learning rate of the matrix optimizer (and of everything with `--optimizer adamw`).
    public var learningRate: Float
    /// Learning rate of the scalar optimizer (AdamW) for the embedding, head and norms with Dion or Muon.
    public var scalarLearningRate: Float
    /// Decoupled weight decay of the matrices (the scalars use none).
    public var weightDecay: Float
    public var schedule: LearningRateSchedule
    /// Global batch in sequences (split over the R·F data-parallel ranks and the micro-batches).
    public var batchSize: Int
    public var gradientAccumulation: Int
    public var seed: UInt64
    /// Clip the global gradient norm to this value; 0 turns clipping off.
    public var gradientClip: Float
    /// Dion's data-parallel sync.
    public var dataParallelSync: DistributedDion.DataParallelSync
    public var logEvery: Int
    /// Evaluate every this many steps (and after the last); 0 evaluates only at the end.
    public var evalEvery: Int
    /// Validation batches (of `batchSize` sequences) per evaluation.
    public var evalBatches: Int
    /// Abort after this many consecutive steps with a non-finite loss or gradient.
    public var maxBadSteps: Int

    public init(model: TransformerConfiguration, mesh: MeshShape, optimizer: MatrixOptimizer, rankFraction: Double = 0.25,
                fraction: Double = 0.25, selection: SelectionMode = .exact, wire: WirePrecision = .fp32, learningRate: Float, scalarLearningRate: Float, weightDecay: Float = 0.01, schedule: LearningRateSchedule,
                batchSize: Int, gradientAccumulation: Int = 1, seed: UInt64 = 0, gradientClip: Float = 0,
                dataParallelSync: DistributedDion.DataParallelSync = .automatic, logEvery: Int = 10, evalEvery: Int = 0,
                evalBatches: Int = 4, maxBadSteps: Int = 5) {
        self.model = model
        self.mesh = mesh
        self.optimizer = optimizer
        self.rankFraction = rankFraction
        self.fraction = fraction
        self.selection = selection
        self.wire = wire
        self.learningRate = learningRate
        self.scalarLearningRate = scalarLearningRate
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.batchSize = batchSize
        self.gradientAccumulation = gradientAccumulation
        self.seed = seed
        self.gradientClip = gradientClip
        self.dataParallelSync = dataParallelSync
        self.logEvery = logEvery
        self.evalEvery = evalEvery
        self.evalBatches = evalBatches
        self.maxBadSteps = maxBadSteps
    }

    /// Optimizer steps of the run (the schedule's length).
    public var steps: Int { schedule.steps }

    /// Data-parallel ranks: every replica and every FSDP shard reads its own slice of the batch.
    public var dataParallelSize: Int { mesh.replicate * mesh.fsdp }

    /// Checks what can be checked before any collective, identically on every rank.
    ///
    /// - Throws: `TrainingError.invalidConfiguration` naming the flag.
    public func validate() throws(TrainingError) {
        do throws(TransformerError) {
            try model.validate(tensorParallel: mesh.tp)
        } catch {
            throw TrainingError(.invalidConfiguration, error.message)
        }
        for (name, value) in [("--lr", learningRate), ("--scalar-lr", scalarLearningRate)] where !(value.isFinite && value > 0) {
            throw TrainingError(.invalidConfiguration, "\(name) must be a positive number, got \(value)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw TrainingError(.invalidConfiguration, "--weight-decay must be ≥ 0, got \(weightDecay)")
        }
        guard rankFraction > 0, rankFraction <= 1 else {
            throw TrainingError(.invalidConfiguration, "--rank-fraction must be in (0, 1], got \(rankFraction)")
        }
        guard fraction > 0, fraction <= 1 else {
            throw TrainingError(.invalidConfiguration, "--fraction must be in (0, 1], got \(fraction)")
        }
        guard gradientAccumulation >= 1 else {
            throw TrainingError(.invalidConfiguration, "--grad-accum must be at least 1, got \(gradientAccumulation)")
        }
        guard batchSize >= 1, batchSize % (dataParallelSize * gradientAccumulation) == 0 else {
            throw TrainingError(.invalidConfiguration, "--batch-size \(batchSize) must be a positive multiple of dp·fsdp "
                                + "(\(dataParallelSize)) × --grad-accum (\(gradientAccumulation)), so that every mesh "
                                + "sees the same data")
        }
        guard gradientClip.isFinite, gradientClip >= 0 else {
            throw TrainingError(.invalidConfiguration, "--grad-clip must be ≥ 0 (0 = off), got \(gradientClip)")
        }
        let (tokensPerStep, overflowPerStep) = batchSize.multipliedReportingOverflow(by: model.sequenceLength)
        let (_, overflowTotal) = tokensPerStep.multipliedReportingOverflow(by: steps)
        guard !overflowPerStep, !overflowTotal else {
            throw TrainingError(.invalidConfiguration, "--steps \(steps) × --batch-size \(batchSize) × --seq-len "
                                + "\(model.sequenceLength) tokens cannot be counted in 64 bits")
        }
        try checkMemory(available: ProcessInfo.processInfo.physicalMemory)
        guard logEvery >= 1, evalEvery >= 0, evalBatches >= 1, maxBadSteps >= 1 else {
            throw TrainingError(.invalidConfiguration, "--log-every, --eval-batches and --max-bad-steps must be ≥ 1 and "
                                + "--eval-every ≥ 0")
        }
    }
}

extension TrainingConfiguration {
    /// About how many bytes one rank allocates for a training step, computed in floating point
    /// so that no flag can overflow it: parameters, gradients and two optimizer buffers of the
    /// whole model (an upper bound: shards are smaller), and the activations one micro-batch
    /// keeps for the backward pass — per block the attention probabilities (sequences × local
    /// heads × T²) and about eight d-wide and two hidden-wide rows per token — plus the logits.
    public var estimatedBytesPerRank: Double {
        let m = model
        let (t, d, layers) = (Double(m.sequenceLength), Double(m.modelDimension), Double(m.layers))
        let vocabulary = Double(m.vocabularySize)
        let parameters = 2 * vocabulary * d + t * d + layers * (4 * d * d + 2 * d * Double(m.hiddenDimension) + 2 * d) + d
        let sequences = Double(batchSize) / Double(dataParallelSize) / Double(gradientAccumulation)
        let tokens = sequences * t
        let heads = Double(m.heads) / Double(mesh.tp), hidden = Double(m.hiddenDimension) / Double(mesh.tp)
        let activations = layers * (sequences * heads * t * t + tokens * (8 * d + 2 * hidden)) + 2 * tokens * vocabulary
        return 4 * (4 * parameters + activations)
    }

    /// Refuses a configuration whose step would need more memory than the machine has (it
    /// would otherwise die in an allocation), naming the flags that set the size.
    ///
    /// - Throws: `TrainingError.invalidConfiguration`.
    public func checkMemory(available: UInt64) throws(TrainingError) {
        let needed = estimatedBytesPerRank
        guard needed.isFinite, needed <= Double(available) else {
            let gigabytes = { (bytes: Double) in String(format: "%.3g GB", bytes / 1e9) }
            throw TrainingError(.invalidConfiguration, "this model and batch need about \(gigabytes(needed)) per rank "
                                + "(--batch-size \(batchSize) over \(dataParallelSize) data-parallel ranks and --grad-accum "
                                + "\(gradientAccumulation), --seq-len \(model.sequenceLength), --layers \(model.layers), --d-model "
                                + "\(model.modelDimension)) but the machine has \(gigabytes(Double(available))); lower "
                                + "--batch-size or --seq-len, raise --grad-accum or use a smaller model")
        }
    }
}
