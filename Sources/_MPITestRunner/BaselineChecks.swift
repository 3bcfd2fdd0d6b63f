import DionDistributed
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// Distributed Muon (owner schemes) and elementwise AdamW/Lion against their single-process
/// versions: three steps, gathered X within 1e-6 (in practice bit-identical: the owner sees the
/// whole matrix and the elementwise updates are the same arithmetic).
func runBaselineChecks(_ world: Communicator, mesh text: String, _ checker: inout Checker) throws {
    let mesh = try DeviceMesh(shape: try MeshShape(parsing: text), world: world)
    let generator = KeyedNormalGenerator(seed: 8)
    let layouts = dionLayouts(for: mesh.shape)
    for (index, (m, n)) in [(130, 70), (70, 130), (3, 5)].enumerated() {
        for layout in layouts {
            let x0 = generator.matrix(stream: UInt64(600 + index), rows: m, columns: n)
            let grads = (0..<3).map { generator.matrix(stream: UInt64(700 + 10 * index + $0), rows: m, columns: n) }
            func compare(_ name: String, _ distributed: [Float], _ single: Matrix) throws {
                let error = zip(distributed, single.elements).map { abs($0 - $1) }.max() ?? 0
                try checker.expect(error <= 1e-6, true, "\(name) \(m)×\(n) \(layout): error \(error)")
            }
            for configuration in [try Muon.Configuration(), try Muon.Configuration(nesterov: true, coefficients: .kellerJordan)] {
                let distributed = DistributedMuon(configuration)
                var x = try ShardedMatrix(scattering: x0.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                var state = try distributed.initialState(for: x, parameterID: UInt64(index), mesh: mesh)
                var reference = x0
                var referenceState = try distributed.muon.initialState(for: x0)
                for g in grads {
                    let shard = try ShardedMatrix(scattering: g.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                    _ = try distributed.step(parameter: &x, gradient: shard, state: &state, learningRate: 0.02, mesh: mesh)
                    _ = try distributed.muon.step(parameter: &reference, gradient: g, state: &referenceState, learningRate: 0.02)
                }
                try compare("Muon \(configuration.coefficients.rawValue)", try x.gathered(on: mesh), reference)
            }
            let adam = DistributedElementwise(AdamW(try AdamW.Configuration()))
            let lion = DistributedElementwise(Lion(try Lion.Configuration()))
            var xa = try ShardedMatrix(scattering: x0.elements, rows: m, columns: n, layout: layout, mesh: mesh)
            var xl = xa
            var sa = try adam.initialState(for: xa), sl = try lion.initialState(for: xl)
            var ra = x0, rl = x0
            var rsa = try adam.optimizer.initialState(for: x0), rsl = try lion.optimizer.initialState(for: x0)
            for g in grads {
                let shard = try ShardedMatrix(scattering: g.elements, rows: m, columns: n, layout: layout, mesh: mesh)
                _ = try adam.step(parameter: &xa, gradient: shard, state: &sa, learningRate: 0.01, mesh: mesh)
                _ = try lion.step(parameter: &xl, gradient: shard, state: &sl, learningRate: 0.01, mesh: mesh)
                _ = try adam.optimizer.step(parameter: &ra, gradient: g, state: &rsa, learningRate: 0.01)
                _ = try lion.optimizer.step(parameter: &rl, gradient: g, state: &rsl, learningRate: 0.01)
            }
            try compare("AdamW", try xa.gathered(on: mesh), ra)
            try compare("Lion", try xl.gathered(on: mesh), rl)
        }
    }
    try world.barrier()
}
