// The cluster model as a library: describe your own model as a list of weight-matrix shapes, pick
// a cluster preset and a mesh, and compare what one optimizer step of Dion, Muon and AdamW costs —
// this implementation's exact bytes per rank (the step plans `dion bench comm` measures) and the
// α–β time on the preset's links. Pure Swift: `ClusterModel` needs no MPI and no BLAS.
//
//   swift run simulate-my-model [--network h100-nvlink-ib400] [--mesh dp=4,fsdp=8]
import ClusterModel
import Foundation

/// A command-line option this example does not accept.
struct SimulateOptionsError: Error, CustomStringConvertible {
    let description: String
}

/// `--network NAME` and `--mesh dp=R,fsdp=F,tp=T`, with their defaults.
func options(_ arguments: [String]) throws -> (network: NetworkPreset, mesh: MeshShape) {
    var network = "h100-nvlink-ib400", mesh = "dp=4,fsdp=8"
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        guard let value = rest.popFirst() else { throw SimulateOptionsError(description: "\(flag) needs a value") }
        switch flag {
        case "--network": network = value
        case "--mesh": mesh = value
        default: throw SimulateOptionsError(description: "unknown option \(flag); use --network NAME, --mesh dp=R,fsdp=F,tp=T")
        }
    }
    return (try NetworkPreset.named(network), try MeshShape(parsing: mesh))
}

/// `1/16` for 0.0625.
func fraction(_ rho: Double) -> String { rho < 1 ? "1/\(Int((1 / rho).rounded()))" : "1" }

/// `text` padded with spaces to `width` characters (`String(format:)` pads by UTF-16 units).
func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(width - text.count, 0)) }

do {
    let (network, mesh) = try options(Array(CommandLine.arguments.dropFirst()))

    // Your model: a 24-layer vision transformer (ViT-L/16 sized, d = 1024, MLP 4096) as weight
    // matrices (out × in) with a count each. The patch embedding and the head go to the scalar
    // optimizer (AdamW) in every run, as in `dion train`; the vectors only count parameters.
    let layers = 24, d = 1024
    let model = try ModelDescription(name: "my-vit-large", matrices: [
        .init(name: "attn.qkv", rows: 3 * d, columns: d, count: layers),
        .init(name: "attn.out", rows: d, columns: d, count: layers),
        .init(name: "mlp.up", rows: 4 * d, columns: d, count: layers),
        .init(name: "mlp.down", rows: d, columns: 4 * d, count: layers),
        .init(name: "patch-embed", rows: d, columns: 16 * 16 * 3, count: 1, scalarOptimizer: true),
        .init(name: "head", rows: 1000, columns: d, count: 1, scalarOptimizer: true),
    ], vectorParameters: layers * 13 * d).validated()

    let optimizers: [SimulatedOptimizer] = [.dion(rankFraction: 1 / 4), .dion(rankFraction: 1 / 16), .muon, .adamw]
    let report = try SimulationReport.make(model: model, mesh: mesh, network: network, optimizers: optimizers)
    print(String(format: "%@: %.1f M parameters (%.1f M in the weight matrices) on %@, %@",
                 report.model as NSString, Double(report.parameters) / 1e6,
                 Double(report.weight_matrix_parameters) / 1e6, network.name as NSString, mesh.description as NSString))
    print("optimizer     bytes sent/rank/step   dp bytes   fsdp bytes   comm ms  compute ms  time vs Muon")
    for record in report.records {
        let step = record.implemented
        let name = record.rank_fraction.map { "dion ρ=\(fraction($0))" } ?? record.optimizer
        print(padded(name, 13) + String(format: " %20lld %10lld %12lld %9.3f %11.3f %12.2fx",
                     Int64(step.bytes_sent_per_rank), Int64(step.bytes_by_axis["dp"] ?? 0),
                     Int64(step.bytes_by_axis["fsdp"] ?? 0), step.comm_seconds * 1e3, step.compute_seconds * 1e3,
                     step.ratio_to_muon))
    }

    // The same exact plans, one level down: how the bytes of Dion (ρ = 1/16) and Muon grow as the
    // weight matrices are sharded over more FSDP ranks (dp fixed, bytes of the busiest rank).
    let weights = model.matrices.filter { !$0.scalarOptimizer }
        .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
    print("\nbytes sent per rank per step as fsdp grows (dp = \(mesh.replicate)):")
    print("fsdp   dion ρ=1/16          muon   dion/muon")
    for fsdp in [1, 2, 4, 8, 16] {
        let shape = try MeshShape(replicate: mesh.replicate, fsdp: fsdp)
        let dion = try ImplementedSchedule.bytesSent(.dion(rankFraction: 1 / 16), matrices: weights, mesh: shape)
        let muon = try ImplementedSchedule.bytesSent(.muon, matrices: weights, mesh: shape)
        print(String(format: "%4d %13lld %13lld %11.3f", fsdp, Int64(dion.total), Int64(muon.total),
                     Double(dion.total) / Double(max(muon.total, 1))))
    }
} catch {
    FileHandle.standardError.write(Data("simulate-my-model: error: \(error)\n".utf8))
    exit(1)
}
