import ArgumentParser

/// `dion bench …`: benchmarks. Run them with `swift run -c release` builds under `mpirun`.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of collectives and optimizer steps.",
        subcommands: [
            BenchCollectives.self,
            BenchOptimizer.self,
            BenchComm.self,
            BenchModel.self,
        ]
    )
}
