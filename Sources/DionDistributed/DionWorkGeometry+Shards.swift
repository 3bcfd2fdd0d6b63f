import Sharding

extension DionWorkGeometry {
    /// The global rows of P (B's rows) this rank holds.
    public func pRange(of x: ShardedMatrix) -> Range<Int> { transposed ? x.columnRange : x.rowRange }
    /// The global rows of Q and R (B's columns) this rank holds.
    public func qRange(of x: ShardedMatrix) -> Range<Int> { transposed ? x.rowRange : x.columnRange }

    /// The inner axis when it has more than one rank.
    func inner(_ mesh: DeviceMesh) -> MeshAxis? { inner(on: mesh.shape) }
    /// The outer axis when it has more than one rank.
    func outer(_ mesh: DeviceMesh) -> MeshAxis? { outer(on: mesh.shape) }
}
