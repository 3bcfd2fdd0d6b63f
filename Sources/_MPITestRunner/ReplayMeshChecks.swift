import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `dion replay --mesh`'s library half (`MeshReplay`) on recorded cases: every case replayed on
/// `mesh` with the layout that keeps the single-process orientation must give, after every step,
/// the single-process replay's X (within `dionStepBound`), its momentum (1e-5 of its largest
/// entry) and its Q in the same q×r shape (each column within 1e-5, up to sign), and X within
/// 1e-6 of the numpy reference the fixture recorded (the CLI replay test's tolerance).
/// Prints `REPLAY rank r/n cases=… steps=… checks=… worst=…` (worst error/bound ratio for X).
func runReplayMeshChecks(_ world: Communicator, mesh text: String, fixtures: [String], _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    struct Recorded: Decodable { let steps: [Replay.StepRecord] }
    var (cases, steps) = (0, 0)
    var worst: Float = 0
    for path in fixtures {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let input = try Replay.decode(data)
        let recorded = try JSONDecoder().decode(Recorded.self, from: data).steps
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let onMesh = try MeshReplay.run(input, mesh: mesh)
        let single = try Replay.run(input)
        try checker.expect(onMesh.count, single.count, "\(name): steps on \(text)")
        let fullRank = input.hyperparameters.rank == min(input.X0.count, input.X0.first?.count ?? 0)
        var previous = input.X0.flatMap { $0 }
        for (k, (got, want)) in zip(onMesh, single).enumerated() {
            let (x, reference) = (got.X.flatMap { $0 }, want.X.flatMap { $0 })
            let update = maxDifference(reference, previous)
            let ratio = maxDifference(x, reference) / dionStepBound(update: update, weights: reference, fullRank: fullRank)
            worst = max(worst, ratio)
            try checker.expect(ratio <= 1, true, "\(name) step \(k) on \(text): X error / bound = \(ratio)")
            try checker.expect(maxDifference(x, recorded[k].X.flatMap { $0 }) <= 1e-6, true,
                               "\(name) step \(k) on \(text): X against the numpy reference")
            if let m = want.momentum?.flatMap({ $0 }), let gm = got.momentum?.flatMap({ $0 }) {
                let scale = m.map(abs).max() ?? 1
                try checker.expect(maxDifference(gm, m) <= 1e-5 * scale + 2 * scale.ulp, true,
                                   "\(name) step \(k) on \(text): momentum")
            }
            if let q = want.Q {
                let gq = try requireQ(got.Q, like: q, "\(name) step \(k) on \(text)")
                try checker.expect(columnErrorUpToSign(gq, q) <= 1e-5, true, "\(name) step \(k) on \(text): Q columns")
            }
            previous = reference
            steps += 1
        }
        cases += 1
    }
    try checkSquareQ0NeedsOrientation(mesh, &checker)
    try world.barrier()
    print("REPLAY rank \(world.rank)/\(world.size) cases=\(cases) steps=\(steps) checks=\(checker.passed) worst=\(worst)")
}

/// `DistributedDion.initialState` refuses a square Q₀ whose orientation the caller does not state
/// (its shape reads the same as either factor), and takes it with `transposed:`, on every layout
/// that keeps B = M; one that flips it is refused even with the orientation stated.
private func checkSquareQ0NeedsOrientation(_ mesh: DeviceMesh, _ checker: inout Checker) throws {
    let dion = DistributedDion(try DionConfiguration(rank: .absolute(2)))
    let q0 = Matrix(rows: 8, columns: 2)
    let keeping = DionWorkGeometry.layout(keepingTransposed: false, on: mesh.shape)
    let x = try ShardedMatrix(scattering: [Float](repeating: 1, count: 64), rows: 8, columns: 8, layout: keeping, mesh: mesh)
    try checker.expectThrowsAny("square Q₀ without an orientation on \(keeping)") {
        _ = try dion.initialState(for: x, parameterID: 0, mesh: mesh, q0: q0)
    }
    try checker.expect(try dion.initialState(for: x, parameterID: 0, mesh: mesh, q0: q0, transposed: false).transposed,
                       false, "square Q₀ with transposed: false on \(keeping)")
    guard mesh.shape.fsdp > 1 else { return }
    let flipping = try ShardedMatrix(scattering: [Float](repeating: 1, count: 64), rows: 8, columns: 8, layout: .fsdp,
                                     mesh: mesh)
    try checker.expectThrowsAny("square Q₀ as B = M on \(ShardLayout.fsdp), which works on Mᵀ") {
        _ = try dion.initialState(for: flipping, parameterID: 0, mesh: mesh, q0: q0, transposed: false)
    }
}

/// The X tolerance of a distributed Dion step against the single-process one: 1e-5 of that
/// step's update plus 4 ulp of |X| — 1e-4 at full rank, where P₀ = B·Q is as ill-conditioned as
/// B and the orthonormalization amplifies the fp32 reassociation of the sharded sums.
func dionStepBound(update: Float, weights: [Float], fullRank: Bool) -> Float {
    (fullRank ? 1e-4 : 1e-5) * update + 4 * (weights.map(abs).max() ?? 1).ulp
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
}

/// The replayed Q, which must have the single-process shape (never the other factor's).
private func requireQ(_ q: [[Float]]?, like reference: [[Float]], _ what: String) throws -> [[Float]] {
    let shape = { (m: [[Float]]) in "\(m.count)×\(m.first?.count ?? 0)" }
    guard let q, q.count == reference.count, q.first?.count == reference.first?.count else {
        throw CheckFailure(description: "\(what): Q is \(q.map(shape) ?? "missing"), the single-process Q is "
                           + shape(reference))
    }
    return q
}

/// The largest difference of a column of `a` from the same column of `b` or of −`b` (columns of Q
/// are defined up to sign).
private func columnErrorUpToSign(_ a: [[Float]], _ b: [[Float]]) -> Float {
    let columns = b.first?.count ?? 0
    return (0..<columns).map { j in
        let same = zip(a, b).map { abs($0[j] - $1[j]) }.max() ?? 0
        let flipped = zip(a, b).map { abs($0[j] + $1[j]) }.max() ?? 0
        return min(same, flipped)
    }.max() ?? 0
}
