import Foundation
import Testing
@testable import LinearAlgebra

/// The keyed generator's vectorized Box–Muller (`NormalLanes`) against a float64 Box–Muller of the
/// same Philox uniforms, and the scalar, block and whole-matrix entry points against each other.
@Suite("Keyed normal generator")
struct KeyedGeneratorTests {
    let generator = KeyedNormalGenerator(seed: 0x1234_5678_9ABC)

    /// The four normals of Philox block `block` in float64, from the same uniforms.
    func exactNormals(stream: UInt64, block: UInt64) -> [Double] {
        let r = KeyedNormalGenerator.philox(
            counter: (UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                      UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
            key: (UInt32(truncatingIfNeeded: generator.seed), UInt32(truncatingIfNeeded: generator.seed >> 32)))
        let unit = 1.0 / 16_777_216.0
        let u1 = (Double(r.0 >> 8) + 1) * unit, v1 = Double(r.1 >> 8) * unit
        let u2 = (Double(r.2 >> 8) + 1) * unit, v2 = Double(r.3 >> 8) * unit
        let radius1 = (-2 * log(u1)).squareRoot(), radius2 = (-2 * log(u2)).squareRoot()
        return [radius1 * cos(2 * .pi * v1), radius1 * sin(2 * .pi * v1), radius2 * cos(2 * .pi * v2), radius2 * sin(2 * .pi * v2)]
    }

    @Test("within 5e-7·(1 + |z|) of a float64 Box–Muller of the same uniforms (400,000 normals)")
    func accuracy() {
        let stream: UInt64 = 77
        let whole = generator.matrix(stream: stream, rows: 400, columns: 1000).elements
        var worst = 0.0
        for block in 0..<(whole.count / 4) {
            let exact = exactNormals(stream: stream, block: UInt64(block))
            for j in 0..<4 {
                let error = abs(Double(whole[4 * block + j]) - exact[j]) / (1 + abs(exact[j]))
                worst = max(worst, error)
            }
        }
        if worst >= 5e-7 { Issue.record("worst relative error \(worst)") }
        #expect(worst > 0)  // the comparison ran (and float32 differs from float64 somewhere)
        // The extremes of the uniforms: u = 2⁻²⁴ (largest radius) and u = 1 (radius 0) are finite.
        #expect(whole.allSatisfy { $0.isFinite })
    }

    @Test("normal(stream:index:) equals the element of a block drawn at any offset")
    func scalarMatchesBlocks() {
        let block = generator.block(stream: 5, globalColumns: 97, rows: 3..<7, columns: 13..<90)
        for (bi, i) in (3..<7).enumerated() {
            for (bj, j) in (13..<90).enumerated() {
                #expect(block[bi, bj] == generator.normal(stream: 5, index: UInt64(i * 97 + j)))
            }
        }
    }

    /// FNV-1a over the bit patterns.
    func fingerprint(_ values: [Float]) -> UInt64 {
        values.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1.bitPattern)) &* 0x100_0000_01B3 }
    }

    /// Q₀, every RCQR sketch and the initial weights come from these numbers, so they must not
    /// move when the kernel does: the fingerprints are those of the Swift `SIMD8` kernel this C
    /// kernel replaced (which also matched it on 4.4 million normals at random offsets, and the
    /// SSE2, AVX2 and AVX-512 builds of the C kernel agree on 39 million).
    @Test("the draws are pinned bit for bit (a sketch-shaped matrix and an unaligned block)")
    func pinned() {
        let sketch = generator.matrix(stream: 77, rows: 128, columns: 1024, scale: 1 / Float(128).squareRoot())
        #expect(fingerprint(sketch.elements) == 0x92C7_AD7E_009C_CF40)
        let block = generator.block(stream: 5, globalColumns: 97, rows: 3..<7, columns: 13..<90)
        #expect(fingerprint(block.elements) == 0xFFD0_9682_C85D_ED33)
    }

    @Test("a scale multiplies every element exactly as a separate multiplication would")
    func scale() {
        let one = generator.matrix(stream: 8, rows: 5, columns: 41)
        let scaled = generator.matrix(stream: 8, rows: 5, columns: 41, scale: 0.125)
        #expect(zip(one.elements, scaled.elements).allSatisfy { $0 * 0.125 == $1 })
    }
}
