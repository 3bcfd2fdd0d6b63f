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
/// optimizer does the same arithmetic on any mesh as on one process.
///
/// `weights` all-gathers the shards the model asks for over `fsdp` (a block's attention or MLP
/// weights, before the forward and again before the backward; nothing is kept), and
/// `accumulateGradients` reduce-scatters gradients over `fsdp` into this rank's shards: one
/// collective per request for all its matrices (`AxisBatch`). Both are nonblocking collectives.
/// With `overlap` on, `prefetch` starts the all-gathers the model announces (`WeightRequests`: two
/// requests ahead) behind the current compute, a block's reduce-scatter
/// completes while earlier blocks' backward runs, and `progress` (called by the model between
/// kernels) drives them; with it off, each is waited for at once. The same collectives in the
/// same order either way, so the results and the ledger's bytes are identical.
///
/// Completed gradient shards go to the `synchronizer` (scaling and the dp buckets); without one
/// (a caller that only wants the summed gradients), they are just summed.
public struct MeshParameters: ParameterSource {
    public let mesh: DeviceMesh
    public let parameters: TransformerParameters
    /// This rank's shard of every parameter, at its position (`ParameterID.rawValue`).
    public var shards: [ShardedMatrix]
    /// This rank's shard of every gradient, with its parameter's shape and layout: summed over the
    /// micro-batches and fsdp ranks, then (with a `synchronizer`, after `finishGradients`) the
    /// global batch's mean — the same buffer from the reduce-scatter to the optimizer step.
    public var gradients: [ShardedMatrix]
    /// Keep FSDP collectives in flight behind compute (`--overlap`).
    public var overlap = false
    /// Where final gradient shards go (scaling, dp buckets).
    var synchronizer: GradientSynchronizer?
    /// The FSDP collectives in flight.
    let inFlight = FSDPInFlight()

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
    ///
    /// - Throws: `ShardingError` for a parameter the mesh cannot shard.
    public init(parameters: TransformerParameters, mesh: DeviceMesh, seed: UInt64) throws(ShardingError) {
        self.mesh = mesh
        self.parameters = parameters
        shards = try parameters.all.map { (p) throws(ShardingError) in
            let layout = try Self.layout(for: p.split, mesh: mesh.shape)
            let whole = parameters.initialValue(p.id, seed: seed)
            return try ShardedMatrix(scattering: whole.elements, rows: p.rows, columns: p.columns, layout: layout, mesh: mesh)
        }
        gradients = shards.map { shard in
            var gradient = shard
            gradient.block = Matrix(rows: shard.localRows, columns: shard.localColumns)
            return gradient
        }
    }

    public mutating func weights(_ ids: [ParameterID]) throws(TransformerError) -> [Matrix] {
        let indices = ids.map(\.rawValue)
        let members = indices.map { shards[$0] }
        let batch = AxisBatch(members, over: .fsdp, on: mesh)
        let message: [Float]
        do throws(MPIError) {
            if let prefetched = inFlight.takeGather(indices) {
                message = try prefetched.wait()
            } else if batch.isCollective {
                message = try startGather(indices, batch).wait()
            } else {
                message = []
            }
        } catch {
            throw TransformerError(communication: error, while: Self.gathering)
        }
        return try TransformerError.arithmetic { () throws(LinearAlgebraError) in
            try batch.unpackGathered(message, members).map { (block) throws(LinearAlgebraError) in
                try Matrix(rows: block.rows, columns: block.columns, elements: block.elements)
            }
        }
    }

    /// What the FSDP collectives do, for their errors.
    static let gathering = "gathering a block's weights over fsdp"
    static let reducing = "reduce-scattering a block's gradients over fsdp"


    public mutating func prefetch(_ ids: [ParameterID]) throws(TransformerError) {
        guard overlap else { return }
        let indices = ids.map(\.rawValue)
        let batch = AxisBatch(indices.map { shards[$0] }, over: .fsdp, on: mesh)
        guard batch.isCollective else { return }
        do throws(MPIError) {
            inFlight.gathers.append(try startGather(indices, batch))
        } catch {
            throw TransformerError(communication: error, while: Self.gathering)
        }
    }

    private func startGather(_ indices: [Int], _ batch: AxisBatch) throws(MPIError) -> InFlightCollective {
        let input = batch.gatherInput(indices.map { shards[$0] })
        return InFlightCollective(try mesh.communicator(.fsdp).iAllGather(input, counts: batch.counts), indices: indices)
    }

    public mutating func accumulateGradients(_ list: [(id: ParameterID, gradient: Matrix)]) throws(TransformerError) {
        let indices = list.map(\.id.rawValue)
        let batch = AxisBatch(indices.map { shards[$0] }, over: .fsdp, on: mesh)
        let wholes = list.map(\.gradient.elements)
        let last = synchronizer?.lastMicroBatch ?? true
        let flight: InFlightCollective
        if batch.isCollective {
            let input: [Float]
            do throws(ShardingError) {
                input = try batch.reduceScatterInput(wholes)
            } catch {
                throw TransformerError(error, while: Self.reducing)
            }
            do throws(MPIError) {
                flight = InFlightCollective(try mesh.communicator(.fsdp).iReduceScatter(input, counts: batch.counts, op: .sum),
                                            indices: indices, kept: batch.unshardedBlocks(wholes), last: last)
            } catch {
                throw TransformerError(communication: error, while: Self.reducing)
            }
        } else {
            flight = InFlightCollective(finished: [], indices: indices, kept: wholes, last: last)
        }
        inFlight.reductions.append(flight)
        if overlap {
            try completeFinishedReductions()
        } else {
            try completeReductions()
        }
    }

