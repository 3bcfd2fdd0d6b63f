import MPIShim
import Sharding

/// One all-to-all per mesh axis for a batch of matrices, with uneven counts (`MPI_Alltoallv`, no
/// padding): each matrix adds what it sends to each rank of its axis and what it expects from
/// each, in batch order; `run` issues one all-to-all per touched axis (fsdp, then tp — the order of
/// `StepPlan.selective`) and cuts what arrived back into (matrix, source rank) pieces.
///
/// Every rank of a communicator must touch the same axes (the step decides it from global shapes
/// and the owner assignment), and a sender's segments to a rank must be announced, in the same
/// batch order, by that rank's `expect` calls (zero-length segments included).
struct BatchedExchange<T: MPIScalar> {
    private static var axes: [MeshAxis] { [.fsdp, .tp] }
    private var outgoing: [MeshAxis: [[T]]] = [:]
    private var incoming: [MeshAxis: [[(matrix: Int, count: Int)]]] = [:]
    private let mesh: DeviceMesh
    /// One all-to-all on a communicator (the wire format decides what crosses).
    private let transport: (Communicator, [T], [Int], [Int]) throws(MPIError) -> [T]

    init(mesh: DeviceMesh) {
        self.mesh = mesh
        transport = { (communicator, data, sendCounts, receiveCounts) throws(MPIError) in
            try communicator.allToAll(data, sendCounts: sendCounts, receiveCounts: receiveCounts)
        }
    }

    private mutating func touch(_ axis: MeshAxis) {
        let g = mesh.shape.size(of: axis)
        if outgoing[axis] == nil { outgoing[axis] = [[T]](repeating: [], count: g) }
        if incoming[axis] == nil { incoming[axis] = [[(matrix: Int, count: Int)]](repeating: [], count: g) }
    }

    /// Appends `data` of matrix `matrix` to the message for `rank` on `axis`.
    mutating func send(_ axis: MeshAxis, to rank: Int, _ data: [T]) {
        touch(axis)
        outgoing[axis]?[rank].append(contentsOf: data)
    }

    /// Announces `count` elements of matrix `matrix` from `rank` on `axis`.
    mutating func expect(_ axis: MeshAxis, from rank: Int, matrix: Int, count: Int) {
        touch(axis)
        incoming[axis]?[rank].append((matrix, count))
    }

    /// Runs the all-to-alls and returns, per matrix, the pieces received from each source rank.
    mutating func run() throws(MPIError) -> [Int: [Int: [T]]] {
        defer { outgoing = [:]; incoming = [:] }
        var result: [Int: [Int: [T]]] = [:]
        for axis in Self.axes {
            guard let out = outgoing[axis], let into = incoming[axis] else { continue }
            let receiveCounts = into.map { $0.reduce(0) { $0 + $1.count } }
            let received = try transport(mesh.communicator(axis), out.flatMap { $0 }, out.map(\.count), receiveCounts)
            var offset = 0
            for (source, segments) in into.enumerated() {
                for segment in segments {
                    result[segment.matrix, default: [:]][source] = Array(received[offset..<(offset + segment.count)])
                    offset += segment.count
                }
            }
        }
        return result
    }
}

extension BatchedExchange where T == Float {
    /// An exchange of fp32 matrix data that crosses the wire in `wire`'s format
    /// (`Communicator.allToAll(_:sendCounts:receiveCounts:wire:)`).
    init(mesh: DeviceMesh, wire: WirePrecision) {
        self.mesh = mesh
        transport = { (communicator, data, sendCounts, receiveCounts) throws(MPIError) in
            try communicator.allToAll(data, sendCounts: sendCounts, receiveCounts: receiveCounts, wire: wire)
        }
    }
}
