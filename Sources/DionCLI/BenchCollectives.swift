import ArgumentParser
import MPIShim

struct BenchCollectives: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives",
        abstract: "All-reduce, reduce-scatter and all-gather bandwidth, 4 KiB to 64 MiB.")
    func run() throws { print(_probe()) }
}
