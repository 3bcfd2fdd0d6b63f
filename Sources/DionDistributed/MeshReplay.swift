import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `dion replay --mesh`: a recorded case (`Replay.Input`, in the single-process format) stepped by
/// the distributed optimizer on a mesh, with the state after each step gathered back into the
/// single-process format, so the output compares directly with `Replay.run`'s.
///
/// Dion keeps the single-process work orientation (B = Mᵀ when m < n): by default each matrix is
/// sharded with `DionWorkGeometry.layout(keepingTransposed:on:)` — the rule the training job uses —
/// so the recorded Q₀ and every reported Q are the single-process q×r matrices on every mesh (dp,
/// fsdp, tp and their products), square matrices included. A layout the caller names that would
/// flip the orientation is refused before any collective, on every rank, with the layout that
/// keeps it; a matrix is never read in the other orientation.
public enum MeshReplay {
    /// The layout a case is sharded with on `mesh`: `requested` when given, else for Dion the one
    /// that keeps the single-process orientation and for Muon rows over `fsdp` (when the mesh has
    /// it). Pure: every rank reaches the same answer without communicating.
    ///
    /// - Parameters:
    ///   - input: the recorded case.
    ///   - mesh: the mesh shape.
    ///   - requested: the layout the caller asks for, or `nil`.
    /// - Returns: the layout.
    /// - Throws: `OptimizerError.unsupportedTensor` when `requested` would change Dion's orientation
    ///   or cannot be stepped (naming the layout that keeps it); `.shapeMismatch` for an empty or
    ///   ragged `X0`; `.invalidHyperparameter` for an optimizer other than Dion and Muon.
    public static func layout(for input: Replay.Input, on mesh: MeshShape,
                              requested: ShardLayout? = nil) throws(OptimizerError) -> ShardLayout {
        let (m, n) = try shape(of: input)
        switch input.optimizer {
        case "dion":
            let transposed = DionWorkGeometry.singleDeviceTransposed(rows: m, columns: n)
            let layout = requested ?? DionWorkGeometry.layout(keepingTransposed: transposed, on: mesh)
            do throws(ShardingError) {
                _ = try DionWorkGeometry(layout: layout, rows: m, columns: n, keepingTransposed: transposed, on: mesh)
            } catch {
                throw OptimizerError(.unsupportedTensor, "replay of a \(m)×\(n) Dion case: \(error.message)")
            }
            return layout
        case "muon":
            return requested ?? (mesh.fsdp > 1 ? .fsdp : .replicated)
        default:
            throw OptimizerError(.invalidHyperparameter, "replay on a mesh supports dion and muon (adamw and lion are "
                                 + "elementwise: their single-process replay is the distributed result)")
        }
    }

