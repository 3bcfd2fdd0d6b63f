import Foundation
import Testing
import LinearAlgebra
@testable import Optimizers

/// The Swift optimizers against the independent numpy reference (`Scripts/reference/dion_reference.py`)
/// over several steps, on tall, wide, square and tiny shapes, full and partial rank.
///
/// Tolerance: after every step, max |X_swift − X_ref| ≤ 1e-5 · max |X_ref − X_prev| (relative to the
/// size of that step's update) + 2 ulp(max |X|) (X itself is fp32); the buffer within 1e-5 of its
/// largest entry; Q column by column within 1e-3, up to the sign of each column.
/// Both sides compute in fp32 with different factorizations (RCQR vs Householder), so agreement is
/// limited by fp32 round-off, which accumulates over the steps.
@Suite("Optimizers vs numpy reference")
struct ReferenceTests {
    static let fixtures: [String] = {
        guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

    struct Expected: Decodable {
        let X0: [[Float]]
        let steps: [Replay.StepRecord]
    }

    static func maxAbs(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a.joined(), b.joined()).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("fixtures exist") func fixturesExist() { #expect(Self.fixtures.count >= 12) }

    @Test("matches the reference", arguments: fixtures)
    func matches(name: String) throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        let data = try Data(contentsOf: url)
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        let actual = try Replay.run(try Replay.decode(data))
        #expect(actual.count == expected.steps.count)
        var previous = expected.X0
        for (step, (got, want)) in zip(actual, expected.steps).enumerated() {
            let updateSize = Self.maxAbs(want.X, previous)
            let xError = Self.maxAbs(got.X, want.X)
            // 1e-5 of the update, plus two ulps of the weights themselves (X is stored in fp32).
            let ulp = 2 * (want.X.joined().map(abs).max() ?? 1).ulp
            #expect(xError <= 1e-5 * updateSize + ulp, "\(name) step \(step): X error \(xError), update \(updateSize)")
            if let m = want.momentum, let gm = got.momentum {
                let scale = m.joined().map(abs).max() ?? 1
                let mError = Self.maxAbs(gm, m)
                #expect(mError <= 1e-5 * scale + 2 * scale.ulp, "\(name) step \(step): buffer error \(mError)")
            }
            if let q = want.Q, let gq = got.Q {
                // Columns of Q are defined up to sign.
                let columns = q.first?.count ?? 0
                for j in 0..<columns {
                    let a = q.map { $0[j] }, b = gq.map { $0[j] }
                    let same = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                    let flipped = zip(a, b).map { abs($0 + $1) }.max() ?? 0
                    #expect(min(same, flipped) <= 1e-3, "\(name) step \(step): Q column \(j) differs by \(min(same, flipped))")
                }
            }
            previous = want.X
        }
    }
}
