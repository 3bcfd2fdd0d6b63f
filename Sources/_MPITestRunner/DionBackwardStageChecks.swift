import DionDistributed
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `DistributedDion.BackwardStage` against the batched step it stands in for, on every layout
/// the mesh supports, over a batch of tall, wide, square and tiny matrices (shards short or
/// empty): gradients handed over in three groups in the backward's order (one matrix left for
/// `step` to start), `progress` between them. After every step the weights, momenta and Q equal
/// the batched step's — bit for bit with two fsdp ranks (each reduction one sum of two terms),
/// within 1e-5 of the weights' scale with more (the P₀ sums in another order); the bytes per axis
/// are the batched step's; the P₀ reductions were issued before `step`. After a step abandoned
/// for a NaN the next step still equals the batched step (which never saw it); a gradient of
/// another shape or layout is refused by `step` on every rank. On a mesh without fsdp, or with dp,
/// the stage is refused.
func runDionBackwardStageChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    var dion = DistributedDion(try DionConfiguration(momentum: 0.95, weightDecay: 0.01, rank: .fraction(0.25)))
    dion.finitenessAgreedByCaller = true
    dion.uncompressedGradientsAveragedByCaller = true
    let layouts = dionLayouts(for: mesh.shape)
    guard mesh.shape.fsdp > 1, mesh.shape.replicate == 1 else {
        let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 12), rows: 3, columns: 4, layout: layouts[0], mesh: mesh)
        let state = try dion.initialState(for: x, parameterID: 0, mesh: mesh)
        try checker.expect(DistributedDion.BackwardStage.supports([x], states: [state], optimizer: dion, mesh: mesh), false,
                           "the stage does not apply on \(mesh.shape)")
        try checker.expectThrowsAny("the stage is refused on \(mesh.shape)") {
            _ = try DistributedDion.BackwardStage(dion, mesh: mesh, overlap: true)
        }
        return
    }
    let generator = KeyedNormalGenerator(seed: 8)
    let shapes = [(130, 70), (70, 130), (64, 64), (3, 5), (5, 3), (130, 70)]
    let groups = [[5, 4], [3, 2, 0]]  // matrix 1 is left for `step`
    let bitwise = mesh.shape.fsdp == 2
    for layout in layouts {
        var batched = try generator.scattered(shapes, stream: { UInt64(500 + $0) }, layout: layout, mesh: mesh)
        var batchedStates = try batched.enumerated().map { i, x in try dion.initialState(for: x, parameterID: UInt64(i), mesh: mesh) }
        var staged = batched, stagedStates = batchedStates
        try checker.expect(DistributedDion.BackwardStage.supports(staged, states: stagedStates, optimizer: dion, mesh: mesh),
                           true, "\(layout): the stage applies on \(mesh.shape)")
        let stage = try DistributedDion.BackwardStage(dion, mesh: mesh, overlap: true)
        let rates = [Float](repeating: 0.02, count: shapes.count)
        for step in 0..<4 {
            var gradients = try generator.scattered(shapes, stream: { UInt64(600 + 10 * $0 + step) }, layout: layout, mesh: mesh)
            // Step 2 has a NaN on the last rank: the caller's vote skips it, so the stage is abandoned.
            let skipped = step == 2
            if skipped, mesh.world.rank == mesh.world.size - 1, let i = gradients.indices.first(where: { !gradients[$0].local.isEmpty }) {
                gradients[i].local[0] = .nan
            }
            let start = CommunicationLedger.shared.recordCount
            try stage.begin(parameters: staged, states: stagedStates)
            let inFlight = MPIRuntime.nonblockingCollectivesInFlight
            var issued = 0
            for group in groups {
                try stage.gradientsFinal(group, gradients: group.map { gradients[$0] })
                // In flight, or already completed (and recorded).
                issued = max(issued, MPIRuntime.nonblockingCollectivesInFlight - inFlight
                                     + CommunicationLedger.shared.recordCount - start)
                try stage.progress()
            }
            try checker.expect(issued > 0, true, "\(layout) step \(step): P₀ reductions issued during the backward")
            if skipped {
                // Nothing of the caller's is passed to `abandon`: that it changed nothing shows in
                // the next step, compared with the batched step that never saw this one.
                try stage.abandon()
                continue
            }
            _ = try stage.step(parameters: &staged, gradients: gradients, states: &stagedStates, learningRates: rates)
            let stagedRecords = CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - start)
            let middle = CommunicationLedger.shared.recordCount
            _ = try dion.step(parameters: &batched, gradients: gradients, states: &batchedStates, learningRates: rates, mesh: mesh)
            let batchedRecords = CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - middle)
            for label in ["fsdp", "tp", "dp", "world"] {
                try checker.expect(stagedRecords.filter { $0.communicator == label }.reduce(0) { $0 + $1.bytesSent },
                                   batchedRecords.filter { $0.communicator == label }.reduce(0) { $0 + $1.bytesSent },
                                   "\(layout) step \(step): bytes on \(label) equal the batched step's")
            }
            for i in shapes.indices {
                let (a, b) = (try staged[i].gathered(on: mesh), try batched[i].gathered(on: mesh))
                let (s, t) = (stagedStates[i], batchedStates[i])
                if bitwise {
                    try checker.expect(a == b && s == t, true, "\(layout) step \(step) matrix \(i): bit-identical to the batched step")
                } else {
                    let scale = b.map(abs).max() ?? 1
                    let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                    try checker.expect(error <= 1e-5 * scale + 4 * scale.ulp, true,
                                       "\(layout) step \(step) matrix \(i): staged vs batched error \(error)")
                    try checker.expect(s.step == t.step, true, "\(layout) step \(step) matrix \(i): step counters")
                }
            }
        }
    }
    // A gradient that does not fit its momentum (on every rank): `step` refuses it, everywhere.
    let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 48), rows: 8, columns: 6, layout: layouts[0], mesh: mesh)
    var xs = [x], states = [try dion.initialState(for: x, parameterID: 0, mesh: mesh)]
    let wrong = try ShardedMatrix(scattering: [Float](repeating: 1, count: 40), rows: 8, columns: 5, layout: layouts[0], mesh: mesh)
    let stage = try DistributedDion.BackwardStage(dion, mesh: mesh, overlap: false)
    try stage.begin(parameters: xs, states: states)
    try stage.gradientsFinal([0], gradients: [wrong])
    try checker.expectThrowsAny("a gradient of another shape is refused by the stage's step") {
        _ = try stage.step(parameters: &xs, gradients: [wrong], states: &states, learningRates: [0.02])
    }
    // The same global shape in another layout: refused on every rank too (a rank whose block
    // happens to match must not go on alone).
    let other = try ShardedMatrix(scattering: [Float](repeating: 1, count: 48), rows: 8, columns: 6,
                                  layout: try ShardLayout(rows: .replicated, columns: .sharded(.fsdp)), mesh: mesh)
    try stage.begin(parameters: xs, states: states)
    try stage.gradientsFinal([0], gradients: [other])
    try checker.expectThrowsAny("a gradient in another layout is refused by the stage's step") {
        _ = try stage.step(parameters: &xs, gradients: [other], states: &states, learningRates: [0.02])
    }
    try checker.expectThrowsAny("a step without begin is refused") {
        _ = try stage.step(parameters: &xs, gradients: [x], states: &states, learningRates: [0.02])
    }
    try world.barrier()
}