    public mutating func progress() throws(TransformerError) {
        guard overlap else { return }
        do throws(MPIError) {
            _ = try inFlight.gathers.first?.test()
        } catch {
            throw TransformerError(communication: error, while: Self.gathering)
        }
        try completeFinishedReductions()
        try synchronizer?.progress()
    }

    /// Completes the reduce-scatters at the head of the queue that have finished (in order, so
    /// each shard sums its micro-batches in the same order whatever MPI's timing).
    private mutating func completeFinishedReductions() throws(TransformerError) {
        while let first = inFlight.reductions.first, try Self.reduction({ () throws(MPIError) in try first.test() }) {
            try complete(inFlight.reductions.removeFirst())
        }
    }

    /// Completes every reduce-scatter in flight, in order.
    private mutating func completeReductions() throws(TransformerError) {
        while !inFlight.reductions.isEmpty { try complete(inFlight.reductions.removeFirst()) }
    }

    /// `body`, a step of a gradient reduce-scatter, with its failure reported as the model's.
    private static func reduction<T>(_ body: () throws(MPIError) -> T) throws(TransformerError) -> T {
        do {
            return try body()
        } catch {
            throw TransformerError(communication: error, while: reducing)
        }
    }

    private mutating func complete(_ flight: InFlightCollective) throws(TransformerError) {
        let batch = AxisBatch(flight.indices.map { shards[$0] }, over: .fsdp, on: mesh)
        // Each piece is a slice of the received message (no copy), added into the shard in place.
        let pieces = batch.reducedPieces(try Self.reduction { () throws(MPIError) in try flight.wait() }, wholes: flight.kept)
        for (index, mine) in zip(flight.indices, pieces) {
            guard mine.count == gradients[index].local.count else {
                throw TransformerError(.shapeMismatch, "gradient shard of \(mine.count) elements for parameter \(index) "
                                       + "of \(gradients[index].local.count)")
            }
            gradients[index].local.withUnsafeMutableBufferPointer { g in
                mine.withUnsafeBufferPointer { m in
                    for k in 0..<m.count { g[k] += m[k] }
                }
            }
        }
        if flight.last { try synchronizer?.shardsFinal(flight.indices, gradients: &gradients) }
    }

    /// Starts a step's gradient accumulation: zero shards, nothing in flight.
    mutating func beginGradients() {
        zeroGradients()
        synchronizer?.beginStep()
    }

    /// Ends a step's backward passes: completes the FSDP collectives in flight (a prefetched
    /// gather nobody asked for is waited for and dropped) and the synchronizer's dp buckets.
    /// Afterwards `gradients` is the global batch's mean (with a synchronizer).
    ///
    /// - Throws: `TrainingError.communication` with the `MPIError` of a failed collective.
    mutating func finishGradients() throws(TrainingError) {
        do throws(TransformerError) {
            try completeReductions()
        } catch {
            throw TrainingError(error)
        }
        do throws(MPIError) {
            while let gather = inFlight.gathers.first {
                inFlight.gathers.removeFirst()
                _ = try gather.wait()
            }
        } catch {
            throw TrainingError(communication: error, while: Self.gathering)
        }
        do throws(MPIError) {
            try synchronizer?.finish(gradients: &gradients)
        } catch {
            throw TrainingError(communication: error, while: GradientSynchronizer.averaging)
        }
    }

    public func allReduceTensorParallel(_ values: inout [Float]) throws(TransformerError) {
        guard mesh.shape.tp > 1 else { return }
        do throws(MPIError) {
            try mesh.communicator(.tp).allReduce(&values, op: .sum)
        } catch {
            throw TransformerError(communication: error, while: "summing activations over tp")
        }
    }

    /// Sets every gradient shard to zero.
    public mutating func zeroGradients() {
        for i in gradients.indices { gradients[i].local.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Multiplies every gradient shard by `factor`.
    public mutating func scaleGradients(_ factor: Float) {
        for i in gradients.indices { gradients[i].block.scale(factor) }
    }

    /// The whole of parameter `id` on every rank (for tests and exports; collective).
    ///
    /// - Throws: `ShardingError` (`.communication` with the `MPIError` when the gather fails).
    public func gathered(_ id: ParameterID) throws(ShardingError) -> [Float] { try shards[id.rawValue].gathered(on: mesh) }
}

/// The FSDP collectives of `MeshParameters` in flight, oldest first (a reference, so the
/// `ParameterSource` value can hand them from call to call).
final class FSDPInFlight {
    /// Prefetched all-gathers, by the parameters they carry.
    var gathers: [InFlightCollective] = []
    /// Reduce-scatters of gradient blocks, in the order the backward issued them.
    var reductions: [InFlightCollective] = []

    /// The prefetched all-gather of exactly `indices`, if it is the oldest one.
    func takeGather(_ indices: [Int]) -> InFlightCollective? {
        guard let first = gathers.first, first.indices == indices else { return nil }
        return gathers.removeFirst()
    }
}
