import Foundation
import Testing
import LinearAlgebra
@testable import Optimizers

/// Properties and bad input of Dion2, NorMuon and NorDion2 (the reference comparison is
/// `SelectiveReferenceTests`). Exact comparisons are exact on purpose: the checked quantities are
/// computed by the same fp32 operations on both sides.
@Suite("Dion2, NorMuon, NorDion2: properties and errors")
struct SelectivePropertyTests {
    let generator = KeyedNormalGenerator(seed: 16)

    func random(_ m: Int, _ n: Int, stream: UInt64) -> Matrix { generator.matrix(stream: stream, rows: m, columns: n) }

    /// The code of the `OptimizerError` `body` throws, or nil when it throws nothing.
    func code(_ body: () throws -> Void) -> OptimizerError.Code? {
        do { try body() } catch let error as OptimizerError { return error.code } catch {
            Issue.record("not an OptimizerError: \(error)")
        }
        return nil
    }

    @Test("k = min(size, max(1, ⌈α·size⌉)) with α·size in Double, as the reference")
    func selectedCount() {
        #expect(SliceSelection.count(fraction: 0.28, of: 25) == 8)   // 0.28·25 = 7.000000000000001
        #expect(SliceSelection.count(fraction: 0.25, of: 8) == 2)
        #expect(SliceSelection.count(fraction: 1, of: 7) == 7)
        #expect(SliceSelection.count(fraction: 1e-9, of: 5) == 1)
        #expect(SliceSelection.count(fraction: 0.5, of: 1) == 1)
    }

    @Test("top-k: highest scores, ties to the lower index, NaN lowest, indices ascending")
    func topK() {
        #expect(SliceSelection.topK([1, 3, 3, 2, 3], count: 2) == [1, 2])
        #expect(SliceSelection.topK([1, 3, 3, 2, 3], count: 4) == [1, 2, 3, 4])
        #expect(SliceSelection.topK([.nan, 0, -1], count: 2) == [1, 2])
        #expect(SliceSelection.topK([5, 5, 5], count: 3) == [0, 1, 2])
        #expect(SliceSelection.dion2Dimension(rows: 4, columns: 4) == .rows)
        #expect(SliceSelection.dion2Dimension(rows: 5, columns: 4) == .columns)
    }

    @Test("α outside (0, 1], NaN and ±∞ hyperparameters are refused with invalidHyperparameter",
          arguments: [0, -0.25, 1.0000001, 2, Double.nan, Double.infinity])
    func badFraction(alpha: Double) {
        #expect(code { _ = try Dion2.Configuration(fraction: alpha) } == .invalidHyperparameter)
        #expect(code { _ = try NorDion2.Configuration(fraction: alpha) } == .invalidHyperparameter)
    }

    @Test("NaN, ±∞ and out-of-range decays, β₂, λ and ε are refused")
    func badHyperparameters() {
        for bad: Float in [.nan, .infinity, -0.1, 1.5] {
            #expect(code { _ = try Dion2.Configuration(errorFeedbackDecay: bad) } == .invalidHyperparameter)
            #expect(code { _ = try NorDion2.Configuration(momentum: bad) } == .invalidHyperparameter)
            #expect(code { _ = try NorDion2.Configuration(beta2: bad) } == .invalidHyperparameter)
            #expect(code { _ = try NorMuon.Configuration(momentum: bad) } == .invalidHyperparameter)
            #expect(code { _ = try NorMuon.Configuration(beta2: bad) } == .invalidHyperparameter)
        }
        #expect(code { _ = try NorMuon.Configuration(beta2: 1) } == .invalidHyperparameter)
        #expect(code { _ = try Dion2.Configuration(weightDecay: .nan) } == .invalidHyperparameter)
        #expect(code { _ = try NorMuon.Configuration(epsilon: 0) } == .invalidHyperparameter)
        #expect(code { _ = try Dion2.Configuration(errorFeedbackDecay: 1) } == nil)
    }

