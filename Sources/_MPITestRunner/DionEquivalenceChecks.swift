import DionDistributed
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Distributed Dion against single-process Dion on the gathered matrices: five steps on tall,
/// wide, square and uneven shapes (shards short or empty), full rank, ρ = 1/4 and a small absolute
/// rank, for every layout the mesh supports. After every step the gathered X must equal the
/// single-process X within 1e-5 of that step's update plus 4 ulp of |X| — 1e-4 at full rank,
/// where P₀ = B·Q is as ill-conditioned as B and the orthonormalization amplifies the fp32
/// reassociation of the sharded sum Σ M_locᵀQ_loc by cond(P₀). Prints the worst error/bound ratio.
func runDionEquivalence(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let generator = KeyedNormalGenerator(seed: 5)
    let layouts = dionLayouts(for: mesh.shape)
    var worst: Float = 0
    for (shapeIndex, (m, n)) in [(130, 70), (70, 130), (64, 64), (3, 5), (5, 3)].enumerated() {
        for rank in [DionConfiguration.Rank.fraction(1), .fraction(0.25), .absolute(2)] {
            for layout in layouts {
                let configuration = try DionConfiguration(momentum: 0.95, weightDecay: 0.01, rank: rank)
                let distributed = DistributedDion(configuration)
                let single = Dion(configuration)
                let parameterID = UInt64(10 + shapeIndex)
                let x0 = generator.matrix(stream: UInt64(100 + shapeIndex), rows: m, columns: n)
                var x = try ShardedMatrix(scattering: x0.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                var state = try distributed.initialState(for: x, parameterID: parameterID, mesh: mesh)
                var reference = x0
                var referenceState = try single.initialState(for: x0, parameterID: parameterID, q0: nil,
                                                             transposed: DistributedDion.transposed(for: layout, rows: m, columns: n))
                for step in 0..<5 {
                    let g = generator.matrix(stream: UInt64(200 + 10 * shapeIndex + step), rows: m, columns: n)
                    let gradient = try ShardedMatrix(scattering: g.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                    let previous = reference
                    let before = CommunicationLedger.shared.recordCount
                    _ = try distributed.step(parameter: &x, gradient: gradient, state: &state, learningRate: 0.02, mesh: mesh)
                    // Only rank-r factors cross fsdp and tp: no collective there moves more than
                    // max(p, q, k_s)·r + 1 elements, never a shard of M or X.
                    let r = state.q.columns
                    let ks = Orthonormalization.sketchRows(rank: r)
                    let stepRecords = CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - before)
                    for record in stepRecords where record.communicator == "fsdp" || record.communicator == "tp" {
                        try checker.expect(record.elementCount <= max(m, n, ks) * r + 1, true,
                                           "\(record.communicator) collective of \(record.elementCount) elements for r = \(r)")
                    }
                    // The step's bytes equal the schedule in docs/communication.md, computed here
                    // from the textbook ring formulas.
                    let expected = expectedDionBytes(x: x, r: r, mesh: mesh,
                                                     compressed: distributed.usesCompressedSync(for: x, rank: r, mesh: mesh))
                    for axis in ["fsdp", "tp", "dp"] {
                        try checker.expect(stepRecords.filter { $0.communicator == axis }.reduce(0) { $0 + $1.bytesSent },
                                           expected[axis] ?? 0, "\(m)×\(n) r=\(r) \(layout) step bytes on \(axis)")
                    }
                    _ = try single.step(parameter: &reference, gradient: g, state: &referenceState, learningRate: 0.02)
                    let gathered = try x.gathered(on: mesh)
                    let update = zip(reference.elements, previous.elements).map { abs($0 - $1) }.max() ?? 0
                    let error = zip(gathered, reference.elements).map { abs($0 - $1) }.max() ?? 0
                    let bound = dionStepBound(update: update, weights: reference.elements,
                                              fullRank: referenceState.q.columns == min(m, n))
                    worst = max(worst, error / bound)
                    try checker.expect(error <= bound, true,
                                       "\(m)×\(n) \(rank) \(layout) step \(step): error \(error) > \(bound) (update \(update))")
                }
            }
        }
    }
    if world.rank == 0 { print("worst error / bound = \(worst)") }
    // A NaN in one rank's gradient shard: every rank skips, weights and state untouched.
    let nanLayout = layouts[0]
    let dion = DistributedDion(try DionConfiguration(rank: .fraction(0.25)))
    let x0 = generator.matrix(stream: 900, rows: 40, columns: 24)
    var x = try ShardedMatrix(scattering: x0.elements, rows: 40, columns: 24, layout: nanLayout, mesh: mesh)
    var state = try dion.initialState(for: x, parameterID: 1, mesh: mesh)
    var g = try ShardedMatrix(scattering: generator.matrix(stream: 901, rows: 40, columns: 24).elements, rows: 40,
                              columns: 24, layout: nanLayout, mesh: mesh)
    if world.rank == world.size - 1, !g.local.isEmpty { g.local[0] = .nan }
    let (xBefore, stateBefore) = (x, state)
    let outcome = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: 0.02, mesh: mesh)
    try checker.expect(outcome, .skipped(reason: "non-finite gradient"), "NaN on the last rank skips the step everywhere")
    try checker.expect(x == xBefore && state == stateBefore, true, "a skipped step leaves weights and state untouched")
    try runBatchedDionChecks(mesh, layouts, &checker)
    // A matrix replicated over fsdp ranks (which see different data) is refused on every rank,
    // before any collective; so is a layout putting fsdp on P's side.
    if mesh.shape.fsdp > 1 {
        for layout in [ShardLayout.replicated, .columnParallel] {
            let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 8 * 4), rows: 8, columns: 4,
                                      layout: layout, mesh: mesh)
            try checker.expectThrowsAny("\(layout) on \(mesh.shape) refused") {
                _ = try DistributedDion(try DionConfiguration()).initialState(for: x, parameterID: 0, mesh: mesh)
            }
        }
    }
    try world.barrier()
}

