import Foundation
import DionDistributed
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Distributed Dion2, NorDion2 and NorMuon against one process, three steps of a batch of uneven
/// shapes (130×70 selects columns, 70×130 rows, 3×5 leaves shards empty, and a second 130×70 shares
/// a batch slot) on every layout the mesh supports, for each selection mode:
/// - `exact` and `global`: the same selected indices as the single-process optimizer, and the
///   gathered weights within 1e-5 of the step's update (plus 4 ulp of |X|);
/// - `local`: equal, in the same bound, to `LocalReference` — one process applying the same
///   per-shard rule — or refused on every rank where the layout does not shard the selection;
/// - every step's bytes per axis equal `StepPlan.selective` for the selection the step recorded;
/// - `exact` moves no more than the selected slices (to the owner and back: 2·k·q floats per matrix
///   over all all-to-alls) plus score collectives of at most one fp64 scalar per slice per matrix.
func runDion2Equivalence(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let generator = KeyedNormalGenerator(seed: 16)
    let shapes = [(130, 70), (70, 130), (3, 5), (130, 70)]
    var worst: Float = 0
    for layout in dionLayouts(for: mesh.shape) {
        for variant in SelectiveVariant.all {
            let optimizer = try variant.distributed()
            let x0 = shapes.enumerated().map { i, s in generator.matrix(stream: UInt64(20 + i), rows: s.0, columns: s.1) }
            var xs = try x0.map { try ShardedMatrix(scattering: $0.elements, rows: $0.rows, columns: $0.columns, layout: layout, mesh: mesh) }
            var reference = try x0.map { try LocalReference(variant, parameter: $0, layout: layout, mesh: mesh.shape) }
            guard variant.mode != .local || reference.allSatisfy(\.layoutShardsSelection) else {
                try checker.expectThrowsAny("\(variant) on \(layout) is refused (the selection dimension has no shards)") {
                    for x in xs { _ = try optimizer.initialState(for: x, mesh: mesh) }
                }
                continue
            }
            var states = try xs.map { try optimizer.initialState(for: $0, mesh: mesh) }
            defer { if world.rank == 0, ProcessInfo.processInfo.environment["DION2_TRACE"] != nil { print("\(variant) \(layout): \(checker.passed)") } }
            for step in 0..<3 {
                let gs = try generator.scattered(shapes, stream: { UInt64(100 + 10 * $0 + step) }, layout: layout, mesh: mesh)
                let before = CommunicationLedger.shared.recordCount
                let outcomes = try optimizer.step(parameters: &xs, gradients: gs, states: &states,
                                                  learningRates: [Float](repeating: 0.02, count: xs.count), mesh: mesh)
                let records = Array(CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - before))
                try checker.expect(outcomes, [StepOutcome](repeating: .applied, count: xs.count), "\(variant) \(layout) step \(step) applied")
                let plan = optimizer.plannedCollectives(forBatch: xs, states: states, mesh: mesh)
                for label in ["world", "dp", "fsdp", "tp"] {
                    try checker.expect(records.filter { $0.communicator == label }.reduce(0) { $0 + $1.bytesSent },
                                       plan.filter { ($0.axis?.label ?? "world") == label }.reduce(0) { $0 + $1.bytesSent },
                                       "\(variant) \(layout) step \(step): bytes on \(label) equal the plan")
                }
                try checker.expect(records.count <= 16, true, "\(variant) \(layout): a batch of \(xs.count) issues \(records.count) collectives")
                if variant.mode == .exact && variant.kind != .norMuon { try checkExactTraffic(records, states, xs, variant, &checker) }
                for i in xs.indices {
                    let previous = reference[i].x
                    try reference[i].step(gradient: try Matrix(rows: gs[i].rows, columns: gs[i].columns, elements: try gs[i].gathered(on: mesh)))
                    if variant.mode != .local && variant.kind != .norMuon {
                        try checker.expect(states[i].selected, reference[i].selected, "\(variant) \(layout) matrix \(i) step \(step): selection")
                    }
                    let gathered = try xs[i].gathered(on: mesh)
                    let update = zip(reference[i].x.elements, previous.elements).map { abs($0 - $1) }.max() ?? 0
                    let error = zip(gathered, reference[i].x.elements).map { abs($0 - $1) }.max() ?? 0
                    let bound = 1e-5 * update + 4 * (reference[i].x.elements.map(abs).max() ?? 1).ulp
                    worst = max(worst, error / bound)
                    try checker.expect(error <= bound, true, "\(variant) \(layout) matrix \(i) step \(step): error \(error) > \(bound)")
                }
            }
        }
    }
    if world.rank == 0 { print("dion2-equivalence \(text): worst error / bound = \(worst)") }
    try runDion2Refusals(mesh, &checker)
    try world.barrier()
}

