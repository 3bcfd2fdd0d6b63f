import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// `dion replay --mesh …` under mpirun: the recorded gradients are sharded per layout (FSDP when
/// the mesh has fsdp > 1, else replicated), the distributed optimizer steps them, and the state
/// after each step is gathered (rank 0 writes it in the single-process replay format).
///
/// Q is reported in the work orientation of the layout: under FSDP that is Mᵀ's (q = m rows), so a
/// tall matrix's Q has m rows here and min(m, n) = n rows in the single-process replay.
enum ReplayOnMesh {
    static func run(_ input: Replay.Input, mesh: DeviceMesh) throws -> [Replay.StepRecord] {
        let x0 = try Matrix(input.X0)
        let (m, n) = (x0.rows, x0.columns)
        let layout: ShardLayout = mesh.shape.fsdp > 1 ? .fsdp : .replicated
        var x = try ShardedMatrix(scattering: x0.elements, rows: m, columns: n, layout: layout, mesh: mesh)
        let h = input.hyperparameters
        let lr = h.lr ?? 0.01
        var records: [Replay.StepRecord] = []
        func gathered(_ local: Matrix) throws -> [[Float]] {
            let sharded = try ShardedMatrix(rows: m, columns: n, layout: layout, local: local.elements, mesh: mesh)
            return try Matrix(rows: m, columns: n, elements: try sharded.gathered(on: mesh)).nested
        }
        func gradient(_ nested: [[Float]]) throws -> ShardedMatrix {
            try ShardedMatrix(scattering: try Matrix(nested).elements, rows: m, columns: n, layout: layout, mesh: mesh)
        }
        switch input.optimizer {
        case "dion":
            let rank: DionConfiguration.Rank = h.rank.map { .absolute($0) } ?? .fraction(h.rank_fraction ?? 1)
            let method = OrthonormalizationMethod(rawValue: h.orthonormalization ?? "rcqr") ?? .rcqr
            let dion = DistributedDion(try DionConfiguration(momentum: h.mu ?? 0.95, weightDecay: h.weight_decay ?? 0.01,
                                                             epsilon: h.epsilon ?? 1e-8, rank: rank, orthonormalization: method))
            var state = try dion.initialState(for: x, parameterID: 0, mesh: mesh, q0: try input.Q0.map { try Matrix($0) })
            for g in input.gradients {
                _ = try dion.step(parameter: &x, gradient: try gradient(g), state: &state, learningRate: lr, mesh: mesh)
                var q = state.q.nested
                if layout == .fsdp {
                    let counts = ChunkSplit.sizes(length: m, parts: mesh.shape.fsdp).map { $0 * state.q.columns }
                    let all = try mesh.communicator(.fsdp).allGather(state.q.elements, counts: counts)
                    q = try Matrix(rows: m, columns: state.q.columns, elements: all).nested
                }
                records.append(Replay.StepRecord(X: try gathered(try Matrix(rows: x.localRows, columns: x.localColumns,
                                                                                elements: x.local)),
                                                 momentum: try gathered(state.momentum), Q: q))
            }
        case "muon":
            let coefficients = NewtonSchulz.Coefficients(rawValue: h.coefficients ?? "polar-express") ?? .polarExpress
            let adjustment = Muon.LearningRateAdjustment(rawValue: h.adjust_lr ?? "spectral_norm") ?? .spectralNorm
            let muon = DistributedMuon(try Muon.Configuration(momentum: h.mu ?? 0.95, weightDecay: h.weight_decay ?? 0.01,
                                                              nesterov: h.nesterov ?? false, coefficients: coefficients,
                                                              adjustment: adjustment))
            var state = try muon.initialState(for: x, parameterID: 0, mesh: mesh)
            for g in input.gradients {
                _ = try muon.step(parameter: &x, gradient: try gradient(g), state: &state, learningRate: lr, mesh: mesh)
                records.append(Replay.StepRecord(X: try gathered(try Matrix(rows: x.localRows, columns: x.localColumns,
                                                                                elements: x.local)),
                                                 momentum: try gathered(state.momentum), Q: nil))
            }
        default:
            throw OptimizerError(.invalidHyperparameter, "replay on a mesh supports dion and muon (adamw and lion are "
                                 + "elementwise: their single-process replay is the distributed result)")
        }
        return records
    }
}
