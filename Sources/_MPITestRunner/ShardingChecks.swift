import MPIShim
import Sharding

/// Layouts on a real mesh: every named layout that the mesh can hold, on tall, wide, square
/// and uneven shapes (shards short or empty), scattered, gathered back exactly, and
/// redistributed into every other layout; gathers are recorded under their axis label.
func runShardingChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    try checker.expect(mesh.communicator(.replicate).size, mesh.shape.replicate, "dp communicator size")
    try checker.expect(mesh.communicator(.fsdp).size, mesh.shape.fsdp, "fsdp communicator size")
    try checker.expect(mesh.communicator(.tp).size, mesh.shape.tp, "tp communicator size")
    try checker.expect(mesh.communicator(.tp).label, "tp", "tp communicator label")
    let w = world.rank, s = mesh.shape
    try checker.expect(w, (mesh.index(on: .replicate) * s.fsdp + mesh.index(on: .fsdp)) * s.tp + mesh.index(on: .tp),
                       "rank = (d·F + f)·T + t")

    for (rows, columns) in [(130, 70), (70, 130), (64, 64), (3, 5), (1, 1)] {
        let global = (0..<(rows * columns)).map { Float($0) }
        for layout in ShardLayout.all {
            let matrix = try ShardedMatrix(scattering: global, rows: rows, columns: columns, layout: layout, mesh: mesh)
            for (i, row) in matrix.rowRange.enumerated() {
                let start = i * matrix.localColumns
                try checker.expect(Array(matrix.local[start..<(start + matrix.localColumns)]),
                                   Array(global[(row * columns + matrix.columnRange.lowerBound)..<(row * columns + matrix.columnRange.upperBound)]),
                                   "\(rows)×\(columns) \(layout) block row \(row)")
            }
            try checker.expect(try matrix.gathered(on: mesh), global, "\(rows)×\(columns) \(layout) gathered")
            for target in ShardLayout.all where target != layout {
                let moved = try matrix.redistributed(to: target, on: mesh)
                try checker.expect(moved, try ShardedMatrix(scattering: global, rows: rows, columns: columns,
                                                            layout: target, mesh: mesh),
                                   "\(rows)×\(columns) \(layout) → \(target)")
            }
        }
    }
    let labels = Set(CommunicationLedger.shared.records.map(\.communicator))
    if s.fsdp > 1 { try checker.expect(labels.contains("fsdp"), true, "gathers recorded under fsdp") }
    if s.tp > 1 { try checker.expect(labels.contains("tp"), true, "gathers recorded under tp") }
    try world.barrier()
}

/// A mesh that does not fit the job (or that ranks disagree on) must be rejected on every
/// rank, before any collective that could hang. Prints one REJECTED line per rank.
func runMeshRejection(_ world: Communicator, meshes: [String]) throws {
    let text = meshes[world.rank % meshes.count]
    do {
        _ = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
        print("ACCEPTED rank \(world.rank): \(text)")
    } catch {
        print("REJECTED rank \(world.rank): \(error)")
    }
}
