import ArgumentParser
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import DionDistributed
import Sharding

/// `dion replay`: runs an optimizer on recorded gradients and writes the state after each step,
/// so anyone can cross-check this implementation against another one (format in the README).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run an optimizer on recorded gradients (JSON in) and write the state after each step (JSON out).")

    @Option(help: "Input JSON: optimizer, hyperparameters, X0, optional Q0, gradients.")
    var input: String

    @Option(help: "Output JSON: {\"steps\": [{\"X\", \"momentum\", \"Q\", \"selected\", \"variance\"}, …]} (each where it applies).")
    var output: String

    @Option(help: ArgumentHelp("Run on this mesh (dp=R,fsdp=F,tp=T) under mpirun: shard, step with the distributed "
                               + "optimizer, gather. Q0 and Q stay in the single-process format on every mesh."))
    var mesh: String?

    @Option(help: ArgumentHelp("With --mesh: auto (for Dion the layout that keeps the single-process work orientation) "
                               + "or \(LayoutName.choices). A layout that would flip Dion's orientation is refused."))
    var layout: ReplayLayoutChoice = .auto

    func run() throws {
        BLASThreads.configureForProcess()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: input))
        } catch {
            throw ValidationError("cannot read --input \(input): \(error.localizedDescription)")
        }
        let input = try Replay.decode(data)
        if let mesh {
            FailFast.run {
                let world = try MPIRuntime.world()
                let shape: MeshShape
                let chosen: ShardLayout
                do {
                    shape = try MeshShape(parsing: mesh)
                    let requested: ShardLayout? = switch layout {
                    case .auto: nil
                    case .named(let name): name.layout(on: shape)
                    }
                    chosen = try MeshReplay.layout(for: input, on: shape, requested: requested)
                } catch {
                    // Pure checks, before any collective: every rank reaches the same verdict, and
                    // the grace lets each print it before the first abort ends the job.
                    FailFast.fail(error, graceSeconds: 1)
                }
                let deviceMesh = try DeviceMesh(shape: shape, world: world)
                let steps = try MeshReplay.run(input, mesh: deviceMesh, layout: chosen)
                if world.rank == 0 {
                    print("dion replay: \(input.optimizer) \(input.X0.count)×\(input.X0.first?.count ?? 0) on \(shape), "
                          + "layout \(chosen)")
                    try write(steps)
                }
            }
        } else {
            guard layout == .auto else { throw ValidationError("--layout needs --mesh") }
            try write(try Replay.run(input))
        }
    }

    private func write(_ steps: [Replay.StepRecord]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = try encoder.encode(["steps": steps])
        do {
            try text.write(to: URL(fileURLWithPath: output))
        } catch {
            throw ValidationError("cannot write --output \(output): \(error.localizedDescription)")
        }
        print("replayed \(steps.count) steps → \(output)")
    }
}
