import ArgumentParser
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `dion replay`: runs an optimizer on recorded gradients and writes the state after each step,
/// so anyone can cross-check this implementation against another one (format in the README).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run an optimizer on recorded gradients (JSON in) and write the state after each step (JSON out).")

    @Option(help: "Input JSON: optimizer, hyperparameters, X0, optional Q0, gradients.")
    var input: String

    @Option(help: "Output JSON: {\"steps\": [{\"X\", \"momentum\", \"Q\"}, …]}.")
    var output: String

    @Option(help: "Run on this mesh (dp=R,fsdp=F) under mpirun: shard, step with the distributed optimizer, gather.")
    var mesh: String?

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
                let deviceMesh = try DeviceMesh(shape: try MeshShape(parsing: mesh), world: world)
                let steps = try ReplayOnMesh.run(input, mesh: deviceMesh)
                if world.rank == 0 { try write(steps) }
            }
        } else {
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
