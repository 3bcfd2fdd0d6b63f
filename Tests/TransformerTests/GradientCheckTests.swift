import Foundation
import LinearAlgebra
import Testing
@testable import Transformer

/// Finite-difference checks of every layer's backward pass and of the whole model.
///
/// Each layer is wrapped into the scalar L = Σ c∘f(x) with fixed random c, so dL/df = c. Central
/// differences in fp32 with step h = 1e-2 (inputs are O(1)), compared with the analytic gradient
/// at |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric| — the fp32 round-off of the differences.
@Suite struct GradientCheckTests {
    static func random(_ rows: Int, _ columns: Int, _ stream: UInt64, scale: Float = 1) -> Matrix {
        KeyedNormalGenerator(seed: 7).matrix(stream: stream, rows: rows, columns: columns, scale: scale)
    }

    static func dot(_ a: Matrix, _ b: Matrix) -> Float {
        var s: Double = 0
        for i in a.elements.indices { s += Double(a.elements[i]) * Double(b.elements[i]) }
        return Float(s)
    }

    /// Checks `analytic` against central differences of `f` around `x`.
    static func check(_ x: Matrix, analytic: Matrix, h: Float = 1e-2, _ what: String, _ f: (Matrix) throws -> Float) throws {
        #expect(analytic.rows == x.rows && analytic.columns == x.columns, "\(what): gradient shape")
        var worst: Float = 0
        for i in x.elements.indices {
            var plus = x, minus = x
            plus.elements[i] += h
            minus.elements[i] -= h
            let numeric = (try f(plus) - f(minus)) / (2 * h)
            let error = abs(analytic.elements[i] - numeric) - 2e-2 * abs(numeric)
            worst = max(worst, error)
        }
        #expect(worst <= 2e-3, "\(what): worst excess error \(worst)")
    }

    @Test func rmsNorm() throws {
        let x = Self.random(5, 8, 1), c = Self.random(5, 8, 2)
        let gain = Self.random(8, 1, 3).elements.map { 1 + 0.3 * $0 }
        let (_, inverse) = RMSNorm.forward(x, gain: gain)
        let (dx, dGain) = RMSNorm.backward(c, x: x, gain: gain, inverseRMS: inverse)
        try Self.check(x, analytic: dx, "RMSNorm dx") { Self.dot(RMSNorm.forward($0, gain: gain).y, c) }
        try Self.check(try Matrix(rows: 8, columns: 1, elements: gain), analytic: try Matrix(rows: 8, columns: 1, elements: dGain),
                       "RMSNorm dgain") { Self.dot(RMSNorm.forward(x, gain: $0.elements).y, c) }
    }

    @Test func causalAttention() throws {
        let (sequences, t, heads, dh) = (2, 5, 2, 3)
        let q = Self.random(sequences * t, heads * dh, 4), k = Self.random(sequences * t, heads * dh, 5)
        let v = Self.random(sequences * t, heads * dh, 6), c = Self.random(sequences * t, heads * dh, 7)
        let (_, probabilities) = try CausalAttention.forward(q: q, k: k, v: v, sequences: sequences, heads: heads)
        let (dq, dk, dv) = try CausalAttention.backward(c, q: q, k: k, v: v, probabilities: probabilities,
                                                        sequences: sequences, heads: heads)
        func loss(_ q: Matrix, _ k: Matrix, _ v: Matrix) throws -> Float {
            Self.dot(try CausalAttention.forward(q: q, k: k, v: v, sequences: sequences, heads: heads).output, c)
        }
        try Self.check(q, analytic: dq, "attention dq") { try loss($0, k, v) }
        try Self.check(k, analytic: dk, "attention dk") { try loss(q, $0, v) }
        try Self.check(v, analytic: dv, "attention dv") { try loss(q, k, $0) }
    }

    @Test func attentionIsCausal() throws {
        // Changing the last token's key and value must not change earlier outputs.
        let q = Self.random(4, 4, 8), k = Self.random(4, 4, 9), v = Self.random(4, 4, 10)
        var k2 = k, v2 = v
        for j in 0..<4 { k2.elements[12 + j] += 1; v2.elements[12 + j] -= 1 }
        let a = try CausalAttention.forward(q: q, k: k, v: v, sequences: 1, heads: 2).output
        let b = try CausalAttention.forward(q: q, k: k2, v: v2, sequences: 1, heads: 2).output
        #expect(Array(a.elements[0..<12]) == Array(b.elements[0..<12]))
        #expect(Array(a.elements[12..<16]) != Array(b.elements[12..<16]))
    }