/// `exact`: the all-to-alls carry no more than the selected slices to the owner and back (2·k·q
/// floats per matrix), and every score collective's message is at most one fp64 scalar per slice
/// per matrix.
func checkExactTraffic(_ records: [CollectiveRecord], _ states: [DistributedSelective.State], _ xs: [ShardedMatrix],
                       _ variant: SelectiveVariant, _ checker: inout Checker) throws {
    var slices = 0, selected = 0
    for (x, state) in zip(xs, states) {
        let (p, q) = state.dimension == .rows ? (x.rows, x.columns) : (x.columns, x.rows)
        slices += p
        selected += state.selected.count * q
    }
    let moved = records.filter { $0.operation == .allToAll || ($0.operation == .allGather && $0.communicator == "world") }
        .reduce(0) { $0 + $1.bytesSent }
    try checker.expect(moved <= 2 * 4 * selected, true, "\(variant): \(moved) bytes of slices for \(selected) selected elements")
    let scores = records.filter { $0.datatype == .float64 }
    try checker.expect(scores.allSatisfy { $0.elementCount <= slices }, true,
                       "\(variant): score collectives of \(scores.map(\.elementCount)) scalars for \(slices) slices")
}

/// Bad input: α outside (0, 1] and a mode or layout the step cannot serve are refused on every rank.
func runDion2Refusals(_ mesh: DeviceMesh, _ checker: inout Checker) throws {
    for alpha in [0.0, -0.5, 1.5, .nan] {
        try checker.expectThrowsAny("Dion2 fraction \(alpha) refused") { _ = try Dion2.Configuration(fraction: alpha) }
        try checker.expectThrowsAny("NorDion2 fraction \(alpha) refused") { _ = try NorDion2.Configuration(fraction: alpha) }
    }
    let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 8 * 12), rows: 8, columns: 12, layout: .replicated, mesh: mesh)
    if mesh.shape.fsdp > 1 {
        // A matrix replicated over fsdp ranks (which see different data) cannot be stepped.
        try checker.expectThrowsAny("NorDion2 on a replicated layout over fsdp refused") {
            _ = try DistributedNorDion2(try NorDion2.Configuration()).initialState(for: x, mesh: mesh)
        }
    } else {
        try checker.expectThrowsAny("Dion2 local on an unsharded layout refused") {
            _ = try DistributedDion2(try Dion2.Configuration(selection: .local)).initialState(for: x, mesh: mesh)
        }
    }
    let empty = try ShardedMatrix(scattering: [], rows: 0, columns: 4, layout: .replicated, mesh: mesh)
    try checker.expectThrowsAny("NorMuon on an empty matrix refused") {
        _ = try DistributedNorMuon(try NorMuon.Configuration()).initialState(for: empty, mesh: mesh)
    }
}

/// Bad input left uncaught, so `FailFast` reports it on every rank and ends the job: `fraction`
/// (α = 0), `local` (local selection on the replicated layout), `layout` (NorDion2 on a layout
/// replicated over fsdp ranks, or on the replicated layout without fsdp). Each rank then takes a
/// step, which must never be reached.
func runDion2BadInput(_ world: Communicator, what: String, mesh text: String) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    var x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 8 * 12), rows: 8, columns: 12, layout: .replicated, mesh: mesh)
    let optimizer: any DistributedSelectiveOptimizer
    switch what {
    case "fraction": optimizer = DistributedDion2(try Dion2.Configuration(fraction: 0))
    case "local": optimizer = DistributedDion2(try Dion2.Configuration(selection: .local))
    default: optimizer = DistributedNorDion2(try NorDion2.Configuration(selection: mesh.shape.fsdp > 1 ? .exact : .local))
    }
    var state = try optimizer.initialState(for: x, mesh: mesh)
    _ = try optimizer.step(parameter: &x, gradient: x, state: &state, learningRate: 0.02, mesh: mesh)
    print("unexpected: rank \(world.rank) stepped with bad input")
}
