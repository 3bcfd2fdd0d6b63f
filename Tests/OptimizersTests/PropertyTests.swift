import Testing
import Foundation
import LinearAlgebra
@testable import Optimizers

@Suite("Optimizer properties and errors")
struct PropertyTests {
    let generator = KeyedNormalGenerator(seed: 42)

    func random(_ m: Int, _ n: Int, stream: UInt64) -> Matrix { generator.matrix(stream: stream, rows: m, columns: n) }

    @Test("error feedback: at full rank one step leaves M = μ·G", arguments: [(12, 6), (6, 12), (7, 7)])
    func errorFeedback(m: Int, n: Int) throws {
        let dion = Dion(try DionConfiguration(momentum: 0.9, weightDecay: 0))
        var x = random(m, n, stream: 1)
        let g = random(m, n, stream: 2)
        var state = try dion.initialState(for: x)
        _ = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: 0.01)
        var expected = g
        expected.scale(0.9)
        let error = zip(state.momentum.elements, expected.elements).map { abs($0 - $1) }.max() ?? 0
        #expect(error < 1e-5)
    }

    @Test("ρ = 1, μ = 0, a fixed full-rank square gradient: the update converges to an orthogonal matrix × scale")
    func orthogonalUpdate() throws {
        let n = 8
        let dion = Dion(try DionConfiguration(momentum: 0, weightDecay: 0, orthonormalization: .rcqr))
        var x = Matrix(rows: n, columns: n)
        let g = random(n, n, stream: 3)
        var state = try dion.initialState(for: x)
        var update = Matrix(rows: n, columns: n)
        for _ in 0..<60 {
            let before = x
            _ = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: 1)
            update = before
            update.scaleAndAdd(1, -1, x)  // = η·s·P·Qᵀ with η = s = 1
        }
        let gram = try BLAS.matmul(update, transposeA: true, update)
        let error = zip(gram.elements, Matrix.identity(n).elements).map { abs($0 - $1) }.max() ?? 1
        #expect(error < 1e-3, "UᵀU differs from I by \(error)")
    }

    @Test("AdamW's first step is the closed form (1−ηλ)X − η·g/(|g| + ε)")
    func adamClosedForm() throws {
        let adam = AdamW(try AdamW.Configuration(weightDecay: 0.1, epsilon: 1e-8))
        var x = random(3, 4, stream: 4)
        let x0 = x
        let g = random(3, 4, stream: 5)
        var state = try adam.initialState(for: x)
        _ = try adam.step(parameter: &x, gradient: g, state: &state, learningRate: 0.01)
        for i in x.elements.indices {
            let expected = (1 - 0.001) * x0.elements[i] - 0.01 * g.elements[i] / (abs(g.elements[i]) + 1e-8)
            #expect(abs(x.elements[i] - expected) < 1e-6)
        }
    }

    @Test("AdamW's and Lion's C loops give the scalar formula's bits, over several steps and an odd size")
    func elementwiseKernelsBitExact() throws {
        let c = try AdamW.Configuration(beta1: 0.9, beta2: 0.95, weightDecay: 0.01, epsilon: 1e-8)
        let adam = AdamW(c)
        var x = random(37, 29, stream: 20)
        var state = try adam.initialState(for: x)
        var (ex, em, ev) = (x.elements, state.m.elements, state.v.elements)
        for step in 1...3 {
            let g = random(37, 29, stream: 20 + UInt64(step))
            let eta: Float = 0.004
            _ = try adam.step(parameter: &x, gradient: g, state: &state, learningRate: eta)
            let t = Float(step)
            let correction1 = 1 - powf(c.beta1, t), correction2 = (1 - powf(c.beta2, t)).squareRoot()
            let decay = 1 - eta * c.weightDecay
            for i in ex.indices {  // the formula, scalar and unfused
                let gi = g.elements[i]
                em[i] = c.beta1 * em[i] + (1 - c.beta1) * gi
                ev[i] = c.beta2 * ev[i] + (1 - c.beta2) * gi * gi
                ex[i] = decay * ex[i] - (eta / correction1) * em[i] / (ev[i].squareRoot() / correction2 + c.epsilon)
            }
            #expect(x.elements == ex && state.m.elements == em && state.v.elements == ev, "AdamW step \(step)")
        }
        let lion = Lion(try Lion.Configuration())
        var y = random(5, 13, stream: 30)
        var lionState = try lion.initialState(for: y)
        var (ey, lm) = (y.elements, lionState.m.elements)
        let g = random(5, 13, stream: 31)
        _ = try lion.step(parameter: &y, gradient: g, state: &lionState, learningRate: 0.01)
        let lc = lion.configuration
        for i in ey.indices {
            let blend = lc.beta1 * lm[i] + (1 - lc.beta1) * g.elements[i]
            lm[i] = lc.beta2 * lm[i] + (1 - lc.beta2) * g.elements[i]
            ey[i] = (1 - 0.01 * lc.weightDecay) * ey[i] - 0.01 * (blend > 0 ? 1 : (blend < 0 ? -1 : 0))
        }
        #expect(y.elements == ey && lionState.m.elements == lm)
    }

    @Test("AdamW and Lion refuse a state of another size (as a crafted checkpoint would give), untouched")
    func elementwiseStateMismatch() throws {
        let adam = AdamW(try AdamW.Configuration())
        var x = random(4, 6, stream: 40)
        let x0 = x
        let g = random(4, 6, stream: 41)
        var state = try adam.initialState(for: x)
        state.v = Matrix(rows: 2, columns: 3)
        let s0 = state
        #expect((#expect(throws: OptimizerError.self) {
            try adam.step(parameter: &x, gradient: g, state: &state, learningRate: 0.1)
        })?.code == .shapeMismatch)
        #expect(x == x0 && state == s0)
        state = try adam.initialState(for: x)
        state.m.elements.removeLast()  // right shape, wrong storage
        #expect((#expect(throws: OptimizerError.self) {
            try adam.step(parameter: &x, gradient: g, state: &state, learningRate: 0.1)
        })?.code == .shapeMismatch)
        let lion = Lion(try Lion.Configuration())
        var lionState = try lion.initialState(for: x)
        lionState.m = Matrix(rows: 6, columns: 4)
        #expect((#expect(throws: OptimizerError.self) {
            try lion.step(parameter: &x, gradient: g, state: &lionState, learningRate: 0.1)
        })?.code == .shapeMismatch)
        #expect(x == x0)
    }

    @Test("a rank-deficient power iteration falls back instead of producing NaN")
    func choleskyFallback() throws {
        // A zero column makes RCQR's triangular factors singular: the fallback must catch it.
        var p0 = random(10, 3, stream: 8)
        for i in 0..<10 { p0[i, 1] = 0 }
        let result = try Orthonormalization.orthonormalize(p0, method: .rcqr) { random(128, 10, stream: 9) }
        #expect(result.usedFallback)
        #expect(Orthonormalization.isOrthonormal(result.q, tolerance: 1e-5))
        let cqr = try Orthonormalization.orthonormalize(p0, method: .cqr) { random(128, 10, stream: 9) }
        #expect(cqr.usedFallback && Orthonormalization.isOrthonormal(cqr.q, tolerance: 1e-5))
        // A rank-1 gradient makes P₀ = B·Q rank 1 in exact arithmetic; whatever path is taken, the
        // step stays finite.
        let u = random(10, 1, stream: 6), v = random(1, 6, stream: 7)
        let g = try BLAS.matmul(u, v)
        let dion = Dion(try DionConfiguration(rank: .absolute(3)))
        var x = random(10, 6, stream: 10)
        var state = try dion.initialState(for: x)
        _ = try dion.step(parameter: &x, gradient: g, state: &state, learningRate: 0.01)
        #expect(x.isFinite && state.q.isFinite && state.momentum.isFinite)
    }

    @Test("non-finite gradients skip the step untouched, or throw")
    func nonFinite() throws {
        var g = random(4, 4, stream: 11)
        g[1, 2] = .nan
        let dion = Dion(try DionConfiguration())
        var x = random(4, 4, stream: 12)
        let x0 = x
        var state = try dion.initialState(for: x)
        let s0 = state
        #expect(try dion.step(parameter: &x, gradient: g, state: &state, learningRate: 0.1) == .skipped(reason: "non-finite gradient"))
        #expect(x == x0 && state == s0)
        let strict = Dion(try DionConfiguration(nonFinitePolicy: .error))
        let error = #expect(throws: OptimizerError.self) {
            try strict.step(parameter: &x, gradient: g, state: &state, learningRate: 0.1)
        }
        #expect(error?.code == .nonFiniteGradient)
    }

    @Test("bad inputs get their specific errors")
    func badInputs() throws {
        #expect((#expect(throws: OptimizerError.self) { try DionConfiguration(rank: .fraction(0)) })?.code == .invalidHyperparameter)
        #expect((#expect(throws: OptimizerError.self) { try DionConfiguration(rank: .fraction(1.5)) })?.code == .invalidHyperparameter)
        #expect((#expect(throws: OptimizerError.self) { try DionConfiguration(rank: .absolute(0)) })?.code == .rankExceedsMatrix)
        #expect((#expect(throws: OptimizerError.self) { try DionConfiguration(momentum: .nan) })?.code == .invalidHyperparameter)
        #expect((#expect(throws: OptimizerError.self) { try AdamW.Configuration(epsilon: .infinity) })?.code == .invalidHyperparameter)
        let dion = Dion(try DionConfiguration(rank: .absolute(5)))
        #expect((#expect(throws: OptimizerError.self) { try dion.initialState(for: Matrix(rows: 4, columns: 8)) })?.code == .rankExceedsMatrix)
        let ok = Dion(try DionConfiguration())
        var x = Matrix(rows: 4, columns: 3)
        var state = try ok.initialState(for: x)
        #expect((#expect(throws: OptimizerError.self) {
            try ok.step(parameter: &x, gradient: Matrix(rows: 3, columns: 4), state: &state, learningRate: 0.1)
        })?.code == .shapeMismatch)
        #expect((#expect(throws: OptimizerError.self) {
            try ok.initialState(for: x, parameterID: 0, q0: Matrix(rows: 2, columns: 2))
        })?.code == .shapeMismatch)
        #expect((#expect(throws: OptimizerError.self) { try ParameterRole.infer(name: "conv", shape: [8, 3, 3, 3]) })?.code
                == .unsupportedTensor)
    }

    @Test("rank from ρ and the multiple k: min(m, n, k·⌈ρ·min(m,n)/k⌉)")
    func rank() throws {
        #expect(try DionConfiguration(rank: .fraction(0.25)).rank(rows: 1024, columns: 4096) == 256)
        #expect(try DionConfiguration(rank: .fraction(0.3), rankMultipleOf: 8).rank(rows: 100, columns: 70) == 24)
        #expect(try DionConfiguration(rank: .fraction(1), rankMultipleOf: 16).rank(rows: 10, columns: 7) == 7)
        #expect(try DionConfiguration(rank: .fraction(0.01)).rank(rows: 3, columns: 5) == 1)
    }

    @Test("roles: embeddings and heads go to the scalar optimizer, with a warning when forced into Dion")
    func roles() throws {
        #expect(try ParameterRole.infer(name: "tok_embed", shape: [256, 64]) == .embedding)
        #expect(try ParameterRole.infer(name: "lm_head", shape: [256, 64]) == .head)
        #expect(try ParameterRole.infer(name: "blocks.0.norm1", shape: [64]) == .norm)
        #expect(try ParameterRole.infer(name: "blocks.0.mlp.fc1", shape: [256, 64]) == .matrix)
        #expect(try ParameterRole.infer(name: nil, shape: [64]) == .bias)
        let head = ParameterAssignment.assign(name: "lm_head", role: .head, matrixOptimizer: .dion, scalarOptimizer: .lion,
                                              baseLearningRate: 0.01, inputDimension: 64)
        #expect(head.family == .lion && head.learningRate == 0.01 / 8 && head.warning == nil)
        let adamHead = ParameterAssignment.assign(name: "lm_head", role: .head, matrixOptimizer: .dion,
                                                  scalarOptimizer: .adamw, baseLearningRate: 0.01, inputDimension: 64)
        #expect(adamHead.learningRate == 0.01)
        let forced = ParameterAssignment.assign(name: "tok_embed", role: .embedding, matrixOptimizer: .dion,
                                                scalarOptimizer: .adamw, baseLearningRate: 0.01, inputDimension: 64,
                                                override: .dion)
        #expect(forced.warning?.contains("train badly") == true)
    }
}