    @Test func reluSquared() throws {
        // Keep inputs away from the kink at 0, where the derivative is discontinuous in the 2nd order.
        var u = Self.random(4, 6, 11)
        for i in u.elements.indices where abs(u.elements[i]) < 0.05 { u.elements[i] = 0.3 }
        let c = Self.random(4, 6, 12)
        try Self.check(u, analytic: ReLUSquared.backward(c, input: u), "ReLU² du") { Self.dot(ReLUSquared.forward($0), c) }
    }

    @Test func crossEntropy() throws {
        let logits = Self.random(6, 7, 13)
        let targets: [Int32] = [0, 3, 6, 2, 2, 5]
        let (loss, grad) = try CrossEntropy.lossAndGradient(logits, targets: targets)
        #expect(loss > 0)
        try Self.check(logits, analytic: grad, "cross-entropy dlogits") {
            try CrossEntropy.lossAndGradient($0, targets: targets).loss
        }
        #expect(throws: TransformerError.self) { try CrossEntropy.lossAndGradient(logits, targets: [0, 1, 2, 3, 4, 7]) }
    }

    @Test func wholeModel() throws {
        let configuration = try TransformerConfiguration(vocabularySize: 11, layers: 2, modelDimension: 8, heads: 2,
                                                         sequenceLength: 5)
        let model = try TransformerModel(configuration)
        // Larger weights than the default init so that every path carries signal.
        var values = (0..<model.parameters.all.count).map { index -> Matrix in
            let p = model.parameters.all[index]
            if p.name.hasSuffix("norm") { return Self.random(p.rows, p.columns, 100 + UInt64(index), scale: 0.2).map { 1 + $0 } }
            return Self.random(p.rows, p.columns, 100 + UInt64(index), scale: 0.5)
        }
        let inputs: [Int32] = [1, 4, 2, 9, 0, 3, 3, 7, 10, 5]
        let targets: [Int32] = [4, 2, 9, 0, 3, 3, 7, 10, 5, 1]
        var source = InMemoryParameters(values)
        _ = try model.lossAndGradients(inputs: inputs, targets: targets, sequences: 2, source: &source)
        let gradients = source.gradients
        for index in values.indices {
            let original = values[index]
            try Self.check(original, analytic: gradients[index], model.parameters.all[index].name) { perturbed in
                values[index] = perturbed
                var s = InMemoryParameters(values)
                defer { values[index] = original }
                return try model.loss(inputs: inputs, targets: targets, sequences: 2, source: &s)
            }
        }
    }

    @Test func refusesBadConfigurations() throws {
        #expect(throws: TransformerError.self) { try TransformerConfiguration(layers: 1, modelDimension: 10, heads: 3, sequenceLength: 4) }
        #expect(throws: TransformerError.self) { try TransformerConfiguration(layers: 0, modelDimension: 8, heads: 2, sequenceLength: 4) }
        let c = try TransformerConfiguration(layers: 1, modelDimension: 12, heads: 3, sequenceLength: 4)
        #expect(throws: TransformerError.self) { try TransformerModel(c, tensorParallelSize: 2) }
        let model = try TransformerModel(c)
        var source = InMemoryParameters(model.parameters.all.map { model.parameters.initialValue($0.id, seed: 1) })
        #expect(throws: TransformerError.self) { try model.loss(inputs: [1, 2, 300], targets: [2, 3, 4], sequences: 1, source: &source) }
        #expect(throws: TransformerError.self) { try model.loss(inputs: [1, 2, 3, 4, 5], targets: [1, 2, 3, 4, 5], sequences: 1, source: &source) }
    }

    @Test func initialLossIsNearUniform() throws {
        let c = try TransformerConfiguration(layers: 2, modelDimension: 16, heads: 2, sequenceLength: 8)
        let model = try TransformerModel(c)
        var source = InMemoryParameters(model.parameters.all.map { model.parameters.initialValue($0.id, seed: 3) })
        let inputs = (0..<16).map { Int32($0 * 13 % 256) }
        let loss = try model.loss(inputs: inputs, targets: inputs.map { ($0 + 1) % 256 }, sequences: 2, source: &source)
        #expect(abs(loss - logf(256)) < 0.05, "initial loss \(loss) vs ln 256 = \(logf(256))")
    }
}

extension Matrix {
    func map(_ f: (Float) -> Float) -> Matrix {
        var m = self
        m.elements = elements.map(f)
        return m
    }
}
