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

    @Option(help: "Comma-separated optimizers: dion:ρ (1/16 or 0.0625), muon, adamw.")
    var optimizers: String = "dion:1/4,dion:1/16,dion:1/64,muon,adamw"

    @Option(help: "Write {\"parameters\", \"records\": […]} to this file.")
    var json: String?

    @Flag(help: "Also print the exact bytes this implementation sends for the weight matrices (ImplementedSchedule: Dion batched, bench comm's layout), the maximum over ranks.")
    var implementedBytes = false

    @Flag(help: "List the network presets and exit.")
    var listNetworks = false

    func run() throws {
        if listNetworks {
            for p in NetworkPreset.all {
                print(String(format: "%-18@ %3d dev/node  intra %6.1f GB/s %4.0f µs  inter %6.2f GB/s %4.0f µs  %7.1f TFLOP/s  %@",
                             p.name as NSString, p.devicesPerNode, p.intraBandwidth / 1e9, p.intraLatency * 1e6,
                             p.interBandwidth / 1e9, p.interLatency * 1e6, p.deviceFlops / 1e12, p.source as NSString))
            }
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
        let costs = choices.map { OptimizerCost.estimate($0, model: description, mesh: meshShape, network: preset) }
        let muon = OptimizerCost.estimate(.muon, model: description, mesh: meshShape, network: preset)
        let muonTotal = muon.commSeconds + muon.computeSeconds
        print(String(format: "%@ (%.2fB parameters) on %@, %@ (%d processes)", description.name as NSString,
                     Double(description.parameters) / 1e9, preset.name as NSString, meshShape.description as NSString,
                     meshShape.processCount))
        print("optimizer      dp MB/rank  fsdp MB/rank  tp MB/rank   comm s   compute s   total s  vs Muon")
        var records: [String] = []
        for (choice, cost) in zip(choices, costs) {
            let label = choice.rankFraction.map { "dion ρ=\(fraction($0))" } ?? choice.name
            let total = cost.commSeconds + cost.computeSeconds
            print(String(format: "%-13@ %11.1f %13.1f %11.1f %8.4f %11.4f %9.4f %7.2fx", label as NSString,
                         (cost.bytesByAxis["dp"] ?? 0) / 1e6, (cost.bytesByAxis["fsdp"] ?? 0) / 1e6,
                         (cost.bytesByAxis["tp"] ?? 0) / 1e6, cost.commSeconds, cost.computeSeconds, total,
                         total / max(muonTotal, 1e-30)))
            records.append(String(format: "{\"optimizer\":\"%@\",\"rank_fraction\":%@,\"mesh\":{\"dp\":%d,\"fsdp\":%d,\"tp\":%d},"
                                  + "\"bytes_sent_per_rank\":%.0f,\"bytes_by_axis\":{\"dp\":%.0f,\"fsdp\":%.0f,\"tp\":%.0f},"
                                  + "\"comm_seconds\":%.6g,\"compute_seconds\":%.6g,\"ratio_to_muon\":%.6g}",
                                  choice.name as NSString, (choice.rankFraction.map { "\($0)" } ?? "null") as NSString,
                                  meshShape.replicate, meshShape.fsdp, meshShape.tp, cost.bytesSent,
                                  cost.bytesByAxis["dp"] ?? 0, cost.bytesByAxis["fsdp"] ?? 0, cost.bytesByAxis["tp"] ?? 0,
                                  cost.commSeconds, cost.computeSeconds, total / max(muonTotal, 1e-30)))
            if choice.rankFraction != nil, cost.commSeconds > muon.commSeconds {
                print("  → \(label) communicates MORE than Muon on this mesh (\(String(format: "%.4f", cost.commSeconds)) s "
                      + "vs \(String(format: "%.4f", muon.commSeconds)) s): under FSDP Dion moves ≈ 2p·r per matrix against "
                      + "Muon's ≈ 2mn/F, so it wins on bytes only when ρ is below ≈ 1/F")
            }
        }
        if implementedBytes {
            let weights = description.matrices.filter { !$0.scalarOptimizer }
                .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
            print("this implementation, weight matrices only (max over ranks; dion bench comm --model measures the same):")
            print("optimizer      dp MB/rank  fsdp MB/rank  tp MB/rank  total MB/rank")
            for choice in choices {
                let bytes = try ImplementedSchedule.bytesSent(choice, matrices: weights, mesh: meshShape)
                let label = choice.rankFraction.map { "dion ρ=\(fraction($0))" } ?? choice.name
                print(String(format: "%-13@ %11.1f %13.1f %11.1f %14.1f", label as NSString, Double(bytes.byAxis["dp"] ?? 0) / 1e6,
                             Double(bytes.byAxis["fsdp"] ?? 0) / 1e6, Double(bytes.byAxis["tp"] ?? 0) / 1e6,
                             Double(bytes.total) / 1e6))
            }
        }
        if let json {
            let text = "{\"parameters\":\(description.parameters),\"model\":\"\(description.name)\",\"network\":\"\(preset.name)\","
                + "\"records\":[\n" + records.joined(separator: ",\n") + "\n]}\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    private func fraction(_ value: Double) -> String {
        let inverse = 1 / value
        return inverse.rounded() == inverse && inverse > 1 ? "1/\(Int(inverse))" : String(format: "%g", value)
    }
}
