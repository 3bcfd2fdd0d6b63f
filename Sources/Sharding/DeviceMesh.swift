import MPIShim

/// The processes of a job laid out as an R × F × T mesh (replicate × fsdp × tp), with one
/// sub-communicator per axis labelled `dp`, `fsdp` and `tp` in the ledger.
///
/// World rank w sits at coordinate (d, f, t) with w = (d·F + f)·T + t: the tensor-parallel
/// axis varies fastest, so a tp group is a block of consecutive ranks (one node when ranks are
/// placed by node), and the replicate axis varies slowest.
public final class DeviceMesh: Sendable, CustomStringConvertible {
    /// The axis sizes.
    public let shape: MeshShape
    /// The communicator of all processes in the mesh.
    public let world: Communicator
    /// This process's place on the mesh.
    public let coordinate: MeshCoordinate
    let communicators: [MeshAxis: Communicator]

    /// Lays `world` out as `shape` and creates the three axis communicators.
    ///
    /// Every rank first checks R·F·T against the number of processes (locally, so a wrong mesh
    /// fails on every rank before any collective), then all ranks compare their shapes with
    /// one small all-gather, so ranks started with different flags fail together too.
    ///
    /// - Throws: `ShardingError.meshMismatch` when the shape does not fit the processes or the
    ///   ranks disagree; `.communication` when a collective fails.
    public init(shape: MeshShape, world: Communicator) throws(ShardingError) {
        guard shape.processCount == world.size else {
            throw ShardingError(.meshMismatch,
                                "mesh \(shape) needs \(shape.processCount) processes but the job has \(world.size); "
                                + "start it with mpirun -np \(shape.processCount) or change --mesh")
        }
        let all: [Int64]
        do throws(MPIError) {
            let quiet = CommunicationLedger()
            quiet.isEnabled = false
            let check = try world.duplicate(label: "mesh-check", ledger: quiet)
            all = try check.allGather([Int64(shape.replicate), Int64(shape.fsdp), Int64(shape.tp)])
        } catch {
            throw ShardingError(error)
        }
        for rank in 0..<world.size where Array(all[(3 * rank)..<(3 * rank + 3)]) != all[0..<3].map({ $0 }) {
            throw ShardingError(.meshMismatch, "rank \(rank) was started with mesh dp=\(all[3 * rank]),"
                                + "fsdp=\(all[3 * rank + 1]),tp=\(all[3 * rank + 2]) but rank 0 with dp=\(all[0]),"
                                + "fsdp=\(all[1]),tp=\(all[2]); every rank must get the same --mesh")
        }
        let coordinate = MeshCoordinate(worldRank: world.rank, in: shape)
        let (d, f, t) = (coordinate.replicate, coordinate.fsdp, coordinate.tp)
        self.shape = shape
        self.world = world
        self.coordinate = coordinate
        let groups: (Communicator?, Communicator?, Communicator?)
        do throws(MPIError) {
            // Ranks that share the other two coordinates form one group of each axis.
            groups = (try world.split(color: f * shape.tp + t, key: d, label: MeshAxis.replicate.label),
                      try world.split(color: d * shape.tp + t, key: f, label: MeshAxis.fsdp.label),
                      try world.split(color: d * shape.fsdp + f, key: t, label: MeshAxis.tp.label))
        } catch {
            throw ShardingError(error)
        }
        guard let dp = groups.0, let fs = groups.1, let tp = groups.2 else {
            throw ShardingError(.communication, "MPI_Comm_split returned no communicator for a colored rank")
        }
        communicators = [.replicate: dp, .fsdp: fs, .tp: tp]
    }

    /// The communicator of `axis` that contains this process (size = that axis's size).
    public func communicator(_ axis: MeshAxis) -> Communicator {
        communicators[axis] ?? world
    }

    /// This process's index along `axis`.
    public func index(on axis: MeshAxis) -> Int { coordinate.index(on: axis) }

    public var description: String {
        "DeviceMesh(\(shape), rank \(world.rank) at dp=\(index(on: .replicate)),fsdp=\(index(on: .fsdp)),tp=\(index(on: .tp)))"
    }
}
