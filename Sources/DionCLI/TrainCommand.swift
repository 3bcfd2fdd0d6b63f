import ArgumentParser
import Checkpointing
import ClusterModel
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding
import Training
import TrainingData
import Transformer

/// `dion train`: trains the byte-level transformer on a mesh (run under `mpirun -np N`).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT-style byte transformer with Dion, Muon, Dion2, NorMuon, NorDion2 or AdamW on a dp/fsdp/tp mesh (run under mpirun).")

    // MARK: Parallelism
    @Option(help: "Mesh dp=R,fsdp=F,tp=T (product = processes); default dp=<processes>.")
    var mesh: String?

    // MARK: Optimizer
    @Option(help: "Matrix optimizer: dion, muon, dion2, normuon, nordion2 or adamw (embeddings, head and norms always use AdamW).")
    var optimizer: MatrixOptimizer = .dion
    @Option(help: "Dion's rank fraction ρ (a decimal or 1/k).")
    var rankFraction: String = "0.25"
    @Option(help: "Dion2's and NorDion2's fraction α of the rows (or columns) updated per step, in (0, 1] (a decimal or 1/k).")
    var fraction: String = "0.25"
    @Option(help: "Dion2's and NorDion2's selection across shards: exact (same result on every mesh), global or local.")
    var selection: SelectionMode = .exact
    @Option(help: "Wire format of the optimizer collectives of muon, dion2, normuon and nordion2: fp32, or bf16 (half the bytes; compute stays fp32).")
    var wire: String = "fp32"
    @Option(help: "Learning rate of the matrices (everything with adamw); default per optimizer (docs/results.md).")
    var lr: Float?
    @Option(help: "AdamW learning rate of embeddings, head and norms with dion or muon.")
    var scalarLr: Float = 0.004
    @Option(help: "Decoupled weight decay of the matrices.")
    var weightDecay: Float = 0.01
    @Option(help: "Learning-rate schedule: constant, cosine or wsd.")
    var schedule: LearningRateSchedule.Shape = .cosine
    @Option(help: "Linear warm-up steps (default: 10% of --steps).")
    var warmup: Int?
    @Option(help: "Clip the global gradient norm (0 = off; > 0 makes Dion use the uncompressed dp sync).")
    var gradClip: Float = 0
    @Option(help: "Dion's data-parallel sync: automatic, compressed or uncompressed.")
    var sync: DionDataParallelSync = .automatic
    @Option(help: "FSDP gathers, reduce-scatters and dp gradient all-reduces behind compute: on or off (same bytes and losses).")
    var overlap: OverlapChoice = .on
    @Option(help: ArgumentHelp("Dion's fsdp reductions of P₀ and gathers of P started during the backward, block by block: on or off (same bytes and losses).",
                               discussion: "Applies with fsdp > 1, no dp and no --grad-clip; elsewhere Dion's step runs after the backward."))
    var dionInBackward: OverlapChoice = .on

    @Option(help: ArgumentHelp("With --overlap on, a thread drives MPI's progress every this many µs while collectives are in flight (0 = off).",
                               discussion: "Default: 200 when this node has a core for each of its ranks, else 0 (a polling thread "
                                   + "on an oversubscribed node takes CPU from the ranks)."))
    var progressInterval: UInt32?

    /// `--overlap`, `--dion-in-backward`.
    enum OverlapChoice: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    // MARK: Run
    @Option(help: "Optimizer steps.")
    var steps: Int = 200
    @Option(help: "Global batch in sequences (split over dp·fsdp ranks and micro-batches).")
    var batchSize: Int = 32
    @Option(help: "Gradient-accumulation micro-batches per step.")
    var gradAccum: Int = 1
    @Option(help: "Random seed (initialization, data order, Dion's Q₀ and sketches).")
    var seed: UInt64 = 0

    // MARK: Model
    @Option(help: "Tokens per sequence.")
    var seqLen: Int = 64
    @Option(help: "Transformer blocks.")
    var layers: Int = 4
    @Option(help: "Model width.")
    var dModel: Int = 128
    @Option(help: "Attention heads (divisible by tp).")
    var heads: Int = 4

    // MARK: Data and output
    @Option(help: "Training text (bytes); default data/shakespeare.txt from Scripts/fetch-data.sh.")
    var data: String = "data/shakespeare.txt"
    @Option(help: "Print a progress line every this many steps.")
    var logEvery: Int = 10
    @Option(help: "Evaluate the validation loss every this many steps (0: only at the end).")
    var evalEvery: Int = 50
    @Option(help: "Validation batches per evaluation.")
    var evalBatches: Int = 4
    @Option(help: "Write JSON Lines metrics (one record per step and evaluation) to this file.")
    var metrics: String?
    @Option(help: "Write a Chrome trace of compute and collectives of every rank to this file.")
    var trace: String?
    @Option(help: "Also time every collective on this simulated cluster (dion simulate --list-networks).")
    var simulateNetwork: String?

    // MARK: Checkpoints
    @Option(help: "Save sharded checkpoints (parameters and all optimizer state) in this directory.")
    var checkpointDir: String?
    @Option(help: "Save every this many steps (0: only at the end or at --stop-at).")
    var checkpointEvery: Int = 0
    @Option(help: "Keep the newest this many checkpoints.")
    var keep: Int = 2
    @Flag(help: "Continue from the newest complete checkpoint in --checkpoint-dir (any mesh).")
    var resume = false
    @Flag(help: "Start a new run in a --checkpoint-dir holding another run's checkpoints, deleting them (only checkpoints).")
    var overwriteCheckpoints = false
    @Option(help: "Checkpoint and exit cleanly after this step (the schedule still follows --steps).")
    var stopAt: Int?

    // MARK: Reliability
    @Option(help: "Abort after this many consecutive steps with a non-finite loss or gradient.")
    var maxBadSteps: Int = 5
    @Option(help: "Abort when a collective has not completed after this many seconds (0 = off).")
    var collectiveTimeout: Double = 600
    @Flag(help: "Check before every collective that all ranks issue the same operation, count and type (turns --overlap and --dion-in-backward off).")
    var debugCollectives = false

    // MARK: Fault injection (tests)
    @Option(help: ArgumentHelp("Poison rank --debug-fault-rank's gradient with a NaN at these steps (comma-separated).", visibility: .hidden))
    var debugNanSteps: String?
    @Option(help: ArgumentHelp("Make rank --debug-fault-rank sleep before this step.", visibility: .hidden))
    var debugStallStep: Int?
    @Option(help: ArgumentHelp("Make rank --debug-fault-rank's first collective of this step's optimizer step fail.",
                               visibility: .hidden))
    var debugMpiFailureStep: Int?
    @Option(help: ArgumentHelp("The misbehaving rank.", visibility: .hidden))
    var debugFaultRank: Int = 0
    @Flag(help: ArgumentHelp("Every rank prints 'PID rank R pid' at start.", visibility: .hidden))
    var debugPrintPids = false

    func run() throws {
        // Most refusals are agreed, so every rank throws within moments of the others: let each
        // print before the first abort ends the job.
        FailFast.run {
            BLASThreads.configureForProcess()
            let world = try MPIRuntime.world()
            let configuration = try makeConfiguration(processes: world.size)
            let deviceMesh = try DeviceMesh(shape: configuration.mesh, world: world)
            if debugCollectives { MPIRuntime.debugCollectives = true }
            if collectiveTimeout > 0 && world.size > 1 { try MPIRuntime.startCollectiveWatchdog(timeout: collectiveTimeout) }
            var network: SimulatedNetwork?
            if let simulateNetwork {
                network = SimulatedNetwork(preset: try NetworkPreset.named(simulateNetwork), mesh: configuration.mesh)
                network?.attach(to: .shared)
            }
            if debugPrintPids {
                FileHandle.standardOutput.write(Data("PID rank \(world.rank) \(ProcessInfo.processInfo.processIdentifier)\n".utf8))
            }
            let corpus = try ByteCorpus(contentsOf: data, minimumLength: seqLen)
            // Every rank runs the same run: flags and data compared before anything is written.
            try RunFingerprint(fields: fingerprintFields(data: corpus)).check(over: world)
            // After the fingerprint, so every rank takes the same branch into the collective below.
            if overlap == .on && world.size > 1 {
                let ranksOnNode = try world.nodeLocalSize()
                let interval = progressInterval ?? Self.defaultProgressInterval(ranksOnNode: ranksOnNode)
                if interval > 0 { try MPIRuntime.startProgressThread(intervalMicroseconds: interval) }
            }
            // Before anything is written: a directory of another run is refused (or, asked to, cleared).
            var store: CheckpointStore?
            if let checkpointDir {
                var claimed = try CheckpointStore(directory: checkpointDir, keep: keep)
                let removed = try claimed.begin(resume ? .resume : overwriteCheckpoints ? .overwrite : .fresh, communicator: world)
                if removed > 0 && world.rank == 0 {
                    print("--overwrite-checkpoints: removed \(removed) checkpoints of another run from \(checkpointDir)")
                    fflush(nil)  // before the progress lines, which bypass stdio
                }
                store = claimed
            }
            // Rank 0 writes the metrics and the trace: a file it cannot write stops every rank now.
            let output = try RankFailure.agree(over: world) {
                if world.rank == 0, let trace { try TrainingOutput.checkWritable(trace, purpose: "trace file") }
                return try TrainingOutput(active: world.rank == 0, metricsPath: metrics, append: resume)
            }
            let trainer = try Trainer(configuration: configuration, corpus: corpus, mesh: deviceMesh, output: output,
                                      simulatedNetwork: network)
            trainer.overlap = overlap == .on
            trainer.dionInBackward = dionInBackward == .on
            trainer.faults.nanSteps = Set((debugNanSteps ?? "").split(separator: ",").compactMap { Int($0) })
            trainer.faults.stallStep = debugStallStep
            trainer.faults.mpiFailureStep = debugMpiFailureStep
            trainer.faults.rank = debugFaultRank
            if var store {
                if resume { store.continueRun(of: try trainer.restore(from: store)) }
                trainer.checkpoints = store
                trainer.checkpointEvery = checkpointEvery
            }
            try trainer.run(tracePath: trace, stopAt: stopAt)
        }
    }

    /// The progress thread's interval without `--progress-interval`: 200 µs when the node has a core
    /// for each of its ranks, else off. Measured on the emulated cluster (docs/cluster.md, "Overlap"):
    /// with one rank per core the thread took a dp=2 step from 302 to 232 ms (250 Mbit/s); with 4 ranks
    /// on 2 cores it made the step 2–10 % slower.
    static func defaultProgressInterval(ranksOnNode: Int) -> UInt32 {
        ranksOnNode <= ProcessInfo.processInfo.activeProcessorCount ? 200 : 0
    }

    /// The configuration from the flags; every check that needs no communication happens here,
    /// identically on every rank.
    func makeConfiguration(processes: Int) throws -> TrainingConfiguration {
        if resume && checkpointDir == nil { throw ValidationError("--resume needs --checkpoint-dir") }
        if overwriteCheckpoints && (resume || checkpointDir == nil) {
            throw ValidationError("--overwrite-checkpoints starts a new run in --checkpoint-dir; it cannot go with --resume "
                                  + "and needs --checkpoint-dir")
        }
        if let stopAt, stopAt < 1 { throw ValidationError("--stop-at must be at least 1, got \(stopAt)") }
        if stopAt != nil && checkpointDir == nil {
            throw ValidationError("--stop-at saves a checkpoint to continue from with --resume; it needs --checkpoint-dir")
        }
        guard collectiveTimeout.isFinite, collectiveTimeout >= 0,
              collectiveTimeout <= MPIRuntime.maximumWatchdogTimeout else {
            throw ValidationError("--collective-timeout must be a number of seconds from 0 (off) to "
                                  + "\(Int(MPIRuntime.maximumWatchdogTimeout)), got \(collectiveTimeout)")
        }
        if let progressInterval, progressInterval > MPIRuntime.maximumProgressInterval {
            throw ValidationError("--progress-interval must be 0 (off) to \(MPIRuntime.maximumProgressInterval) µs, got \(progressInterval)")
        }
        if checkpointEvery < 0 || keep < 1 { throw ValidationError("--checkpoint-every must be ≥ 0 and --keep ≥ 1") }
        let meshShape = try MeshShape(parsing: mesh ?? "dp=\(processes)")
        guard meshShape.processCount == processes else {
            throw ValidationError("--mesh \(meshShape) needs \(meshShape.processCount) processes but the job has \(processes); "
                                  + "start it with mpirun -np \(meshShape.processCount) or change --mesh")
        }
        let configuration = TrainingConfiguration(
            model: try TransformerConfiguration(layers: layers, modelDimension: dModel, heads: heads, sequenceLength: seqLen),
            mesh: meshShape, optimizer: optimizer, rankFraction: try Self.fraction(rankFraction, flag: "--rank-fraction"),
            fraction: try Self.fraction(fraction, flag: "--fraction"), selection: selection,
            wire: try WirePrecision.parse(wire),
            learningRate: lr ?? Self.defaultLearningRate(optimizer), scalarLearningRate: scalarLr,
            weightDecay: weightDecay, schedule: try LearningRateSchedule(shape: schedule, warmup: warmup ?? steps / 10, steps: steps),
            batchSize: batchSize, gradientAccumulation: gradAccum, seed: seed, gradientClip: gradClip,
            dataParallelSync: sync, logEvery: logEvery, evalEvery: evalEvery, evalBatches: evalBatches,
            maxBadSteps: maxBadSteps)
        try configuration.validate()
        return configuration
    }

    /// Every flag as this rank parsed it (by reflection, so a new flag is compared too), the
    /// mesh this rank resolved, and the data's size and CRC-32C.
    func fingerprintFields(data corpus: ByteCorpus) -> [RunFingerprint.Field] {
        var fields: [RunFingerprint.Field] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            fields.append(RunFingerprint.Field(name: "--" + Self.kebab(label.hasPrefix("_") ? String(label.dropFirst()) : label),
                                               value: Self.unwrapped(String(describing: child.value))))
        }
        return fields + [RunFingerprint.Field(name: "the contents of --data", value: corpus.identity)]
    }

    /// `Optional(0.02)` → `0.02`, `nil` → `(not given)`.
    static func unwrapped(_ text: String) -> String {
        if text == "nil" { return "(not given)" }
        guard text.hasPrefix("Optional("), text.hasSuffix(")") else { return text }
        return String(text.dropFirst(9).dropLast())
    }

    /// `collectiveTimeout` → `collective-timeout`.
    static func kebab(_ name: String) -> String {
        name.reduce(into: "") { out, c in out += c.isUppercase ? "-" + c.lowercased() : String(c) }
    }

    /// The learning rates chosen by the sweep in docs/results.md; Dion2, NorMuon and NorDion2
    /// start at Muon's (not swept yet: docs/results.md).
    static func defaultLearningRate(_ optimizer: MatrixOptimizer) -> Float {
        switch optimizer {
        case .dion: 0.02
        case .muon, .dion2, .normuon, .nordion2: 0.02
        case .adamw: 0.004
        }
    }

    /// "0.25" or "1/4" (`OptimizerChoice.rankFraction(parsing:)`), for the flag named `flag`.
    static func fraction(_ text: String, flag: String) throws -> Double {
        do {
            return try OptimizerChoice.rankFraction(parsing: text)
        } catch {
            throw ValidationError("\(flag): \(error.message)")
        }
    }
}
