import MPIShim
import Sharding

/// `AxisBatch` on a real mesh: a block of matrices of uneven shapes (short and empty shards) in
/// every layout, gathered and reduce-scattered over each axis as one nonblocking message, equals
/// the per-matrix `allGathered`/`reduceScattered` exactly, also with both batched collectives in
/// flight at once; and the ledger's bytes on the axis equal the per-matrix collectives' bytes.
func runAxisBatchChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let shapes = [(7, 5), (3, 9), (1, 6), (12, 1), (5, 5)]
    for axis in [MeshAxis.fsdp, .tp] {
        let communicator = mesh.communicator(axis)
        for layout in ShardLayout.all {
            let matrices = try shapes.enumerated().map { k, shape in
                try ShardedMatrix(scattering: (0..<(shape.0 * shape.1)).map { Float($0 * (k + 1)) }, rows: shape.0,
                                  columns: shape.1, layout: layout, mesh: mesh)
            }
            let batch = AxisBatch(matrices, over: axis, on: mesh)
            // Whole blocks: small integers, so sums are exact in any order.
            var wholes = [[Float]]()
            var reference = (gathered: [[Float]](), reduced: [[Float]]())
            let before = CommunicationLedger.shared.totalsByCommunicator()[communicator.label]?.bytesSent ?? 0
            for (k, x) in matrices.enumerated() {
                let whole = try x.allGathered(over: axis, on: mesh)
                reference.gathered.append(whole.elements)
                let gradient = (0..<whole.elements.count).map { Float(($0 + k + 3 * world.rank) % 11) }
                wholes.append(gradient)
                reference.reduced.append(try x.reduceScattered(gradient, over: axis, on: mesh))
            }
            let middle = CommunicationLedger.shared.totalsByCommunicator()[communicator.label]?.bytesSent ?? 0
            var gathered = [Float](), reduced = [Float]()
            if batch.isCollective {
                // Both in flight at once, waited for in the other order.
                let gather = try communicator.iAllGather(batch.gatherInput(matrices), counts: batch.counts)
                let reduce = try communicator.iReduceScatter(try batch.reduceScatterInput(wholes), counts: batch.counts)
                reduced = try reduce.wait()
                gathered = try gather.wait()
            }
            let after = CommunicationLedger.shared.totalsByCommunicator()[communicator.label]?.bytesSent ?? 0
            let unpacked = batch.unpackGathered(gathered, matrices)
            let pieces = batch.splitReduced(reduced, wholes: wholes)
            for k in matrices.indices {
                try checker.expect(unpacked[k].elements, reference.gathered[k], "\(axis) \(layout) matrix \(k) gathered")
                try checker.expect(pieces[k], reference.reduced[k], "\(axis) \(layout) matrix \(k) reduced")
            }
            try checker.expect(after - middle, middle - before, "\(axis) \(layout) batched bytes = per-matrix bytes")
            try checker.expect(batch.isCollective, mesh.shape.size(of: axis) > 1
                               && (layout.rows.axis == axis || layout.columns.axis == axis), "\(axis) \(layout) collective")
        }
    }
    try world.barrier()
}