/// A batched step of matrices of several shapes equals stepping each alone (within fp32
/// reassociation of the larger all-reduces), issues at most the collectives of one matrix's
/// step, and skips only the matrix whose gradient holds a NaN.
func runBatchedDionChecks(_ mesh: DeviceMesh, _ layouts: [ShardLayout], _ checker: inout Checker) throws {
    let generator = KeyedNormalGenerator(seed: 6)
    let shapes = [(130, 70), (70, 130), (64, 64), (3, 5), (130, 70)]
    let dion = DistributedDion(try DionConfiguration(momentum: 0.95, weightDecay: 0.01, rank: .fraction(0.25)))
    for layout in layouts {
        var batch = try generator.scattered(shapes, stream: { UInt64(300 + $0) }, layout: layout, mesh: mesh)
        var batchStates = try batch.enumerated().map { i, x in try dion.initialState(for: x, parameterID: UInt64(i), mesh: mesh) }
        var alone = batch, aloneStates = batchStates
        var batchCollectives = 0, aloneCollectives = 0
        for step in 0..<3 {
            var gradients = try generator.scattered(shapes, stream: { UInt64(400 + 10 * $0 + step) }, layout: layout, mesh: mesh)
            // At step 1, matrix 2's gradient has a NaN on the last rank (if it holds any of it).
            if step == 1, mesh.world.rank == mesh.world.size - 1, !gradients[2].local.isEmpty { gradients[2].local[0] = .nan }
            let before = CommunicationLedger.shared.recordCount
            let outcomes = try dion.step(parameters: &batch, gradients: gradients, states: &batchStates,
                                         learningRates: [Float](repeating: 0.02, count: shapes.count), mesh: mesh)
            batchCollectives = max(batchCollectives, CommunicationLedger.shared.recordCount - before)
            if step != 1 {
                // The batch's bytes per axis equal its plan (each all-reduce once, over the summed count).
                let records = CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - before)
                let plan = try dion.plannedCollectives(forBatch: batch.indices.map { (batch[$0], batchStates[$0].q.columns, nil) },
                                                   mesh: mesh)
                for (axis, label) in [(MeshAxis?.none, "world"), (.replicate, "dp"), (.fsdp, "fsdp"), (.tp, "tp")] {
                    try checker.expect(records.filter { $0.communicator == label }.reduce(0) { $0 + $1.bytesSent },
                                       plan.filter { $0.axis == axis }.reduce(0) { $0 + $1.bytesSent },
                                       "\(layout) step \(step): batched bytes on \(label) equal the plan")
                }
            }
            for i in shapes.indices {
                let start = CommunicationLedger.shared.recordCount
                let outcome = try dion.step(parameter: &alone[i], gradient: gradients[i], state: &aloneStates[i],
                                            learningRate: 0.02, mesh: mesh)
                aloneCollectives = max(aloneCollectives, CommunicationLedger.shared.recordCount - start)
                try checker.expect(outcomes[i], outcome, "\(layout) step \(step) matrix \(i): batched and alone agree on skipping")
            }
            let nanSkipped = step == 1 && outcomes[2] != .applied
            try checker.expect(outcomes.filter { $0 != .applied }.count, nanSkipped ? 1 : 0,
                               "\(layout) step \(step): only the NaN matrix is skipped")
            for i in shapes.indices {
                let (a, b) = (try batch[i].gathered(on: mesh), try alone[i].gathered(on: mesh))
                let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                let bound = 1e-5 * (b.map(abs).max() ?? 1) + 4 * (b.map(abs).max() ?? 1).ulp
                try checker.expect(error <= bound, true, "\(layout) step \(step) matrix \(i): batched vs alone error \(error)")
            }
        }
        // Over the world: which rank of an fsdp group takes part in an owner's phases depends on
        // which matrices it owns, so a rank may join more collectives in a batch than alone.
        let most = try mesh.world.allReduced([Double(batchCollectives), Double(aloneCollectives)], op: .max)
        (batchCollectives, aloneCollectives) = (Int(most[0]), Int(most[1]))
        if mesh.world.rank == 0 {
            print("\(layout): batched step of \(shapes.count) matrices issues \(batchCollectives) collectives; one matrix alone \(aloneCollectives)")
        }
        try checker.expect(batchCollectives <= aloneCollectives, true,
                           "\(layout): a batch of \(shapes.count) issues \(batchCollectives) collectives, one matrix \(aloneCollectives)")
    }
    let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 12), rows: 3, columns: 4, layout: layouts[0], mesh: mesh)
    var xs = [x], states = [try dion.initialState(for: x, parameterID: 0, mesh: mesh)]
    try checker.expectThrowsAny("a batch with fewer gradients than parameters is refused") {
        _ = try dion.step(parameters: &xs, gradients: [], states: &states, learningRates: [0.02], mesh: mesh)
    }
}

