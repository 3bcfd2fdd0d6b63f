import ArgumentParser
import DionCore
import Foundation
import LinearAlgebra
import Optimizers
import Transformer

/// `dion bench model`: times the single-process forward, backward and optimizer step of the
/// byte transformer and reports tokens/s and model-FLOP utilization against the single-thread
/// sgemm peak measured in the same run.
///
/// Model FLOPs per step (the PaLM convention): 6·N·tokens + 12·layers·T·d·tokens, with N the
/// parameters of every matmul (the blocks' six matrices and the head; embeddings are gathers) and
/// the attention term counting the whole T×T score matrix; the forward is one third of it.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time the model's forward, backward and optimizer step on one process against the measured sgemm peak.")

    @Option(help: "dion (Dion on the block matrices, AdamW on the rest) or adamw.")
    var optimizer: Kind = .adamw

    /// `--optimizer`.
    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case dion, adamw
    }

    @Option(help: "Dion rank fraction ρ in (0, 1].")
    var rankFraction: Double = 0.25

    @Option(help: "Sequences per step.")
    var batchSize: Int = 32

    @Option(help: "Transformer blocks.")
    var layers: Int = 4
    @Option(help: "Model width d.")
    var dModel: Int = 128
    @Option(help: "Attention heads.")
    var heads: Int = 4
    @Option(help: "Tokens per sequence.")
    var seqLen: Int = 64

    @Option(help: "Timed steps (at least 5) after 2 warm-up steps.")
    var steps: Int = 10

    @Option(help: "Append the record to this JSON Lines file.")
    var json: String?

    /// The JSON Lines record.
    struct Record: Encodable {
        let command = "bench model"
        let optimizer: String
        let rankFraction: Double?
        let layers: Int, dModel: Int, heads: Int, seqLen: Int, batchSize: Int
        let tokensPerStep: Int
        let forwardSeconds: Double, backwardSeconds: Double, optimizerSeconds: Double, stepSeconds: Double
        let tokensPerSecond: Double
        let modelFlopsPerStep: Double
        let forwardBackwardGflops: Double
        let sgemmPeakGflops: Double
        let modelFlopUtilization: Double
        let minorFaultsPerStep: Double
    }

    func run() throws {
        guard steps >= 5 else { throw ValidationError("--steps must be at least 5") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        BLASThreads.set(1)
        let peak = try BenchOptimizer().sgemmPeak()
        let configuration = try TransformerConfiguration(layers: layers, modelDimension: dModel, heads: heads,
                                                         sequenceLength: seqLen)
        let model = try TransformerModel(configuration)
        let parameters = model.parameters
        var source = InMemoryParameters(parameters.all.map { parameters.initialValue($0.id, seed: 1) })
        var updater = try Updater(parameters: parameters, values: source.values, optimizer: optimizer,
                                  rankFraction: rankFraction)
        let tokensPerStep = batchSize * seqLen
        var generator = SplitMix64(state: 42)
        let batches = (0..<3).map { _ in (0..<(tokensPerStep + 1)).map { _ in Int32(truncatingIfNeeded: generator.next() % 256) } }

        var forward: [Double] = [], forwardBackward: [Double] = [], update: [Double] = []
        var faults = 0
        for i in 0..<(steps + 2) {
            let batch = batches[i % batches.count]
            let (inputs, targets) = (Array(batch[0..<tokensPerStep]), Array(batch[1...tokensPerStep]))
            source.zeroGradients()
            let faultsBefore = minorFaults()
            let t0 = now()
            _ = try model.loss(inputs: inputs, targets: targets, sequences: batchSize, source: &source)
            let t1 = now()
            _ = try model.lossAndGradients(inputs: inputs, targets: targets, sequences: batchSize, source: &source)
            let t2 = now()
            try updater.step(&source)
            let t3 = now()
            guard i >= 2 else { continue }
            faults += minorFaults() - faultsBefore
            forward.append(t1 - t0)
            forwardBackward.append(t2 - t1)
            update.append(t3 - t2)
        }
        let best = (forward.min() ?? 0, forwardBackward.min() ?? 0, update.min() ?? 0)
        let n = Double(layers * (4 * dModel * dModel + 2 * dModel * configuration.hiddenDimension)
                       + configuration.vocabularySize * dModel)
        let flops = (6 * n + 12 * Double(layers * seqLen * dModel)) * Double(tokensPerStep)
        let gflops = flops / best.1 / 1e9
        let record = Record(optimizer: optimizer.rawValue, rankFraction: optimizer == .dion ? rankFraction : nil,
                            layers: layers, dModel: dModel, heads: heads, seqLen: seqLen, batchSize: batchSize,
                            tokensPerStep: tokensPerStep, forwardSeconds: best.0,
                            backwardSeconds: best.1 - best.0, optimizerSeconds: best.2,
                            stepSeconds: best.1 + best.2, tokensPerSecond: Double(tokensPerStep) / (best.1 + best.2),
                            modelFlopsPerStep: flops, forwardBackwardGflops: gflops, sgemmPeakGflops: peak,
                            modelFlopUtilization: gflops / peak, minorFaultsPerStep: Double(faults) / Double(steps))
        print(String(format: "model %@, batch %d×%d, %@ (best of %d steps, 1 thread)", configuration.description,
                     batchSize, seqLen, optimizer == .dion ? "dion ρ=\(rankFraction)" : optimizer.rawValue, steps))
        print(String(format: "forward %.1f ms | backward %.1f ms (forward+backward %.1f ms) | optimizer %.1f ms | step %.1f ms",
                     best.0 * 1e3, (best.1 - best.0) * 1e3, best.1 * 1e3, best.2 * 1e3, (best.1 + best.2) * 1e3))
        print(String(format: "%.0f tok/s | %.2f GFLOP/step, forward+backward %.1f GFLOP/s = %.0f%% of the sgemm peak "
                     + "%.1f GFLOP/s | %.0f minor page faults/step (forward, forward+backward, optimizer)",
                     record.tokensPerSecond, flops / 1e9, gflops, gflops / peak * 100, peak, record.minorFaultsPerStep))
        if let json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            var data = try encoder.encode(record)
            data.append(0x0A)
            if !FileManager.default.fileExists(atPath: json) {
                guard FileManager.default.createFile(atPath: json, contents: nil) else {
                    throw ValidationError("cannot create \(json)")
                }
            }
            guard let handle = FileHandle(forWritingAtPath: json) else { throw ValidationError("cannot open \(json)") }
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        }
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    private func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// Applies one optimizer step to every parameter of an `InMemoryParameters` (the
    /// single-process optimizers; Dion on the block matrices when asked, AdamW elsewhere).
    struct Updater {
        let dion: Optimizers.Dion
        let adam: AdamW
        var dionStates: [Int: Optimizers.Dion.State] = [:]
        var adamStates: [Int: AdamW.State] = [:]

        init(parameters: TransformerParameters, values: [Matrix], optimizer: Kind, rankFraction: Double) throws {
            dion = Optimizers.Dion(try DionConfiguration(rank: .fraction(rankFraction)))
            adam = AdamW(try AdamW.Configuration())
            for p in parameters.all {
                let role = try ParameterRole.infer(name: p.name, shape: [p.rows, p.columns])
                if optimizer == .dion && role == .matrix {
                    dionStates[p.id.rawValue] = try dion.initialState(for: values[p.id.rawValue])
                } else {
                    adamStates[p.id.rawValue] = try adam.initialState(for: values[p.id.rawValue])
                }
            }
        }

        mutating func step(_ source: inout InMemoryParameters) throws {
            for i in source.values.indices {
                if var state = dionStates[i] {
                    _ = try dion.step(parameter: &source.values[i], gradient: source.gradients[i], state: &state,
                                      learningRate: 0.01)
                    dionStates[i] = state
                } else if var state = adamStates[i] {
                    _ = try adam.step(parameter: &source.values[i], gradient: source.gradients[i], state: &state,
                                      learningRate: 0.001)
                    adamStates[i] = state
                }
            }
        }
    }
}
