import ArgumentParser
import ClusterModel
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding
import Training

/// `dion bench comm`: real distributed optimizer steps on a mesh; bytes per rank per step from
/// the ledger beside the formula's prediction, collectives per step, step and communication time.
struct BenchComm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "Distributed optimizer steps on a mesh: measured vs predicted bytes per rank, collectives, time (run under mpirun).")

    @Option(help: "Mesh dp=R,fsdp=F,tp=T (product = processes); default dp=<processes>.")
    var mesh: String?

    @Option(help: "Comma-separated MxN shapes.")
    var shapes: String = "1024x1024,2048x512,512x2048"

    @Option(help: "Instead of --shapes: every weight matrix of a named model (dion simulate --model names), stepped together (Dion as one batch).")
    var model: String?

    @Option(help: "Comma-separated optimizers: dion:ρ (ρ a decimal or 1/k), muon, adamw, dion2:α, nordion2:α, normuon.")
    var optimizers: String = "dion:0.25,dion:0.0625,muon,adamw"

    @Option(help: "replicated, fsdp, column or row (tensor parallel over tp, columns/rows over fsdp when the mesh has it); default column with tp > 1, else fsdp with fsdp > 1, else replicated.")
    var layout: LayoutName?

    @Option(help: "Dion's data-parallel sync: automatic, compressed or uncompressed.")
    var sync: DionDataParallelSync = .automatic

    @Option(help: "Dion2's and NorDion2's selection: exact (whole-matrix top-k, only selected slices move), global or local (the reference's two scopes).")
    var selection: SelectionMode = .exact

    @Option(help: "Wire format of the optimizer collectives of muon, dion2, normuon and nordion2: fp32 or bf16 (half the bytes).")
    var wire: String = "fp32"

    @Option(help: "Timed steps per case (after one warm-up step).")
    var steps: Int = 3

    @Option(help: "Write one JSON record per (optimizer, shape) to this file (rank 0).")
    var json: String?

    @Flag(help: "Fail unless every case's measured bytes equal the prediction.")
    var check = false

    @Option(help: "Also time every collective on this simulated cluster (see dion simulate --list-networks).")
    var simulateNetwork: String?

    func run() throws {
        FailFast.run {
            BLASThreads.configureForProcess()
            let world = try MPIRuntime.world()
            let shape = try MeshShape(parsing: mesh ?? "dp=\(world.size)")
            let deviceMesh = try DeviceMesh(shape: shape, world: world)
            let chosenLayout = (layout ?? LayoutName.defaultLayout(on: shape)).layout(on: shape)
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
            let cases = try CommBenchCase.parse(optimizers: optimizers, shapes: shapes,
                                                model: try model.map { name throws(ClusterModelError) in try ModelDescription.named(name) })
            if let simulateNetwork {
                SimulatedNetwork(preset: try NetworkPreset.named(simulateNetwork), mesh: shape).attach(to: .shared)
            }
            var runner = CommBenchRunner(mesh: deviceMesh, layout: chosenLayout, sync: sync, steps: steps)
            runner.selection = selection
            runner.wire = try WirePrecision.parse(wire)
            if world.rank == 0 {
                print("dion bench comm: mesh \(shape), layout \(chosenLayout), wire \(runner.wire.rawValue), \(steps) steps per case")
                print(CommBenchResult.header + (simulateNetwork.map { "  simulated comm ms on \($0)" } ?? ""))
            }
            var records: [CommBenchRecord] = []
            for benchCase in cases {
                let result = try runner.run(benchCase)
                if check && result.bytesSent != result.predictedSent {
                    throw ValidationError("\(benchCase.name) \(benchCase.label): measured "
                                          + "\(result.bytesSent) bytes per rank per step, predicted \(result.predictedSent)")
                }
                if world.rank == 0 {
                    print(result.row + (simulateNetwork == nil ? "" : String(format: " %12.3f", result.simulatedSeconds * 1e3)))
                    records.append(result.record(mesh: shape, selection: runner.selection, wire: runner.wire))
                }
            }
            if world.rank == 0, let json {
                try JSONOutput.write(records, to: json)
                print("wrote \(json)")
            }
        }
    }
}