    /// Replays `input` on `mesh` (collective: every rank calls it; every rank returns the same
    /// records).
    ///
    /// - Parameters:
    ///   - input: the recorded case; `Q0`, when given, in the single-process orientation.
    ///   - mesh: the mesh to run on.
    ///   - requested: the layout to shard with, or `nil` for `layout(for:on:)`'s choice.
    /// - Returns: the state after each step — X, the momentum and (Dion) Q — in the single-process
    ///   format.
    /// - Throws: `OptimizerError` as `layout(for:on:requested:)` does, before any collective; for
    ///   a Q₀ or gradient of the wrong shape; `.communication` (with the `MPIError`) when a
    ///   collective fails; or `.numerical` when the step fails.
    public static func run(_ input: Replay.Input, mesh: DeviceMesh,
                           layout requested: ShardLayout? = nil) throws(OptimizerError) -> [Replay.StepRecord] {
        let layout = try layout(for: input, on: mesh.shape, requested: requested)
        let (m, n) = try shape(of: input)
        let h = input.hyperparameters
        var x = try sharded(try matrix(input.X0, "X0"), layout, mesh)
        var gradients: [ShardedMatrix] = []
        for (k, g) in input.gradients.enumerated() {
            gradients.append(try sharded(try matrix(g, "gradient \(k)"), layout, mesh))
        }
        var records: [Replay.StepRecord] = []
        switch input.optimizer {
        case "dion":
            let dion = DistributedDion(try h.dionConfiguration())
            let transposed = DionWorkGeometry.singleDeviceTransposed(rows: m, columns: n)
            var state = try dion.initialState(for: x, parameterID: 0, mesh: mesh, q0: try input.Q0.map { q throws(OptimizerError) in
                try matrix(q, "Q0")
            }, transposed: transposed)
            // Q is row-sharded over fsdp when B's columns are; whole over tp.
            let qLayout: ShardLayout = try DistributedDion.geometry(x, preferTransposed: transposed).outer(on: mesh.shape) == .fsdp ? .fsdp : .replicated
            for g in gradients {
                _ = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: h.learningRate, mesh: mesh)
                let q = try gathered(state.q, rows: transposed ? m : n, columns: state.q.columns, qLayout, mesh)
                records.append(Replay.StepRecord(X: try gathered(x, mesh), momentum: try gathered(state.momentum, rows: m,
                                                                                                columns: n, layout, mesh),
                                                 Q: q))
            }
        default:
            let muon = DistributedMuon(try h.muonConfiguration())
            var state = try muon.initialState(for: x, parameterID: 0, mesh: mesh)
            for g in gradients {
                _ = try muon.step(parameter: &x, gradient: g, state: &state, learningRate: h.learningRate, mesh: mesh)
                records.append(Replay.StepRecord(X: try gathered(x, mesh), momentum: try gathered(state.momentum, rows: m,
                                                                                                columns: n, layout, mesh),
                                                 Q: nil))
            }
        }
        return records
    }

    // MARK: - Conversions (every failure becomes an OptimizerError the user can read)

    private static func shape(of input: Replay.Input) throws(OptimizerError) -> (rows: Int, columns: Int) {
        let m = input.X0.count, n = input.X0.first?.count ?? 0
        guard m > 0, n > 0, input.X0.allSatisfy({ $0.count == n }) else {
            throw OptimizerError(.shapeMismatch, "X0 must be a non-empty list of rows of equal length")
        }
        return (m, n)
    }

    private static func matrix(_ nested: [[Float]], _ name: String) throws(OptimizerError) -> Matrix {
        do throws(LinearAlgebraError) { return try Matrix(nested) } catch {
            throw OptimizerError(.shapeMismatch, "\(name): \(error.message)")
        }
    }

    private static func sharded(_ whole: Matrix, _ layout: ShardLayout, _ mesh: DeviceMesh) throws(OptimizerError) -> ShardedMatrix {
        do throws(ShardingError) {
            return try ShardedMatrix(scattering: whole.elements, rows: whole.rows, columns: whole.columns, layout: layout,
                                     mesh: mesh)
        } catch {
            throw OptimizerError(.shapeMismatch, error.message)
        }
    }

    private static func gathered(_ x: ShardedMatrix, _ mesh: DeviceMesh) throws(OptimizerError) -> [[Float]] {
        try gathered(x.local, rows: x.rows, columns: x.columns, x.layout, mesh)
    }

    private static func gathered(_ local: Matrix, rows: Int, columns: Int, _ layout: ShardLayout,
                                 _ mesh: DeviceMesh) throws(OptimizerError) -> [[Float]] {
        try gathered(local.elements, rows: rows, columns: columns, layout, mesh)
    }

    /// The whole matrix from this rank's block (collective over the layout's axes).
    private static func gathered(_ local: [Float], rows: Int, columns: Int, _ layout: ShardLayout,
                                 _ mesh: DeviceMesh) throws(OptimizerError) -> [[Float]] {
        do {
            let block = try ShardedMatrix(rows: rows, columns: columns, layout: layout, local: local, mesh: mesh)
            return try Matrix(rows: rows, columns: columns, elements: try block.gathered(on: mesh)).nested
        } catch let error as ShardingError {
            if let mpi = error.underlyingError { throw OptimizerError(communication: mpi, while: "gathering the replayed state") }
            throw OptimizerError(.numerical, "gathering the replayed state: \(error)")
        } catch {
            throw OptimizerError(.numerical, "gathering the replayed state: \(error)")
        }
    }
}
