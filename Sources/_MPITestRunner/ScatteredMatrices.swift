import LinearAlgebra
import Sharding

extension KeyedNormalGenerator {
    /// One keyed normal matrix per shape (`stream(i)` for shape i), each scattered on `mesh` in
    /// `layout` (every rank draws the whole matrix and keeps its block), with its values passed
    /// through `transform` first (e.g. rounding to bf16).
    func scattered(_ shapes: [(Int, Int)], stream: (Int) -> UInt64, layout: ShardLayout, mesh: DeviceMesh,
                   transform: ([Float]) -> [Float] = { $0 }) throws -> [ShardedMatrix] {
        try shapes.enumerated().map { i, shape in
            try ShardedMatrix(scattering: transform(matrix(stream: stream(i), rows: shape.0, columns: shape.1).elements),
                              rows: shape.0, columns: shape.1, layout: layout, mesh: mesh)
        }
    }
}
