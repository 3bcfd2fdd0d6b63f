import Testing
@testable import LinearAlgebra

@Suite("Linear algebra")
struct LinearAlgebraTests {
    let generator = KeyedNormalGenerator(seed: 7)

    func maxAbsDiff(_ a: Matrix, _ b: Matrix) -> Float { zip(a.elements, b.elements).map { abs($0 - $1) }.max() ?? 0 }

    @Test("allFinite flags one NaN or ±∞ at any position of any length (short tails and 64-float blocks), and nothing finite")
    func finiteness() {
        #expect(Finiteness.allFinite([Float]()))
        let edge: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0, 0]
        #expect(Finiteness.allFinite(edge))
        var checked = 0
        // Lengths around the C scan's 64-element blocks as well as short tails.
        let lengths = Array(1...40) + [63, 64, 65, 127, 128, 129, 191, 1000]
        for n in lengths {
            let finite = (0..<n).map { Float($0) * 1e30 - 7 }
            #expect(Finiteness.allFinite(finite))
            for position in 0..<n {
                for bad in [Float.nan, .infinity, -.infinity, -Float.nan] {
                    var elements = finite
                    elements[position] = bad
                    #expect(!Finiteness.allFinite(elements), "\(bad) at \(position) of \(n)")
                    checked += 1
                }
            }
            #expect(Matrix(rows: 1, columns: n, repeating: 1).isFinite)
        }
        #expect(checked == 4 * lengths.reduce(0, +))
        // A buffer starting off a 64-byte boundary (a slice one float in) with ∞ in its last element.
        var shifted = (0..<300).map { Float($0) }
        shifted[299] = .infinity
        shifted.withUnsafeBufferPointer { all in
            #expect(Finiteness.allFinite(UnsafeBufferPointer(rebasing: all[1..<299])))
            #expect(!Finiteness.allFinite(UnsafeBufferPointer(rebasing: all[1..<300])))
        }
    }

    @Test("gemm with every transpose equals the naive product", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemm(ta: Bool, tb: Bool) throws {
        let a = generator.matrix(stream: 1, rows: ta ? 4 : 3, columns: ta ? 3 : 4)
        let b = generator.matrix(stream: 2, rows: tb ? 5 : 4, columns: tb ? 4 : 5)
        let c = try BLAS.matmul(a, transposeA: ta, b, transposeB: tb)
        let aa = ta ? a.transposed : a, bb = tb ? b.transposed : b
        for i in 0..<3 { for j in 0..<5 {
            let naive = (0..<4).reduce(Float(0)) { $0 + aa[i, $1] * bb[$1, j] }
            #expect(abs(c[i, j] - naive) < 1e-5)
        } }
        #expect(throws: LinearAlgebraError.self) { try BLAS.matmul(a, a) }
    }

    @Test("QR, Cholesky QR and randomized Cholesky QR are orthonormal and span the same space")
    func orthonormalizations() throws {
        let p = generator.matrix(stream: 3, rows: 200, columns: 12)
        let ks = Orthonormalization.sketchRows(rank: 12)
        #expect(ks == 128)
        let sketch = generator.matrix(stream: 4, rows: ks, columns: 200, scale: 1 / Float(ks).squareRoot())
        let results = [try LAPACK.householderQ(p), try Orthonormalization.choleskyQR(p),
                       try Orthonormalization.randomizedCholeskyQR(p, sketch: sketch)]
        let projector0 = try BLAS.matmul(results[0], results[0], transposeB: true)
        for q in results {
            let gram = try BLAS.matmul(q, transposeA: true, q)
            #expect(maxAbsDiff(gram, .identity(12)) < 1e-5)
            #expect(maxAbsDiff(try BLAS.matmul(q, q, transposeB: true), projector0) < 1e-5)
        }
    }

    @Test("Cholesky reports a matrix that is not positive definite")
    func choleskyFailure() throws {
        let bad = try Matrix([[1, 2], [2, 1]])
        let error = #expect(throws: LinearAlgebraError.self) { try LAPACK.cholesky(bad) }
        #expect(error?.code == .notPositiveDefinite)
        let r = try LAPACK.cholesky(try Matrix([[4, 2], [2, 3]]))
        #expect(maxAbsDiff(try BLAS.matmul(r, transposeA: true, r), try Matrix([[4, 2], [2, 3]])) < 1e-6)
    }

    @Test("the keyed generator: a global matrix equals the concatenation of its blocks, and is standard normal")
    func generatorSlices() throws {
        let whole = generator.matrix(stream: 9, rows: 13, columns: 7)
        var assembled = Matrix(rows: 13, columns: 7)
        for rows in [0..<4, 4..<9, 9..<13] {
            for columns in [0..<3, 3..<7] {
                let block = generator.block(stream: 9, globalColumns: 7, rows: rows, columns: columns)
                for (bi, i) in rows.enumerated() { for (bj, j) in columns.enumerated() { assembled[i, j] = block[bi, bj] } }
            }
        }
        #expect(assembled == whole)
        #expect(generator.matrix(stream: 10, rows: 13, columns: 7) != whole)
        let big = generator.matrix(stream: 11, rows: 200, columns: 200).elements
        let mean = big.reduce(0, +) / Float(big.count)
        let variance = big.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(big.count)
        #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03)
    }

    @Test("Newton–Schulz pushes singular values toward 1", arguments: NewtonSchulz.Coefficients.allCases)
    func newtonSchulz(coefficients: NewtonSchulz.Coefficients) throws {
        let g = generator.matrix(stream: 12, rows: 16, columns: 32)
        let o = try NewtonSchulz.orthogonalize(g, coefficients: coefficients)
        let gram = try BLAS.matmul(o, o, transposeB: true)
        // Quintic NS is approximate by design: singular values land in roughly [0.7, 1.2].
        for i in 0..<16 { #expect(gram[i, i] > 0.4 && gram[i, i] < 1.5) }
    }
}