    @Test("a non-finite gradient is skipped (weights and state untouched) or thrown with .error")
    func nonFiniteGradient() throws {
        let x0 = random(4, 6, stream: 1)
        var g = random(4, 6, stream: 2)
        g[1, 2] = .nan
        var x = x0
        let dion2 = Dion2(try Dion2.Configuration())
        var s1 = try dion2.initialState(for: x)
        #expect(try dion2.step(parameter: &x, gradient: g, state: &s1, learningRate: 0.1) != .applied)
        let fresh1 = try dion2.initialState(for: x0)
        #expect(x == x0 && s1 == fresh1)
        let normuon = NorMuon(try NorMuon.Configuration())
        var s2 = try normuon.initialState(for: x)
        #expect(try normuon.step(parameter: &x, gradient: g, state: &s2, learningRate: 0.1) != .applied)
        let nordion2 = NorDion2(try NorDion2.Configuration())
        var s3 = try nordion2.initialState(for: x)
        #expect(try nordion2.step(parameter: &x, gradient: g, state: &s3, learningRate: 0.1) != .applied)
        let (fresh2, fresh3) = (try normuon.initialState(for: x0), try nordion2.initialState(for: x0))
        #expect(x == x0 && s2 == fresh2 && s3 == fresh3)
        let strict = Dion2(try Dion2.Configuration(nonFinitePolicy: .error))
        var s4 = try strict.initialState(for: x)
        #expect(code { _ = try strict.step(parameter: &x, gradient: g, state: &s4, learningRate: 0.1) } == .nonFiniteGradient)
        #expect(code { _ = try dion2.step(parameter: &x, gradient: random(6, 4, stream: 3), state: &s1,
                                          learningRate: 0.1) } == .shapeMismatch)
        #expect(code { _ = try dion2.initialState(for: Matrix(rows: 0, columns: 3)) } == .unsupportedTensor)
    }

    @Test("Dion2: unselected slices get weight decay only; selected slices of M decay by β",
          arguments: [(6, 10), (10, 6), (7, 7)])
    func dion2Slices(m: Int, n: Int) throws {
        let dion2 = Dion2(try Dion2.Configuration(fraction: 0.3, errorFeedbackDecay: 0.9, weightDecay: 0.5))
        let x0 = random(m, n, stream: 4)
        let g = random(m, n, stream: 5)
        var x = x0
        var state = try dion2.initialState(for: x)
        _ = try dion2.step(parameter: &x, gradient: g, state: &state, learningRate: 0.1)
        let rows = m <= n
        #expect(state.selected.count == dion2.selectedCount(rows: m, columns: n))
        let decay: Float = 1 - 0.1 * 0.5
        for i in 0..<m {
            for j in 0..<n {
                let selected = state.selected.contains(rows ? i : j)
                if !selected { #expect(x[i, j] == decay * x0[i, j]) }
                #expect(state.momentum[i, j] == (selected ? 0.9 * g[i, j] : g[i, j]))
            }
        }
    }

    @Test("NorDion2: only the selected rows' variances move; NorMuon's rescale keeps ‖O‖_F")
    func neuronNormalization() throws {
        let nordion2 = NorDion2(try NorDion2.Configuration(fraction: 0.25))
        var x = random(8, 5, stream: 6)
        var state = try nordion2.initialState(for: x)
        _ = try nordion2.step(parameter: &x, gradient: random(8, 5, stream: 7), state: &state, learningRate: 0.1)
        #expect(state.selected.count == 2)
        for i in 0..<8 { #expect((state.variance.elements[i] != 0) == state.selected.contains(i)) }

        let o = random(5, 9, stream: 8)
        var variance = Matrix(rows: 5, columns: 1, repeating: 0.3)
        let normalized = NeuronNormalization.apply(o, variance: &variance, beta2: 0.9)
        #expect(abs(normalized.frobeniusNorm - o.frobeniusNorm) <= 1e-6 * o.frobeniusNorm)
        var zero = Matrix(rows: 3, columns: 1)
        let none = NeuronNormalization.apply(Matrix(rows: 3, columns: 4), variance: &zero, beta2: 0.9)
        #expect(none.isZero && zero.isZero)
    }

    @Test("NorMuon's cautious decay spares entries whose update pushes away from zero")
    func cautiousDecay() throws {
        let x0 = random(6, 6, stream: 9)
        let g = random(6, 6, stream: 10)
        var plain = x0, cautious = x0
        let a = NorMuon(try NorMuon.Configuration(weightDecay: 0.5, adjustment: .none))
        let b = NorMuon(try NorMuon.Configuration(weightDecay: 0.5, cautiousWeightDecay: true, adjustment: .none))
        var sa = try a.initialState(for: x0), sb = try b.initialState(for: x0)
        _ = try a.step(parameter: &plain, gradient: g, state: &sa, learningRate: 0.1)
        _ = try b.step(parameter: &cautious, gradient: g, state: &sb, learningRate: 0.1)
        var spared = 0
        for i in x0.elements.indices {
            let update = (0.95 * x0.elements[i] - plain.elements[i]) / 0.1   // Ô_ij from the plain step
            if x0.elements[i] * update >= 0 {
                #expect(abs(cautious.elements[i] - plain.elements[i]) <= 1e-6)
            } else {
                spared += 1
                #expect(abs(cautious.elements[i] - (plain.elements[i] + 0.05 * x0.elements[i])) <= 1e-6)
            }
        }
        #expect(spared > 0)
    }

    @Test("replay: unknown selection, adjust_lr and optimizer, and flags the optimizer lacks, are refused")
    func replayErrors() throws {
        func run(_ optimizer: String, _ hyperparameters: String) -> OptimizerError? {
            let json = #"{"optimizer": "\#(optimizer)", "hyperparameters": {\#(hyperparameters)}, "X0": [[1, 2], [3, 4]], "#
                + #""gradients": [[[1, 0], [0, 1]]]}"#
            do { _ = try Replay.run(try Replay.decode(Data(json.utf8))) } catch { return error }
            return nil
        }
        let selection = run("dion2", #""selection": "nearest""#)
        #expect(selection?.code == .invalidHyperparameter && selection?.message.contains("exact, global, local") == true)
        #expect(run("nordion2", #""selection": "everything""#)?.code == .invalidHyperparameter)
        #expect(run("dion2", #""fraction": 1.5"#)?.code == .invalidHyperparameter)
        #expect(run("dion2", #""fraction": 0"#)?.code == .invalidHyperparameter)
        #expect(run("normuon", #""adjust_lr": "spectral""#)?.code == .invalidHyperparameter)
        #expect(run("nordion2", #""nesterov": true"#)?.code == .invalidHyperparameter)
        #expect(run("nordion2", #""ef_decay": 0.9"#)?.code == .invalidHyperparameter)
        #expect(run("dion2", #""cautious_wd": true"#)?.code == .invalidHyperparameter)
        #expect(run("dion3", "")?.message.contains("nordion2") == true)
        for mode in SelectionMode.allCases {
            #expect(run("dion2", #""selection": "\#(mode.rawValue)""#) == nil)
        }
        #expect(run("normuon", #""nesterov": true, "cautious_wd": true"#) == nil)
    }

    @Test("an embedding or head routed to Dion2, NorMuon or NorDion2 is warned about")
    func routing() {
        for family in [OptimizerFamily.dion2, .normuon, .nordion2] {
            let embedding = ParameterAssignment.assign(name: "embed", role: .embedding, matrixOptimizer: family,
                                                       scalarOptimizer: .adamw, baseLearningRate: 0.01, inputDimension: 64,
                                                       override: family)
            #expect(embedding.warning != nil)
            let matrix = ParameterAssignment.assign(name: "w", role: .matrix, matrixOptimizer: family,
                                                    scalarOptimizer: .adamw, baseLearningRate: 0.01, inputDimension: 64)
            #expect(matrix.family == family && matrix.warning == nil)
        }
    }
}
