import Foundation
import Testing
import _TestSupport

/// `dion replay --mesh` under mpirun keeps the single-process work orientation (issue 19): every
/// recorded Dion case — square, tall and wide, partial and full rank — reproduces its
/// single-process weights, momentum and Q on every mesh (R, F, T, R×F, F×T, R×T, R×F×T), with Q in
/// the single-process shape; a layout that would flip the orientation is refused on every rank.
@Suite("Replay on a mesh (mpirun)", .serialized)
struct ReplayOnMeshTests {
    struct Steps: Decodable { let steps: [Step] }
    struct Step: Decodable {
        let X: [[Float]]
        let Q: [[Float]]?
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../OptimizersTests/Fixtures").standardizedFileURL

    /// Every recorded Dion case, with its number of steps.
    static let dionCases: [(path: String, steps: Int)] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { $0.hasPrefix("dion-") && $0.hasSuffix(".json") }.sorted().compactMap { name in
            let url = fixtures.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url), let steps = try? JSONDecoder().decode(Steps.self, from: data) else {
                return nil
            }
            return (url.path, steps.steps.count)
        }
    }()

    @Test("the recorded Dion cases include square, tall and wide matrices of 32 and more")
    func casesPresent() {
        let names = Self.dionCases.map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(Self.dionCases.count >= 11, "\(names)")
        for name in ["dion-square-32.json", "dion-tall-48x32.json", "dion-wide-32x48.json", "dion-square-full.json"] {
            #expect(names.contains(name))
        }
    }

    @Test("every recorded Dion case equals its single-process replay on the mesh (X, momentum, Q)",
          arguments: [(1, "dp=1"), (2, "dp=2"), (2, "fsdp=2"), (2, "tp=2"), (4, "dp=4"), (4, "fsdp=4"), (4, "tp=4"),
                      (4, "dp=2,fsdp=2"), (4, "fsdp=2,tp=2"), (4, "dp=2,tp=2"), (8, "dp=2,fsdp=2,tp=2")])
    func everyCaseOnMesh(ranks: Int, mesh: String) throws {
        let runner = try #require(MPIJob.builtProduct("_MPITestRunner"))
        let cases = Self.dionCases
        try #require(cases.count >= 11)
        let result = try MPIJob(executable: runner, arguments: ["replay-mesh", mesh] + cases.map(\.path), ranks: ranks,
                                timeout: 120).run()
        #expect(result.status == 0 && !result.timedOut, "\(result)")
        let steps = cases.map(\.steps).reduce(0, +)
        for rank in 0..<ranks {
            #expect(result.standardOutput.contains("REPLAY rank \(rank)/\(ranks) cases=\(cases.count) steps=\(steps) checks="),
                    "\(result)")
        }
    }

    @Test("dion replay --mesh writes the single-process weights and Q",
          arguments: [(4, "fsdp=4", "dion-square-32", "(rows: replicated, columns: sharded(fsdp))"),
                      (4, "fsdp=2,tp=2", "dion-tall-48x32", "(rows: sharded(tp), columns: sharded(fsdp))"),
                      (4, "dp=2,fsdp=2", "dion-wide-32x48", "(rows: sharded(fsdp), columns: replicated)"),
                      (4, "fsdp=4", "dion-wide", "(rows: sharded(fsdp), columns: replicated)"),
                      (2, "dp=2", "dion-tall-half", "(rows: replicated, columns: replicated)"),
                      (2, "fsdp=2", "dion-square-full", "(rows: replicated, columns: sharded(fsdp))"),
                      (4, "dp=2,fsdp=2", "muon-tall-pe", "(rows: sharded(fsdp), columns: replicated)")])
    func cliMatches(ranks: Int, mesh: String, fixture: String, layout: String) throws {
        let dion = try #require(MPIJob.builtProduct("dion"), "the dion executable was not built next to the tests")
        let input = Self.fixtures.appendingPathComponent("\(fixture).json")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try MPIJob(executable: dion, arguments: ["replay", "--mesh", mesh, "--input", input.path,
                                                              "--output", output.path], ranks: ranks, timeout: 120).run()
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("layout \(layout)"), "\(result)")
        let got = try JSONDecoder().decode(Steps.self, from: Data(contentsOf: output))
        let want = try JSONDecoder().decode(Steps.self, from: Data(contentsOf: input))
        #expect(got.steps.count == want.steps.count && !want.steps.isEmpty)
        var compared = 0
        for (a, b) in zip(got.steps, want.steps) {
            let error = zip(a.X.joined(), b.X.joined()).map { abs($0 - $1) }.max() ?? 1
            #expect(error < 1e-6, "\(fixture) on \(mesh): X differs by \(error)")
            if let q = b.Q {
                let gq = try #require(a.Q)
                #expect(gq.count == q.count && gq.first?.count == q.first?.count,
                        "\(fixture) on \(mesh): Q is \(gq.count)×\(gq.first?.count ?? 0), not \(q.count)×\(q.first?.count ?? 0)")
                for j in 0..<(q.first?.count ?? 0) where gq.count == q.count {
                    let same = zip(gq, q).map { abs($0[j] - $1[j]) }.max() ?? 1
                    let flipped = zip(gq, q).map { abs($0[j] + $1[j]) }.max() ?? 1
                    #expect(min(same, flipped) <= 1e-4, "\(fixture) on \(mesh): Q column \(j) differs by \(min(same, flipped))")
                }
            }
            compared += 1
        }
        #expect(compared == want.steps.count)
    }

    @Test("a layout that would flip Dion's orientation is refused on every rank, non-zero, no hang",
          arguments: [(2, "fsdp=2", "fsdp", "dion-square-32", "32×32"), (4, "fsdp=2,tp=2", "row", "dion-tall-48x32", "48×32"),
                      (4, "fsdp=4", "column", "dion-wide-32x48", "32×48")])
    func flipRefused(ranks: Int, mesh: String, layout: String, fixture: String, shape: String) throws {
        let dion = try #require(MPIJob.builtProduct("dion"), "the dion executable was not built next to the tests")
        let input = Self.fixtures.appendingPathComponent("\(fixture).json")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try MPIJob(executable: dion, arguments: ["replay", "--mesh", mesh, "--layout", layout, "--input", input.path,
                                                              "--output", output.path], ranks: ranks, timeout: 60).run()
        #expect(!result.timedOut && result.status != 0, "\(result)")
        for rank in 0..<ranks {
            #expect(result.standardError.contains("[rank \(rank)/\(ranks)] error: unsupported tensor: replay of a \(shape) "
                                                  + "Dion case"), "\(result)")
        }
        #expect(result.standardError.contains("would read Q as the other factor"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
