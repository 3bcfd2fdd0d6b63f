import ArgumentParser
import ClusterModel
import Foundation
import Sharding

/// `dion simulate`: projects one optimizer step of a model to a cluster with the α–β network
/// model and a FLOP/bandwidth compute model. Needs no MPI.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Project an optimizer step to a cluster: bytes per rank per axis, communication and compute time.")

    @Option(help: "A catalogue model: dion-train, gpt-160m, llama3-8b, llama3-70b, llama3-405b.")
    var model: String?

    @Option(help: "Instead of --model: comma-separated MxN shapes (as dion bench comm).")
    var shapes: String?

    @Option(help: "Instead of --model: a JSON model description (see docs/simulation.md).")
    var modelJson: String?

    @Option(help: "Mesh dp=R,fsdp=F,tp=T.")
    var mesh: String = "dp=1,fsdp=8,tp=1"

    @Option(help: "Network preset (see --list-networks).")
    var network: String = "h100-nvlink-ib400"

    @Option(help: "Comma-separated optimizers: dion:ρ (1/16 or 0.0625), muon, adamw, dion2:α, nordion2:α, normuon.")
    var optimizers: String = "dion:1/4,dion:1/16,dion:1/64,muon,adamw"

    @Option(help: "Dion2's and NorDion2's selection: exact, global (priced with the k slices spread over shards in proportion to their sizes) or local.")
    var selection: String = "exact"

    @Option(help: "Wire format of the optimizer collectives of muon, dion2, normuon and nordion2: fp32 or bf16.")
    var wire: String = "fp32"

    @Option(help: "Write the report (both schedules, exact bytes) as JSON to this file.")
    var json: String?

    @Option(help: "implemented (default): this program's exact step plans; reference: also the Dion reference's batched schedule.")
    var schedule: ScheduleChoice = .implemented

    @Flag(help: "List the network presets and exit.")
    var listNetworks = false

    enum ScheduleChoice: String, ExpressibleByArgument, CaseIterable {
        case implemented, reference
    }

    func run() throws {
        if listNetworks {
            for p in NetworkPreset.all {
                print(String(format: "%-18@ %3d dev/node  intra %6.1f GB/s %4.0f µs  inter %6.2f GB/s %4.0f µs  %7.1f TFLOP/s  %@",
                             p.name as NSString, p.devicesPerNode, p.intraBandwidth / 1e9, p.intraLatency * 1e6,
                             p.interBandwidth / 1e9, p.interLatency * 1e6, p.deviceFlops / 1e12, p.source as NSString))
            }
            print("emulated:RATE[:SLOTS]  the emulated cluster of Scripts/cluster.sh (e.g. emulated:1gbit:2)")
            return
        }
        let description: ModelDescription
        switch (model, shapes, modelJson) {
        case (let name?, nil, nil): description = try ModelDescription.named(name)
        case (nil, let text?, nil): description = try ModelDescription.shapes(text)
        case (nil, nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            description = try ModelDescription.fromJSON(data)
        default: throw ValidationError("give exactly one of --model, --shapes, --model-json")
        }
        let meshShape = try MeshShape(parsing: mesh)
        let preset = try NetworkPreset.named(network)
        let choices = try optimizers.split(separator: ",").map { try SimulatedOptimizer.parse(String($0)) }
        guard let routing = SelectiveRouting(rawValue: selection), routing != .whole else {
            throw ValidationError("--selection must be exact, global or local")
        }
        let report = try SimulationReport.make(model: description, mesh: meshShape, network: preset, optimizers: choices,
                                               routing: routing, wire: try WirePrecision.parse(wire))
        print(String(format: "%@ (%.2fB parameters) on %@, %@ (%d processes)", description.name as NSString,
                     Double(description.parameters) / 1e9, preset.name as NSString, meshShape.description as NSString,
                     meshShape.processCount))
        print("wire \(report.wire)" + (choices.contains { $0.selectionFraction != nil } ? ", selection \(routing.rawValue)" : ""))
        print("this implementation (exact step plans, weight matrices, max over ranks; dion bench comm measures the same):")
        printTable(report, \.implemented)
        if schedule == .reference {
            print("the Dion reference's batched schedule (real-valued volumes, embeddings and heads by AdamW included):")
            printTable(report, \.reference)
        }
        if let json {
            try JSONOutput.write(report, to: json)
            print("wrote \(json)")
        }
    }

    private func printTable(_ report: SimulationReport, _ which: KeyPath<SimulationReport.Record, SimulationReport.Schedule>) {
        print("optimizer        dp bytes/rank  fsdp bytes/rank  tp bytes/rank  world bytes/rank   comm s   compute s  vs Muon")
        for record in report.records {
            let s = record[keyPath: which]
            let label = record.rank_fraction.map { "dion ρ=\(fraction($0))" }
                ?? record.fraction.map { "\(record.optimizer) α=\(fraction($0))" } ?? record.optimizer
            // Padded in Swift: String(format:)'s %-15@ does not pad on Linux.
            print(label.padding(toLength: 15, withPad: " ", startingAt: 0)
                  + String(format: " %14lld %16lld %14lld %17lld %8.4f %11.4f %7.2fx",
                         Int64(s.bytes_by_axis["dp"] ?? 0), Int64(s.bytes_by_axis["fsdp"] ?? 0),
                         Int64(s.bytes_by_axis["tp"] ?? 0), Int64(s.bytes_by_axis["world"] ?? 0), s.comm_seconds,
                         s.compute_seconds, s.ratio_to_muon))
        }
    }

    private func fraction(_ value: Double) -> String {
        let inverse = 1 / value
        return inverse.rounded() == inverse && inverse > 1 ? "1/\(Int(inverse))" : String(format: "%g", value)
    }
}
