import ArgumentParser
import Foundation
import MPIShim

/// The `dion` command: the training job, its benchmarks and tools, as subcommands.
///
/// Run it under `mpirun -np N` for more than one process; every subcommand also runs as a
/// single process (an MPI singleton).
@main
struct Dion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dion",
        abstract: "Distributed training with the Dion optimizer over MPI.",
        subcommands: [
            TrainCommand.self,
            Bench.self,
            CheckpointCommand.self,
            ReplayCommand.self,
            SimulateCommand.self,
        ]
    )

    /// Parses and runs the command like ArgumentParser's default `main`, except that refused
    /// arguments end through `FailFast.refuse`, which under `mpirun` pauses after printing so that
    /// every rank's message reaches the terminal before mpirun tears the job down.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            guard code != .success else {
                if !message.isEmpty { print(message) }
                Foundation.exit(code.rawValue)
            }
            FailFast.refuse(message, exitCode: code.rawValue)
        }
    }
}
