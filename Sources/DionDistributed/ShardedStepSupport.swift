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
                                  mesh: DeviceMesh) throws -> StepOutcome? {
        guard g.rows == x.rows, g.columns == x.columns, g.layout == x.layout, g.local.count == x.local.count else {
            throw OptimizerError(.shapeMismatch, "gradient \(g.rows)×\(g.columns) \(g.layout) does not match parameter "
                                 + "\(x.rows)×\(x.columns) \(x.layout)")
        }
        var bad: [Int32] = [g.local.allSatisfy { $0.isFinite } ? 0 : 1]
        try mesh.world.allReduce(&bad, op: .max)
        guard bad[0] != 0 else { return nil }
        if policy == .error { throw OptimizerError(.nonFiniteGradient, "a gradient shard contains NaN or ±∞") }
        return .skipped(reason: "non-finite gradient")
    }

    /// The gradient block averaged over the replicas (unchanged with one replica).
    static func averagedOverReplicas(_ g: ShardedMatrix, mesh: DeviceMesh) throws -> [Float] {
        var gradient = g.local
        if mesh.shape.replicate > 1 { try mesh.communicator(.replicate).allReduce(&gradient, op: .average) }
        return gradient
    }

    /// Runs `body`, passing `OptimizerError`s through and wrapping every other error.
    static func run<T>(_ body: () throws -> T) throws(OptimizerError) -> T {
        do {
            return try body()
        } catch let error as OptimizerError {
            throw error
        } catch {
            throw OptimizerError(.numerical, "\(error)")
        }
    }
}
