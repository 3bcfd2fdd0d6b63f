import DionDistributed
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `--wire bf16` against `--wire fp32`: one step of Muon, Dion2 (exact, global, local), NorDion2
/// (exact) and NorMuon from the same state on every layout of the mesh, for the uneven batch of
/// `runDion2Equivalence` (130×70, 70×130, 3×5, 130×70).
///
/// The gradients are rounded to bfloat16 first and the state is zero, so U (= the gradient, no
/// Nesterov) crosses the wire unchanged and the only rounding is of O, by at most u = 2⁻⁸ relative
/// per element (`WirePrecision.unitRoundoff`). Hence, with no weight decay, per element of the
/// update d = X₁ − X₀:
/// - Muon, Dion2: |d_bf16 − d_fp32| ≤ u·|d_fp32| + 4 ulp(max|X|) (X₁ = X₀ − η·s·O);
/// - NorMuon, NorDion2: ≤ 6u·|d_fp32| + 4 ulp: O/(√V + ε) with V from the mean of O² moves by at most
///   2u, the Frobenius rescale ‖O‖/‖Ô‖ by at most 3u, 5u to first order.
/// Bytes: the bf16 step's ledger equals its plan on every axis; the bfloat16 records carry exactly
/// the bytes the plan gives its `wire` collectives; and the fp32 step sends exactly twice those
/// bytes more than the bf16 step (the matrix data at 4 bytes instead of 2, everything else equal).
func runWireChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let generator = KeyedNormalGenerator(seed: 8)
    let shapes = [(130, 70), (70, 130), (3, 5), (130, 70)]
    let u = Float(WirePrecision.bf16.unitRoundoff)
    var worst: Float = 0
    var crossed = 0
    for layout in dionLayouts(for: mesh.shape) {
        let x0 = try generator.scattered(shapes, stream: { UInt64(40 + $0) }, layout: layout, mesh: mesh)
        let gs = try generator.scattered(shapes, stream: { UInt64(60 + $0) }, layout: layout, mesh: mesh,
                                         transform: BFloat16.rounded)
        for variant in WireVariant.all(for: layout) {
            var results: [WirePrecision: (x: [[Float]], bytes: Int, bf16Bytes: Int)] = [:]
            for wire in WirePrecision.allCases {
                var xs = x0
                let before = CommunicationLedger.shared.recordCount
                let plan = try variant.step(&xs, gs, wire: wire, mesh: mesh)
                let records = Array(CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - before))
                for label in ["world", "dp", "fsdp", "tp"] {
                    try checker.expect(records.filter { $0.communicator == label }.reduce(0) { $0 + $1.bytesSent },
                                       plan.filter { ($0.axis?.label ?? "world") == label }.reduce(0) { $0 + $1.bytesSent },
                                       "\(variant) \(layout) wire \(wire): bytes on \(label) equal the plan")
                }
                let wireBytes = records.filter { $0.datatype == .bfloat16 }.reduce(0) { $0 + $1.bytesSent }
                try checker.expect(wireBytes, wire == .bf16 ? plan.filter { $0.wire == .bf16 }.reduce(0) { $0 + $1.bytesSent } : 0,
                                   "\(variant) \(layout) wire \(wire): bfloat16 bytes equal the plan's wire collectives")
                try checker.expect(plan.allSatisfy { $0.wire == nil || ($0.wire == wire && $0.elementSize == wire.elementSize) },
                                   true, "\(variant) \(layout) wire \(wire): planned wire collectives in \(wire)")
                results[wire] = (try xs.map { try $0.gathered(on: mesh) }, records.reduce(0) { $0 + $1.bytesSent }, wireBytes)
            }
            guard let fp32 = results[.fp32], let bf16 = results[.bf16] else { continue }
            try checker.expect(fp32.bytes - bf16.bytes, bf16.bf16Bytes,
                               "\(variant) \(layout): the fp32 step sends the bf16 step's wire bytes twice")
            crossed += bf16.bf16Bytes
            let factor: Float = variant.normalizes ? 6 * u : u
            for i in shapes.indices {
                let start = try x0[i].gathered(on: mesh)
                let slack = 4 * (start.map(abs).max() ?? 1).ulp
                var ratio: Float = 0
                for j in start.indices {
                    let d32 = fp32.x[i][j] - start[j], d16 = bf16.x[i][j] - start[j]
                    ratio = max(ratio, abs(d16 - d32) / (factor * abs(d32) + slack))
                }
                worst = max(worst, ratio)
                try checker.expect(ratio <= 1, true, "\(variant) \(layout) matrix \(i): bf16 update off by \(ratio)× the bound")
            }
        }
    }
    let total = try world.allReduced([Double(crossed)], op: .sum)[0]
    try checker.expect(mesh.shape.processCount == 1 ? total == 0 : total > 0, true,
                       "bfloat16 bytes crossed the wire on \(text): \(total)")
    if world.rank == 0 { print("wire \(text): worst bf16 deviation / bound = \(worst), bfloat16 bytes over ranks \(Int(total))") }
    try world.barrier()
}

