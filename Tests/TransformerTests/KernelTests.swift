import LinearAlgebra
import Testing
@testable import Transformer

/// The fused kernels against their unfused forms, and the activation pool's reuse.
@Suite struct KernelTests {
    static func random(_ rows: Int, _ columns: Int, _ stream: UInt64) -> Matrix {
        KeyedNormalGenerator(seed: 11).matrix(stream: stream, rows: rows, columns: columns)
    }

    /// Columns [start, start + width) of m.
    static func columns(_ m: Matrix, _ start: Int, _ width: Int) -> Matrix { m.columns(start..<(start + width)) }

    @Test("attention on the fused [q | k | v] equals attention on separate q, k, v, bit for bit")
    func fusedQKVAttention() throws {
        let (sequences, t, heads, dh) = (3, 7, 2, 4)
        let width = heads * dh
        let qkv = Self.random(sequences * t, 3 * width, 1), dO = Self.random(sequences * t, width, 2)
        let q = Self.columns(qkv, 0, width), k = Self.columns(qkv, width, width), v = Self.columns(qkv, 2 * width, width)
        let fused = try CausalAttention.forward(qkv: qkv, sequences: sequences, heads: heads, pool: ActivationPool())
        let separate = try CausalAttention.forward(q: q, k: k, v: v, sequences: sequences, heads: heads)
        #expect(fused.output == separate.output)
        #expect(fused.probabilities == separate.probabilities)
        let dqkv = try CausalAttention.backward(dO, qkv: qkv, probabilities: fused.probabilities, sequences: sequences,
                                                heads: heads)
        let (dq, dk, dv) = try CausalAttention.backward(dO, q: q, k: k, v: v, probabilities: separate.probabilities,
                                                        sequences: sequences, heads: heads)
        #expect(Self.columns(dqkv, 0, width) == dq)
        #expect(Self.columns(dqkv, width, width) == dk)
        #expect(Self.columns(dqkv, 2 * width, width) == dv)
        // Probabilities: rows sum to 1 and are zero above the diagonal.
        for row in 0..<fused.probabilities.rows {
            let i = row % t
            let values = fused.probabilities.nested[row]
            #expect(abs(values[0...i].reduce(0, +) - 1) < 1e-5)
            #expect(values[(i + 1)...].allSatisfy { $0 == 0 })
        }
    }

    @Test("the pool stops allocating after the first step, and recycled buffers change no result")
    func workspaceIsReused() throws {
        let c = try TransformerConfiguration(layers: 2, modelDimension: 64, heads: 4, sequenceLength: 32)
        let model = try TransformerModel(c)
        let values = model.parameters.all.map { model.parameters.initialValue($0.id, seed: 5) }
        let inputs = (0..<128).map { Int32($0 * 37 % 256) }
        let targets = inputs.map { ($0 + 1) % 256 }
        var losses: [Float] = [], gradients: [[Matrix]] = [], allocations: [Int] = []
        for step in 0..<4 {
            var source = InMemoryParameters(values)
            if step == 2 { _ = try model.loss(inputs: inputs, targets: targets, sequences: 4, source: &source) }
            losses.append(try model.lossAndGradients(inputs: inputs, targets: targets, sequences: 4, source: &source))
            gradients.append(source.gradients)
            allocations.append(model.pool.statistics.allocations)
        }
        #expect(allocations[0] > 0)
        #expect(allocations[1] == allocations[0], "allocations per step: \(allocations)")
        #expect(allocations[3] == allocations[0], "allocations per step: \(allocations)")
        #expect(model.pool.statistics.reuses >= 3 * allocations[0])
        #expect(Set(losses).count == 1, "losses \(losses)")
        for step in 1..<4 { #expect(gradients[step] == gradients[0]) }
    }

    @Test("strided gemm on sub-blocks equals matmul of the copied blocks")
    func stridedGemm() throws {
        let a = Self.random(6, 9, 3), b = Self.random(9, 8, 4)
        // Rows 1..<5, columns 2..<7 of a times rows 2..<7, columns 3..<6 of b, into columns 1..<4 of c.
        let expected = try BLAS.matmul(a.rows(1..<5).columns(2..<7), b.rows(2..<7).columns(3..<6))
        var c = Matrix(rows: 4, columns: 5, repeating: 7)
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    guard let a0 = pa.baseAddress, let b0 = pb.baseAddress, let c0 = pc.baseAddress else { return }
                    BLAS.gemm(m: 4, n: 3, k: 5, a0 + 1 * 9 + 2, lda: 9, b0 + 2 * 8 + 3, ldb: 8, into: c0 + 1, ldc: 5)
                }
            }
        }
        for i in 0..<4 {
            for j in 0..<5 {
                if (1..<4).contains(j) {
                    #expect(abs(c[i, j] - expected[i, j - 1]) <= 1e-5)
                } else {
                    #expect(c[i, j] == 7)
                }
            }
        }
    }
}
