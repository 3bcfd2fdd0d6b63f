/// A rank's place on a mesh. World rank w sits at (d, f, t) with w = (d·F + f)·T + t: the
/// tensor-parallel axis varies fastest, then fsdp, so a tp group is a block of consecutive ranks
/// (one host when ranks fill hosts in order). The one place this numbering is written.
public struct MeshCoordinate: Sendable, Hashable, CustomStringConvertible {
    public let mesh: MeshShape
    public let replicate: Int
    public let fsdp: Int
    public let tp: Int

    /// The coordinate of world rank `w` (0 ≤ w < `mesh.processCount`).
    public init(worldRank w: Int, in mesh: MeshShape) {
        self.mesh = mesh
        tp = w % mesh.tp
        fsdp = (w / mesh.tp) % mesh.fsdp
        replicate = w / (mesh.tp * mesh.fsdp)
    }

    /// Every coordinate of `mesh`, in world-rank order.
    public static func all(in mesh: MeshShape) -> [MeshCoordinate] {
        (0..<mesh.processCount).map { MeshCoordinate(worldRank: $0, in: mesh) }
    }

    /// The world rank.
    public var worldRank: Int { (replicate * mesh.fsdp + fsdp) * mesh.tp + tp }

    /// The index on `axis`, or the world rank for `nil` (the whole world).
    public func index(on axis: MeshAxis?) -> Int {
        switch axis {
        case .replicate: replicate
        case .fsdp: fsdp
        case .tp: tp
        case nil: worldRank
        }
    }

    /// The number of ranks on `axis`, or in the world for `nil`.
    public func size(of axis: MeshAxis?) -> Int { axis.map { mesh.size(of: $0) } ?? mesh.processCount }

    /// This rank's block length of a dimension of `length` sharded over `axis` (whole for `nil`).
    public func localLength(_ length: Int, over axis: MeshAxis?) -> Int {
        guard let axis else { return length }
        return ChunkSplit.range(of: index(on: axis), length: length, parts: mesh.size(of: axis)).count
    }

    public var description: String { "dp \(replicate), fsdp \(fsdp), tp \(tp) of \(mesh)" }
}
