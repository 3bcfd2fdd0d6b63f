import DionCore
import Foundation
import Testing
@testable import ClusterModel

@Suite("Cluster model")
struct ClusterModelTests {
    @Test("catalogue parameter counts match the published sizes within 1%",
          arguments: [("llama3-8b", 8.03e9), ("llama3-70b", 70.6e9), ("llama3-405b", 405.9e9)])
    func parameterCounts(name: String, published: Double) throws {
        let model = try ModelDescription.named(name)
        #expect(abs(Double(model.parameters) / published - 1) < 0.01, "\(name): \(model.parameters)")
    }

    @Test("dion-train: the 24 weight matrices of dion train's default model (4 blocks of 4·128² + 2·512·128)")
    func dionTrain() throws {
        let model = try ModelDescription.named("dion-train")
        let weights = model.matrices.filter { !$0.scalarOptimizer }
        let matrices = weights.map(\.count).reduce(0, +)
        let elements = weights.map { $0.rows * $0.columns * $0.count }.reduce(0, +)
        let expected = 4 * (4 * 128 * 128 + 2 * 512 * 128)
        #expect(matrices == 24)
        #expect(elements == expected)
    }

    @Test("the automatic dp sync compresses only when P₀ and R beat the FSDP-sharded gradient (Llama 3 8B, dp=8, fsdp=16)")
    func compressedSyncOnlyWhenCheaper() throws {
        let model = try ModelDescription.named("llama3-8b")
        let weights = model.matrices.filter { !$0.scalarOptimizer }
            .flatMap { Array(repeating: (rows: $0.rows, columns: $0.columns), count: $0.count) }
        let mesh = try MeshShape(parsing: "dp=8,fsdp=16")
        let adamw = try ImplementedSchedule.bytesSent(.adamw, matrices: weights, mesh: mesh).byAxis["dp"] ?? 0
        let quarter = try ImplementedSchedule.bytesSent(.dion(rankFraction: 0.25), matrices: weights, mesh: mesh).byAxis["dp"] ?? 0
        let small = try ImplementedSchedule.bytesSent(.dion(rankFraction: 1.0 / 64), matrices: weights, mesh: mesh).byAxis["dp"] ?? 0
        // ρ = 1/4: (p + q/16)·r exceeds the 1/16 gradient shard, so the gradient is averaged (AdamW's bytes
        // plus the finiteness flags, which AdamW sends on the world, not dp).
        #expect(quarter == adamw)
        #expect(small < adamw / 4)
    }

    @Test("GPT-160M: 12 blocks of 4d² + 8d², an untied 50304×768 embedding and head, 25 norm gains (≈ 162M)")
    func gpt160m() throws {
        let model = try ModelDescription.named("gpt-160m")
        #expect(model.parameters == 12 * (4 * 768 * 768 + 2 * 3072 * 768) + 2 * 50304 * 768 + 25 * 768)
    }

    @Test("α–β times of each collective against hand-computed values")
    func collectiveTimes() {
        // All-reduce of 8 MB over 4 ranks at 1 GB/s, 10 µs: min(3, 2) = 2 log steps → 2·2·10 µs + 2·3/4·8 MB / 1 GB/s.
        let ar = CollectiveTime.seconds(.allReduce, bytes: 8e6, ranks: 4, bandwidth: 1e9, latency: 10e-6)
        #expect(abs(ar - (40e-6 + 0.012)) < 1e-12)
        // Reduce-scatter of 8 MB over 8 ranks: 3 steps·α + 7/8·8 MB/β.
        let rs = CollectiveTime.seconds(.reduceScatter, bytes: 8e6, ranks: 8, bandwidth: 1e9, latency: 10e-6)
        #expect(abs(rs - (30e-6 + 0.007)) < 1e-12)
        // All-to-all over 8 ranks: 7 pairwise steps.
        let a2a = CollectiveTime.seconds(.allToAll, bytes: 8e6, ranks: 8, bandwidth: 1e9, latency: 10e-6)
        #expect(abs(a2a - (70e-6 + 0.007)) < 1e-12)
        #expect(CollectiveTime.seconds(.allReduce, bytes: 8e6, ranks: 1, bandwidth: 1e9, latency: 1) == 0)
    }

    @Test("an axis that fits in a node runs on the intra-node link")
    func placement() throws {
        let h100 = try NetworkPreset.named("h100-nvlink-ib400")
        let mesh = try MeshShape(replicate: 2, fsdp: 4, tp: 2)
        #expect(h100.link(.tp, mesh: mesh).bandwidth == 450e9)
        #expect(h100.link(.fsdp, mesh: mesh).bandwidth == 450e9)   // 4·2 = 8 per node
        #expect(h100.link(.replicate, mesh: mesh).bandwidth == 50e9)
    }