/// One optimizer of the wire checks: weight decay 0, no Nesterov, η = 0.02.
struct WireVariant: CustomStringConvertible {
    let selective: SelectiveVariant?

    static func all(for layout: ShardLayout) -> [WireVariant] {
        [WireVariant(selective: nil)] + [SelectiveVariant(kind: .dion2, mode: .exact), SelectiveVariant(kind: .dion2, mode: .global),
                                         SelectiveVariant(kind: .dion2, mode: .local), SelectiveVariant(kind: .norDion2, mode: .exact),
                                         SelectiveVariant(kind: .norMuon, mode: .exact)]
            .filter { $0.mode != .local || layout.rows.axis != nil && layout.columns.axis != nil }
            .map { WireVariant(selective: $0) }
    }

    var description: String { selective.map { "\($0)" } ?? "muon" }
    var normalizes: Bool { selective.map { $0.kind != .dion2 } ?? false }

    /// Steps `xs` once from zero state; returns the step's plan.
    func step(_ xs: inout [ShardedMatrix], _ gs: [ShardedMatrix], wire: WirePrecision,
              mesh: DeviceMesh) throws -> [PlannedCollective] {
        let rates = [Float](repeating: 0.02, count: xs.count)
        guard let selective else {
            let muon = DistributedMuon(try Muon.Configuration(weightDecay: 0, nesterov: false), wire: wire)
            var plan: [PlannedCollective] = []
            for i in xs.indices {
                var state = try muon.initialState(for: xs[i], parameterID: UInt64(i), mesh: mesh)
                _ = try muon.step(parameter: &xs[i], gradient: gs[i], state: &state, learningRate: rates[i], mesh: mesh)
                plan += muon.plannedCollectives(for: xs[i], parameterID: UInt64(i), mesh: mesh)
            }
            return plan
        }
        let optimizer: any DistributedSelectiveOptimizer = switch selective.kind {
        case .dion2: DistributedDion2(try Dion2.Configuration(fraction: 0.25, weightDecay: 0, selection: selective.mode), wire: wire)
        case .norDion2: DistributedNorDion2(try NorDion2.Configuration(fraction: 0.25, weightDecay: 0, selection: selective.mode),
                                            wire: wire)
        case .norMuon: DistributedNorMuon(try NorMuon.Configuration(weightDecay: 0, nesterov: false), wire: wire)
        }
        var states = try xs.map { try optimizer.initialState(for: $0, mesh: mesh) }
        _ = try optimizer.step(parameters: &xs, gradients: gs, states: &states, learningRates: rates, mesh: mesh)
        return optimizer.plannedCollectives(forBatch: xs, states: states, mesh: mesh)
    }
}