extension Checker {
    mutating func expectThrowsAny(_ what: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            try expect(true, true, what)
            return
        }
        throw CheckFailure(description: "\(what): expected an error, none was thrown")
    }
}

/// Data-parallel sync: replicas get different gradients; the uncompressed sync (average the
/// gradient) and the compressed one (average P₀ and R, keep per-replica buffers) must both give
/// the weights of single-process Dion on the averaged gradient, and the compressed one must not
/// move the gradient over `dp`.
func runDataParallelSyncChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let d = mesh.shape.replicate, replica = mesh.index(on: .replicate)
    guard d > 1 else { return }
    let generator = KeyedNormalGenerator(seed: 6)
    let layouts: [ShardLayout] = mesh.shape.fsdp == 1 ? [.replicated, .fsdp] : [.fsdp]
    for (shapeIndex, (m, n)) in [(130, 70), (70, 130), (48, 48)].enumerated() {
        for layout in layouts {
            for sync in [DistributedDion.DataParallelSync.uncompressed, .compressed] {
                let configuration = try DionConfiguration(rank: .fraction(0.25))
                let distributed = DistributedDion(configuration, dataParallelSync: sync)
                let single = Dion(configuration)
                let x0 = generator.matrix(stream: UInt64(300 + shapeIndex), rows: m, columns: n)
                var x = try ShardedMatrix(scattering: x0.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                var state = try distributed.initialState(for: x, parameterID: 7, mesh: mesh)
                var reference = x0
                var referenceState = try single.initialState(for: x0, parameterID: 7, q0: nil,
                                                             transposed: DistributedDion.transposed(for: layout, rows: m, columns: n))
                for step in 0..<5 {
                    let base = generator.matrix(stream: UInt64(400 + 10 * shapeIndex + step), rows: m, columns: n)
                    let delta = generator.matrix(stream: UInt64(500 + 10 * shapeIndex + step), rows: m, columns: n)
                    func replicaGradient(_ i: Int) -> Matrix {
                        var g = base
                        g.scaleAndAdd(1, Float(i) - Float(d - 1) / 2, delta)
                        return g
                    }
                    var mean = Matrix(rows: m, columns: n)
                    for i in 0..<d { mean.scaleAndAdd(1, 1, replicaGradient(i)) }
                    mean.scale(1 / Float(d))
                    let mine = try ShardedMatrix(scattering: replicaGradient(replica).elements, rows: m, columns: n,
                                                 layout: layout, mesh: mesh)
                    let previous = reference
                    let before = CommunicationLedger.shared.recordCount
                    _ = try distributed.step(parameter: &x, gradient: mine, state: &state, learningRate: 0.02, mesh: mesh)
                    let records = CommunicationLedger.shared.records.suffix(CommunicationLedger.shared.recordCount - before)
                    _ = try single.step(parameter: &reference, gradient: mean, state: &referenceState, learningRate: 0.02)
                    let gathered = try x.gathered(on: mesh)
                    let update = zip(reference.elements, previous.elements).map { abs($0 - $1) }.max() ?? 0
                    let error = zip(gathered, reference.elements).map { abs($0 - $1) }.max() ?? 0
                    let bound = 1e-4 * update + 4 * (reference.elements.map(abs).max() ?? 1).ulp
                    try checker.expect(error <= bound, true, "\(m)×\(n) \(layout) \(sync) step \(step): error \(error) > \(bound)")
                    let largestDP = records.filter { $0.communicator == "dp" }.map(\.elementCount).max() ?? 0
                    if sync == .compressed {
                        let r = state.q.columns
                        try checker.expect(largestDP <= max(m, n) * r + 1, true,
                                           "compressed sync moved \(largestDP) elements over dp (r = \(r))")
                    } else {
                        try checker.expect(largestDP, x.local.count, "uncompressed sync all-reduces the gradient block")
                    }
                }
            }
        }
    }
    try world.barrier()
}