    @Test("Dion's FSDP bytes follow §2.2: 2(F−1)/F·(p·r + 2r) per matrix (column sums in fp64)")
    func dionFSDPBytes() throws {
        let model = try ModelDescription.shapes("1024x512")
        let mesh = try MeshShape(fsdp: 4)
        let network = try NetworkPreset.named("local-shm")
        let cost = OptimizerCost.estimate(.dion(rankFraction: 0.25), model: model, mesh: mesh, network: network)
        let (p, r) = (512.0, 128.0)  // FSDP on dim 0 works on Mᵀ: p = n
        #expect(abs((cost.bytesByAxis["fsdp"] ?? 0) - 2 * 0.75 * (p * r * 4 + r * 8)) < 1e-6)
        let muon = OptimizerCost.estimate(.muon, model: model, mesh: mesh, network: network)
        #expect(abs((muon.bytesByAxis["fsdp"] ?? 0) - 2 * 0.75 * 1024 * 512 / 4 * 4) < 1e-6)
        let adam = OptimizerCost.estimate(.adamw, model: model, mesh: mesh, network: network)
        #expect(adam.bytesSent == 0)
    }

    @Test("bad presets, models, shapes and optimizers are rejected clearly")
    func badInput() throws {
        #expect(throws: ClusterModelError.self) { try NetworkPreset.named("tpu-v9") }
        #expect(throws: ClusterModelError.self) { try ModelDescription.named("llama3-1t") }
        #expect(throws: ClusterModelError.self) { try ModelDescription.shapes("4096by1024") }
        #expect(throws: OptimizerChoiceError.self) { try SimulatedOptimizer.parse("dion:2") }
        #expect(throws: OptimizerChoiceError.self) { try SimulatedOptimizer.parse("sgd") }
        #expect(throws: OptimizerChoiceError.self) { try SimulatedOptimizer.parse("dion:1e-300") }
        #expect(throws: OptimizerChoiceError.self) { try SimulatedOptimizer.parse("dion:1/0") }
        #expect(throws: OptimizerChoiceError.self) { try SimulatedOptimizer.parse("dion:nan") }
        #expect(try SimulatedOptimizer.parse("dion:1/16") == .dion(rankFraction: 0.0625))
    }

    @Test("model descriptions from users are range-checked: negative, zero, huge and overflowing sizes are refused")
    func descriptionValidation() throws {
        func model(_ rows: Int, _ columns: Int, _ count: Int, vectors: Int = 0) -> Data {
            Data("{\"name\":\"m\",\"matrices\":[{\"name\":\"w\",\"rows\":\(rows),\"columns\":\(columns),\"count\":\(count),\"scalarOptimizer\":false}],\"vectorParameters\":\(vectors)}".utf8)
        }
        #expect(try ModelDescription.fromJSON(model(4096, 1024, 32)).parameters == 4096 * 1024 * 32)
        for (rows, columns, count, vectors) in [(-4096, 1024, 1, 0), (4096, 0, 1, 0), (4096, 1024, -3, 0), (1 << 40, 1, 1, 0),
                                                 (1 << 24, 1 << 24, 1 << 24, 0), (16, 16, 1, -1), (16, 16, 1, Int.max)] {
            #expect(throws: ClusterModelError.self, "\(rows)x\(columns)x\(count)+\(vectors)") {
                try ModelDescription.fromJSON(model(rows, columns, count, vectors: vectors))
            }
        }
        #expect(throws: ClusterModelError.self) { try ModelDescription.shapes("99999999999999999999x4") }
        #expect(throws: ClusterModelError.self) { try ModelDescription.shapes("x4") }
    }

    @Test("the report keeps exact integers, survives odd names, and its reference half is OptimizerCost's")
    func report() throws {
        let mesh = try MeshShape(replicate: 2, fsdp: 2, tp: 2)
        let network = try NetworkPreset.named("h100-nvlink-ib400")
        let model = try ModelDescription.fromJSON(Data(#"{"name":"my \"model\"","matrices":[{"name":"w","rows":130,"columns":70,"count":3,"scalarOptimizer":false}],"vectorParameters":0}"#.utf8))
        let report = try SimulationReport.make(model: model, mesh: mesh, network: network, optimizers: [.dion(rankFraction: 0.25), .muon])
        let decoded = try JSONDecoder().decode(SimulationReport.self, from: try JSONEncoder().encode(report))
        #expect(decoded == report)
        let dion = report.records[0]
        let reference = OptimizerCost.estimate(.dion(rankFraction: 0.25), model: model, mesh: mesh, network: network)
        #expect(dion.reference.bytes_sent_per_rank == Int(reference.bytesSent.rounded()))
        #expect(dion.reference.comm_seconds == reference.commSeconds)
        let implemented = try ImplementedSchedule.bytesSent(.dion(rankFraction: 0.25), matrices: Array(repeating: (130, 70), count: 3),
                                                            mesh: mesh)
        #expect(dion.implemented.bytes_sent_per_rank == implemented.total && implemented.total > 0)
    }
}
