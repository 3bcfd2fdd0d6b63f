import ArgumentParser
import Foundation
import LinearAlgebra
import Optimizers

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

    func run() throws {
        BLASThreads.configureForProcess()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: input))
        } catch {
            throw ValidationError("cannot read --input \(input): \(error.localizedDescription)")
        }
        let steps = try Replay.run(try Replay.decode(data))
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
