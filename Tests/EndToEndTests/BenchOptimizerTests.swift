import Foundation
import Testing
import _TestSupport

/// `dion bench optimizer --optimizers …`: one JSON line per optimizer, named as the command line
/// names it, with Dion2's and NorDion2's α and k = ⌈α·p⌉ of the selection dimension.
@Suite("dion bench optimizer")
struct BenchOptimizerTests {
    struct Record: Decodable {
        let optimizer: String
        let shape: String
        let fraction: Double?
        let selected: Int?
        let median_s: Double
        let flops: Double
    }

    @Test("dion2:0.25,nordion2:0.25,normuon,muon,dion:1/4,adamw on 70×130 and 130×70")
    func records() throws {
        let dion = try #require(TrainMultiRankTests.dion)
        for (shape, dion2Selected) in [("70x130", 18), ("130x70", 18)] {
            let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-optimizer-\(UUID()).jsonl")
            defer { try? FileManager.default.removeItem(at: json) }
            let result = try MPIJob.runCommand([dion, "bench", "optimizer", "--optimizers",
                                                "dion2:0.25,nordion2:0.25,normuon,muon,dion:1/4,adamw", "--shape", shape,
                                                "--steps", "10", "--json", json.path])
            #expect(result.status == 0, "\(result)")
            let lines = try String(contentsOf: json, encoding: .utf8).split(separator: "\n")
            let records = try lines.map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
            #expect(records.map(\.optimizer) == ["dion2", "nordion2", "normuon", "muon", "dion", "adamw"])
            #expect(records.allSatisfy { $0.shape == shape && $0.median_s > 0 && $0.flops > 0 })
            // Dion2 selects the shorter dimension (70 slices: k = 18); NorDion2 always rows.
            #expect(records[0].fraction == 0.25 && records[0].selected == dion2Selected)
            #expect(records[1].fraction == 0.25 && records[1].selected == (shape == "70x130" ? 18 : 33))
            #expect(records[2].fraction == nil && records[2].selected == nil)
        }
    }

    @Test("a bad optimizer is refused with the accepted forms")
    func refused() throws {
        let dion = try #require(TrainMultiRankTests.dion)
        let result = try MPIJob.runCommand([dion, "bench", "optimizer", "--optimizers", "dion2:1.5", "--shape", "8x8"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("in (0, 1]"), "\(result)")
    }
}
