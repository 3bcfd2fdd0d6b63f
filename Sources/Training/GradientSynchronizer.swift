import LinearAlgebra
import MPIShim
import Sharding
import Transformer

/// The training step's gradient synchronization, the one place that turns each rank's summed
/// gradient shards into the gradient of the global batch's mean loss that the optimizers step on.
///
/// In order, per step:
/// 1. **Scale once.** When a block's shards are final (its last micro-batch reduce-scattered over
///    `fsdp`), they are multiplied by 1/(F·A): the mean over the fsdp group's data and the
///    micro-batches.
/// 2. **Average over `dp` in buckets.** The same moment, the block's shards are concatenated and
///    all-reduce-averaged over `dp` as one nonblocking collective (one bucket per block, in the
///    order the backward finishes them); `finish` waits for them. With overlap on they run behind
///    the rest of the backward.
/// 3. **One finiteness vote.** `agree` all-reduces (loss, non-finite flag, stop flag) over the
///    world once: every rank skips the step, or stops, together.
/// 4. **Clip** by the global norm when `--grad-clip` > 0 (`clip`).
///
/// The optimizers are then told that the gradients are averaged and agreed finite
/// (`ParameterOptimizers`, `gradientsAveragedByCaller`, `finitenessAgreedByCaller`). The one
/// exception is **Dion's compressed dp sync** (`--sync compressed`, or `automatic` where it pays,
/// without clipping): those matrices are scaled here but not averaged, because Dion all-reduces
/// its rank-r factors P₀ and R over `dp` instead of the gradient (`averagedHere` is `false`).
final class GradientSynchronizer {
    let mesh: DeviceMesh
    /// 1/(F·A).
    let scale: Float
    /// Per parameter: averaged over `dp` here (else by its optimizer).
    let averagedHere: [Bool]
    /// Leave the dp all-reduces in flight until `finish` (else each is waited for at once).
    var overlap: Bool
    private var pending: [InFlightCollective] = []
    /// Dion's backward stage, given each block's final shards after they are scaled (`nil`
    /// where it does not apply).
    var dionLink: DionBackwardLink?
    private var dispatched: [Bool]
    /// Whether the backward running now is the step's last micro-batch.
    private(set) var lastMicroBatch = true

    init(mesh: DeviceMesh, fsdp: Int, microBatches: Int, averagedHere: [Bool], overlap: Bool) {
        self.mesh = mesh
        self.scale = 1 / Float(fsdp * microBatches)
        self.averagedHere = averagedHere
        self.overlap = overlap
        dispatched = averagedHere.map { _ in false }
    }

    /// What the synchronizer's collectives do, for their errors (`TrainingError.communication`).
    static let averaging = "averaging the gradients over dp"
    static let voting = "agreeing on the step's loss and finiteness across ranks"
    static let clipping = "summing the gradient norm across ranks"

    /// Starts the accumulation of a step's gradients.
    func beginStep() {
        precondition(pending.isEmpty, "a step's dp all-reduces were not finished")
        dispatched = averagedHere.map { _ in false }
    }

    /// The next micro-batch's backward starts; its gradients are final when it is the last one.
    func beginMicroBatch(last: Bool) { lastMicroBatch = last }

    /// Called with the parameters of one block whose shards just received the last
    /// micro-batch's contribution (in the order the backward issued them, whatever MPI's
    /// timing): scales them, starts their dp bucket and hands Dion's to its backward stage.
    ///
    /// - Throws: `TransformerError.communication` with the failed collective's `MPIError` and
    ///   what it was doing (the dp average, or Dion's reductions).
    func shardsFinal(_ indices: [Int], gradients: inout [ShardedMatrix]) throws(TransformerError) {
        let fresh = indices.filter { !dispatched[$0] }
        do throws(MPIError) {
            try dispatch(fresh, gradients: &gradients)
        } catch {
            throw TransformerError(communication: error, while: Self.averaging)
        }
        do throws(MPIError) {
            try dionLink?.gradientsFinal(fresh, gradients: gradients)
        } catch {
            throw TransformerError(communication: error, while: DionBackwardLink.communicating)
        }
    }

