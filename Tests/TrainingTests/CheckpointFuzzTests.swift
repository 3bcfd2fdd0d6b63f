import Checkpointing
import DionCore
import Foundation
import MPIShim
import Sharding
import Testing
import Training
import TrainingData
import _TestSupport
import Transformer

/// Issue 15, defect 6: a checkpoint written by a real (one-process) training run, mutated at
/// random with every checksum made valid again, is either loaded or refused with a
/// `CheckpointError` — never a trap. A fixed seed and a bounded number of mutations (a few
/// seconds), plus the issue's crafted cases first.
@Suite("Checkpoint fuzz (one process)", .serialized)
struct CheckpointFuzzTests {
    /// SplitMix64: the mutations are the same on every run.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(state: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static let integers: [Int] = [-1, 0, 1, 2, 3, 16, -(1 << 40), Int.max, Int.min, Int.max / 2 + 1, 1 << 62, 1 << 32]

    /// A trainer of a tiny model on one process, and a checkpoint of it after two steps.
    static func trainer(directory: URL) throws -> (Trainer, CheckpointStore) {
        let world = try MPIRuntime.world()
        let shape = try MeshShape(parsing: "dp=1")
        let configuration = TrainingConfiguration(
            model: try TransformerConfiguration(layers: 1, modelDimension: 16, heads: 2, sequenceLength: 8),
            mesh: shape, optimizer: .dion, learningRate: 0.02, scalarLearningRate: 0.004,
            schedule: try LearningRateSchedule(shape: .cosine, warmup: 0, steps: 10), batchSize: 2)
        let text: [UInt8] = (0..<4000).map { (k: Int) -> UInt8 in
            let letter: Int = (k * 7 + k / 13) % 26
            return UInt8(97 + letter)
        }
        let trainer = try Trainer(configuration: configuration, corpus: try ByteCorpus(bytes: text, source: "fuzz"),
                                  mesh: try DeviceMesh(shape: shape, world: world),
                                  output: try TrainingOutput(active: false, metricsPath: nil))
        let store = try CheckpointStore(directory: directory.path, keep: 1)
        return (trainer, store)
    }

    /// One mutation of the checkpoint at `step` (a `step-…` directory), described.
    static func mutate(_ surgery: CheckpointSurgery, _ random: inout Random) throws -> String {
        switch random.below(4) {
        case 0, 1:
            var what = ""
            try surgery.editIndex(rank: 0) { index in
                let k = random.below(index.count)
                let name = index[k]["name"] as? String ?? "?"
                switch random.below(8) {
                case 0:
                    let key = random.pick(["shape", "globalShape", "offsets", "offset", "byteCount", "element", "name"])
                    index[k][key] = nil
                    what = "\(name): no \(key)"
                case 1, 2:
                    let key = random.pick(["shape", "globalShape", "offsets"])
                    let value = (0..<random.below(4)).map { _ in random.pick(integers) }
                    index[k][key] = value
                    what = "\(name): \(key) = \(value)"
                case 3, 4:
                    let key = random.pick(["offset", "byteCount"])
                    let value = random.pick(integers)
                    index[k][key] = value
                    what = "\(name): \(key) = \(value)"
                case 5:
                    index[k]["element"] = random.pick(["float32", "float64", "int64", "uint8", "complex"])
                    what = "\(name): element \(index[k]["element"] ?? "")"
                case 6:
                    index.append(index[k])
                    what = "\(name) twice"
                default:
                    index.remove(at: k)
                    what = "\(name) removed"
                }
            }
            try surgery.reseal()
            return "index " + what
        case 2:
            let key = random.pick(["step", "worldSize", "mesh", "files", "formatVersion", "createdUnixSeconds"])
            let value: Any = switch key {
            case "mesh": random.pick(["dp=0", "dp=-1", "dp=2", "x", "dp=4294967296,fsdp=4294967296", "dp=1,tp=1"])
            case "files": random.pick([[] as [Any], [["name": "../manifest.json", "bytes": 1, "crc32c": 0]]])
            default: random.pick(integers)
            }
            try surgery.editManifest { $0[key] = value }
            try surgery.reseal()
            return "manifest \(key) = \(value)"
        default:
            let name = random.pick(["trainer.state", "dion.step.layers.0.wq"])
            let counts = name == "trainer.state" ? 4 : 1
            var values = try surgery.int64s(rank: 0, name)
            guard values.count == counts else { return "nothing" }
            let k = random.below(counts)
            values[k] = Int64(truncatingIfNeeded: random.pick(integers))
            try surgery.setInt64s(rank: 0, name, values)
            try surgery.reseal()
            return "\(name)[\(k)] = \(values[k])"
        }
    }

