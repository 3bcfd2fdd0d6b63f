import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// The preamble every distributed optimizer step shares: check the gradient against the
/// parameter, agree across all ranks on skipping a non-finite gradient (one 1-element
/// all-reduce over the world, so every rank takes the same branch), and average the gradient
/// block over `dp` unless the optimizer synchronizes otherwise.
enum ShardedStepSupport {
    /// `nil` to proceed, or the outcome every rank returns for a non-finite gradient.
    static func agreeOnFiniteness(_ g: ShardedMatrix, like x: ShardedMatrix, policy: NonFiniteGradientPolicy,
                                  mesh: DeviceMesh, agreedByCaller: Bool = false) throws -> StepOutcome? {
        try agreeOnFiniteness([g], like: [x], policy: policy, mesh: mesh, agreedByCaller: agreedByCaller)[0]
    }

    /// Whether the gradient `g` fits a parameter of `rows`×`columns` in `layout` whose block on this
    /// rank is `block` (rows, columns): the global shape and layout, which every rank judges alike,
    /// and the block they imply.
    static func fits(_ g: ShardedMatrix, rows: Int, columns: Int, layout: ShardLayout, block: (rows: Int, columns: Int)) -> Bool {
        g.rows == rows && g.columns == columns && g.layout == layout && g.block.rows == block.rows
            && g.block.columns == block.columns
    }

    /// Per matrix, `nil` to proceed or the outcome every rank returns for its non-finite
    /// gradient; one all-reduce of one flag per matrix over the world — none when
    /// `agreedByCaller` (the caller's own vote found every gradient finite on every rank).
    static func agreeOnFiniteness(_ gs: [ShardedMatrix], like xs: [ShardedMatrix], policy: NonFiniteGradientPolicy,
                                  mesh: DeviceMesh, agreedByCaller: Bool = false) throws -> [StepOutcome?] {
        for (g, x) in zip(gs, xs) {
            guard fits(g, rows: x.rows, columns: x.columns, layout: x.layout, block: (x.block.rows, x.block.columns)) else {
                throw OptimizerError(.shapeMismatch, "gradient \(g.rows)×\(g.columns) \(g.layout) does not match parameter "
                                     + "\(x.rows)×\(x.columns) \(x.layout)")
            }
        }
        if agreedByCaller { return gs.map { _ in nil } }
        var bad: [Int32] = gs.map { Finiteness.allFinite($0.local) ? 0 : 1 }
        try mesh.world.allReduce(&bad, op: .max)
        if policy == .error && bad.contains(where: { $0 != 0 }) {
            throw OptimizerError(.nonFiniteGradient, "a gradient shard contains NaN or ±∞")
        }
        return bad.map { $0 != 0 ? .skipped(reason: "non-finite gradient") : nil }
    }

    /// The gradient block averaged over the replicas (unchanged with one replica).
    static func averagedOverReplicas(_ g: ShardedMatrix, mesh: DeviceMesh) throws -> [Float] {
        var gradient = g.local
        if mesh.shape.replicate > 1 { try mesh.communicator(.replicate).allReduce(&gradient, op: .average) }
        return gradient
    }

    /// Runs `body`, the step of `context` (e.g. "Dion's step"), passing `OptimizerError`s through.
    ///
    /// - Throws: `OptimizerError.communication` with the `MPIError` for a failed collective (an
    ///   `MPIError`, or a `ShardingError` that carries one); `.shapeMismatch` for another
    ///   `ShardingError` (a layout or shape the mesh cannot hold; its message kept); `.numerical`
    ///   for anything else (a linear-algebra failure).
    static func run<T>(_ context: String, _ body: () throws -> T) throws(OptimizerError) -> T {
        do {
            return try body()
        } catch let error as OptimizerError {
            throw error
        } catch let error as MPIError {
            throw OptimizerError(communication: error, while: context)
        } catch let error as ShardingError {
            if let mpi = error.underlyingError { throw OptimizerError(communication: mpi, while: context) }
            throw OptimizerError(.shapeMismatch, "\(error)")
        } catch {
            throw OptimizerError(.numerical, "\(error)")
        }
    }
}
