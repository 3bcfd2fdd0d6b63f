import ArgumentParser

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
}