    @Test("random mutations of a real checkpoint, CRCs recomputed, are loaded or refused with a CheckpointError")
    func fuzz() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("ckpt")
        let (trainer, store) = try Self.trainer(directory: directory)
        for _ in 0..<2 { _ = try trainer.trainStep() }
        let original = URL(fileURLWithPath: try trainer.saveCheckpoint(to: store))
        let pristine = root.appendingPathComponent("pristine")
        try FileManager.default.copyItem(at: original, to: pristine)

        func reset() throws {
            try FileManager.default.removeItem(at: original)
            try FileManager.default.copyItem(at: pristine, to: original)
        }
        /// Loads the checkpoint: true when it loaded, false when refused; records anything else.
        func attempt(_ what: String) -> Bool {
            do {
                try trainer.restore(from: store)
                #expect(trainer.step == 2, "\(what): loaded at step \(trainer.step)")
                return true
            } catch {
                // `restore` throws only `CheckpointError` (typed throws): the compiler checks the type.
                #expect(!error.message.isEmpty)
                return false
            }
        }
        // The checkpoint itself, resealed by the test's surgery, loads.
        try CheckpointSurgery(path: original).reseal()
        #expect(attempt("resealed original"), "the surgery's reseal must keep a checkpoint loadable")

        // The issue's crafted cases.
        let surgery = CheckpointSurgery(path: original)
        let crafted: [(String, () throws -> Void)] = [
            ("offset + byteCount overflows", {
                try surgery.editTensor(rank: 0, "param.embed") { $0["offset"] = Int.max; $0["byteCount"] = 16 } }),
            ("shape product overflows", {
                try surgery.editTensor(rank: 0, "param.embed") { $0["shape"] = [1 << 32, 1 << 32, 4] } }),
            ("negative shape whose product matches", {
                try surgery.editTensor(rank: 0, "param.embed") { entry in
                    let shape = entry["shape"] as? [Int] ?? []
                    entry["shape"] = shape.map { -$0 }
                } }),
            ("offsets without globalShape", {
                try surgery.editTensor(rank: 0, "param.embed") { $0["globalShape"] = nil } }),
            ("step counter of length 0", {
                try surgery.editTensor(rank: 0, "dion.step.layers.0.wq") { $0["shape"] = [0]; $0["byteCount"] = 0 } }),
            ("negative trainer step", { try surgery.setInt64s(rank: 0, "trainer.state", [-5, 0, 0, 0]) }),
            ("huge trainer step", { try surgery.setInt64s(rank: 0, "trainer.state", [Int64.max, 0, 0, 0]) }),
            ("manifest worldSize -1", { try surgery.editManifest { $0["worldSize"] = -1 } }),
            ("manifest step -1", { try surgery.editManifest { $0["step"] = -1 } }),
        ]
        for (what, edit) in crafted {
            try reset()
            try edit()
            try surgery.reseal()
            #expect(!attempt(what), "\(what) was loaded")
        }

        var random = Random(state: 0x15_0006)
        var outcomes = (loaded: 0, refused: 0)
        let iterations = 150
        for _ in 0..<iterations {
            try reset()
            let what = try Self.mutate(surgery, &random)
            if attempt(what) { outcomes.loaded += 1 } else { outcomes.refused += 1 }
        }
        #expect(outcomes.loaded + outcomes.refused == iterations)
        #expect(outcomes.refused > iterations / 2, "most mutations must be refused: \(outcomes)")
        // After all that, the pristine checkpoint still loads into the same trainer.
        try reset()
        #expect(attempt("pristine"))
    }
}