    private func dispatch(_ indices: [Int], gradients: inout [ShardedMatrix]) throws(MPIError) {
        guard !indices.isEmpty else { return }
        let factor = scale
        for i in indices {
            dispatched[i] = true
            gradients[i].block.scale(factor)
        }
        let bucket = indices.filter { averagedHere[$0] }
        guard mesh.shape.replicate > 1, !bucket.isEmpty else { return }
        let total = bucket.reduce(0) { $0 + gradients[$1].local.count }
        // The bucket is packed straight into the request's buffer and read back from it (no copies in between).
        let request = try mesh.communicator(.replicate).iAllReduce(count: total, op: .average) { (message: UnsafeMutableBufferPointer<Float>) in
            var offset = 0
            for i in bucket {
                gradients[i].local.withUnsafeBufferPointer { block in
                    _ = UnsafeMutableBufferPointer(rebasing: message[offset..<(offset + block.count)]).initialize(fromContentsOf: block)
                    offset += block.count
                }
            }
        }
        let flight = InFlightCollective(request, indices: bucket)
        if overlap {
            pending.append(flight)
        } else {
            try Self.write(flight, into: &gradients)
        }
    }

    /// Drives the buckets in flight (an `MPI_Test` each) and Dion's backward stage.
    ///
    /// - Throws: `TransformerError.communication`, as `shardsFinal`.
    func progress() throws(TransformerError) {
        do throws(MPIError) {
            // Every bucket: an all-reduce posts its second round when a test finds its first complete.
            for flight in pending { _ = try flight.test() }
        } catch {
            throw TransformerError(communication: error, while: Self.averaging)
        }
        do throws(MPIError) {
            try dionLink?.progress()
        } catch {
            throw TransformerError(communication: error, while: DionBackwardLink.communicating)
        }
    }

    /// Dispatches what the backward did not (a parameter without gradient), then waits for every
    /// bucket and writes the averages back: the gradients are the global batch's mean.
    func finish(gradients: inout [ShardedMatrix]) throws(MPIError) {
        lastMicroBatch = true
        try dispatch(gradients.indices.filter { !dispatched[$0] }, gradients: &gradients)
        while !pending.isEmpty {
            try Self.write(pending.removeFirst(), into: &gradients)
        }
    }

    /// What every rank agreed on after the vote.
    struct Agreement {
        /// The mean of the ranks' finite losses (a non-finite rank contributes 0).
        let loss: Double
        let nonFinite: Bool
        let stop: Bool
    }

    /// The one finiteness vote: (loss, non-finite, stop) summed over the world in one 3-element
    /// all-reduce, so every rank takes the same branch.
    func agree(localLoss: Float, gradients: [ShardedMatrix], stop: Bool) throws(MPIError) -> Agreement {
        let finite = localLoss.isFinite && gradients.allSatisfy { Finiteness.allFinite($0.local) }
        var agreed: [Double] = [finite ? Double(localLoss) : 0, finite ? 0 : 1, stop ? 1 : 0]
        try mesh.world.allReduce(&agreed, op: .sum)
        return Agreement(loss: agreed[0] / Double(mesh.world.size), nonFinite: agreed[1] > 0,
                         stop: agreed[2] > 0)
    }

    /// Scales every gradient by min(1, clip / ‖g‖), ‖g‖ the global norm: shards over fsdp and tp
    /// summed once each (tp-replicated tensors counted on tp rank 0), replicas once (the
    /// gradients are dp-averaged, so each replica holds the same values). One 1-element
    /// all-reduce over the world.
    func clip(_ gradients: inout [ShardedMatrix], shards: [ShardedMatrix], to clip: Float) throws(MPIError) {
        var sum: [Double] = [0]
        for (i, g) in gradients.enumerated() {
            let layout = shards[i].layout
            let tpSplit = layout.rows.axis == .tp || layout.columns.axis == .tp
            guard tpSplit || mesh.index(on: .tp) == 0 else { continue }
            sum[0] += g.local.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        try mesh.world.allReduce(&sum, op: .sum)
        let norm = (sum[0] / Double(mesh.shape.replicate)).squareRoot()
        let factor = Float(min(1, Double(clip) / (norm + 1e-6)))
        guard factor < 1 else { return }
        for i in gradients.indices { gradients[i].block.scale(factor) }
    }

    /// Waits for the averaged bucket `flight` and writes it back into the shards it was packed
    /// from (in `flight.indices` order), in place.
    private static func write(_ flight: InFlightCollective, into gradients: inout [ShardedMatrix]) throws(MPIError) {
        try flight.wait { message in
            var offset = 0
            for i in flight.indices {
                gradients[i].local.withUnsafeMutableBufferPointer { block in
                    _ = block.update(fromContentsOf: UnsafeBufferPointer(rebasing: message[offset..<(offset + block.count)]))
                    offset += block.count
                }
            }
        }
    }
}