/// The layouts a mesh's equivalence run covers: replicated and FSDP without tp (paths A, B), the
/// tensor-parallel ones with it (path C), each combined with fsdp when the mesh has it.
func dionLayouts(for shape: MeshShape) -> [ShardLayout] {
    switch (shape.fsdp > 1, shape.tp > 1) {
    case (false, false): return [.replicated, .fsdp]
    case (true, false): return [.fsdp]
    case (false, true): return [.columnParallel, .rowParallel, .replicated]
    case (true, true): return [.fsdpColumnParallel, .fsdpRowParallel, .fsdp]
    }
}

/// Bytes one Dion step sends per axis on this rank, from the textbook ring all-reduce
/// (2(g−1)/g·N with uneven blocks) and ring all-gather: the table of docs/communication.md.
func expectedDionBytes(x: ShardedMatrix, r: Int, mesh: DeviceMesh, compressed: Bool) -> [String: Int] {
    func ring(_ count: Int, _ g: Int, _ rank: Int) -> Int {
        guard g > 1 else { return 0 }
        let blocks = (0..<g).map { count / g + ($0 < count % g ? 1 : 0) }
        return (count - blocks[rank]) + (count - blocks[(rank + 1) % g])
    }
    guard let geometry = try? DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns) else { return [:] }
    let pLocal = geometry.pRange(of: x).count, qLocal = geometry.qRange(of: x).count
    let (f, t, d) = (mesh.shape.fsdp, mesh.shape.tp, mesh.shape.replicate)
    let (fRank, tRank, dRank) = (mesh.index(on: .fsdp), mesh.index(on: .tp), mesh.index(on: .replicate))
    var bytes = [String: Int]()
    // Without tp, one matrix alone is orthonormalized by fsdp rank 0: P₀ and the flag (N elements)
    // are reduce-scattered to it and P all-gathered from it. A ring reduce-scatter sends every
    // block but the rank's own (N on every rank but the owner), a ring all-gather every block but
    // the next rank's (N on every rank but the owner's predecessor).
    let owned = geometry.outerAxis == .fsdp && f > 1 && !(geometry.innerAxis == .tp && t > 1)
    if owned {
        let n = geometry.p * r + 1
        bytes["fsdp"] = 4 * ((fRank == 0 ? 0 : n) + (fRank == f - 1 ? 0 : n)) + 8 * ring(r, f, fRank)
    } else if geometry.outerAxis == .fsdp {
        bytes["fsdp"] = 4 * ring(pLocal * r + 1, f, fRank) + 8 * ring(r, f, fRank)
    }
    if geometry.innerAxis == .tp && t > 1 {
        var orth: Int
        if geometry.p > r {
            orth = 4 * ring(Orthonormalization.sketchRows(rank: r) * r, t, tRank) + 4 * ring(r * r + 1, t, tRank)
        } else {
            // Gathered: a ring all-gather sends every block but the next rank's.
            let blocks = ChunkSplit.sizes(length: geometry.p, parts: t).map { $0 * r }
            orth = 4 * (blocks.reduce(0, +) - blocks[(tRank + 1) % t])
        }
        bytes["tp"] = 4 * ring(1, t, tRank) + orth + 4 * ring(qLocal * r, t, tRank)
    }
    let p0 = owned ? (fRank == 0 ? geometry.p * r + 1 : 0) : pLocal * r + 1
    bytes["dp"] = compressed ? (p0 > 0 ? 4 * ring(p0, d, dRank) : 0) + 4 * ring(qLocal * r, d, dRank)
                             : 4 * ring(x.local.count, d, dRank)
    return bytes
}
