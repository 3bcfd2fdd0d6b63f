import LinearAlgebra
import MPIShim
import Sharding
import Transformer

/// The model's parameters on a mesh, served to `TransformerModel` as a `ParameterSource`.
///
/// Each parameter lives as a `ShardedMatrix`: norm gains, embeddings and the head sharded by
/// rows over `fsdp`; q, k, v and w1 (out×in) with their rows over `tp` (column parallel) and their
/// columns over `fsdp`; wo and w2 with their columns over `tp` (row parallel) and their rows over
/// `fsdp`. So each weight matrix keeps one Dion work orientation on every mesh — B = W for the
/// column-parallel ones (P on the output side), B = Wᵀ for the row-parallel ones — and the
/// optimizer does the same arithmetic on any mesh as on one process. `weights` all-gathers a block's shards over `fsdp` when the model asks (before the
/// forward and again before the backward; nothing is kept), and `accumulateGradients`
/// reduce-scatters each gradient over `fsdp` into this rank's shard.
public struct MeshParameters: ParameterSource {
    public let mesh: DeviceMesh
    public let parameters: TransformerParameters
    /// This rank's shard of every parameter.
    public var shards: [ShardedMatrix]
    /// This rank's shard of every gradient, summed over the micro-batches and fsdp ranks.
    public var gradients: [[Float]]

    /// The layout of a parameter on a mesh: for a weight matrix, the one that keeps its Dion work
    /// orientation (`dionTransposed`) on every mesh (`DionWorkGeometry.layout(keepingTransposed:on:)`,
    /// the rule `dion replay --mesh` uses too); the rest by rows over `fsdp`.
    public static func layout(for split: TensorParallelSplit, mesh: MeshShape) throws(ShardingError) -> ShardLayout {
        switch split {
        case .outputRows, .inputColumns:
            return DionWorkGeometry.layout(keepingTransposed: dionTransposed(split), on: mesh)
        case .replicated:
            return mesh.fsdp > 1 ? .fsdp : .replicated
        }
    }

    /// Dion's work orientation for a weight: B = Wᵀ for row-parallel weights (P on the input side).
    public static func dionTransposed(_ split: TensorParallelSplit) -> Bool { split == .inputColumns }

    /// This rank's shards of the initial weights (each rank draws only its block of the keyed
    /// initialization, so no communication).
    public init(parameters: TransformerParameters, mesh: DeviceMesh, seed: UInt64) throws {
        self.mesh = mesh
        self.parameters = parameters
        shards = try parameters.all.map { p in
            let layout = try Self.layout(for: p.split, mesh: mesh.shape)
            let whole = parameters.initialValue(p.index, seed: seed)
            return try ShardedMatrix(scattering: whole.elements, rows: p.rows, columns: p.columns, layout: layout, mesh: mesh)
        }
        gradients = shards.map { [Float](repeating: 0, count: $0.local.count) }
    }

    public mutating func weights(_ indices: [Int]) throws -> [Matrix] {
        try indices.map { i in
            let (rows, columns, elements) = try shards[i].allGathered(over: .fsdp, on: mesh)
            return try Matrix(rows: rows, columns: columns, elements: elements)
        }
    }

    public mutating func accumulateGradients(_ list: [(index: Int, gradient: Matrix)]) throws {
        for (index, gradient) in list {
            let mine = try shards[index].reduceScattered(gradient.elements, over: .fsdp, on: mesh)
            gradients[index].withUnsafeMutableBufferPointer { g in
                for k in 0..<mine.count { g[k] += mine[k] }
            }
        }
    }

    public func allReduceTensorParallel(_ values: inout [Float]) throws {
        guard mesh.shape.tp > 1 else { return }
        try mesh.communicator(.tp).allReduce(&values, op: .sum)
    }

    /// Sets every gradient shard to zero.
    public mutating func zeroGradients() {
        for i in gradients.indices { gradients[i] = [Float](repeating: 0, count: gradients[i].count) }
    }

    /// Multiplies every gradient shard by `factor`.
    public mutating func scaleGradients(_ factor: Float) {
        for i in gradients.indices {
            gradients[i].withUnsafeMutableBufferPointer { g in for k in 0..<g.count { g[k] *= factor } }
        }
    }

    /// The whole of parameter `index` on every rank (for tests and exports; collective).
    public func gathered(_ index: Int) throws -> [Float] { try shards[index].gathered(on: mesh) }
}
