import ArgumentParser
import Foundation

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

    /// Parses and runs the command like ArgumentParser's default `main`, with one difference for
    /// refused arguments under `mpirun`: the process pauses briefly after printing the message.
    /// Every rank refuses the same flags before MPI starts and exits at once; mpirun then tears the
    /// job down on the first non-zero exit and could drop the ranks' unforwarded standard error, so
    /// a refused run once ended with status 64 and no message at all.
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
            FileHandle.standardError.write(Data((message + "\n").utf8))
            if ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1 > 1 {
                Thread.sleep(forTimeInterval: 0.5)
            }
            Foundation.exit(code.rawValue)
        }
    }
}
