import Foundation
import Testing
import MPIShim
@testable import Checkpointing

/// The checkpoint format and store on one process: round trips, pruning and every refusal.
@Suite("Checkpoints (one process)", .serialized)
struct CheckpointUnitTests {
    let world: Communicator
    let directory: String

    init() throws {
        world = try MPIRuntime.world()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
    }

    func tensors(step: Int) throws -> [CheckpointTensor] {
        [try CheckpointTensor(name: "w", floats: (0..<6).map { Float($0 + step) }, shape: [2, 3], globalShape: [4, 3],
                              offsets: [2, 0]),
         try CheckpointTensor(name: "step", int64s: [Int64(step)])]
    }

    func save(_ store: CheckpointStore, step: Int, configuration: String = "{\"d\":64}") throws {
        try store.save(step: step, tensors: try tensors(step: step), configuration: configuration, mesh: "dp=1",
                       communicator: world)
    }

    @Test("CRC-32C of the standard check string")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var split = CRC32C()
        long[..<333].withUnsafeBytes { split.update($0) }
        long[333...].withUnsafeBytes { split.update($0) }
        #expect(split.value == CRC32C.checksum(long))
    }

    @Test("save, load, keep the last two")
    func roundTrip() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CheckpointStore(directory: directory, keep: 2)
        for step in [10, 20, 30] { try save(store, step: step) }
        #expect(store.complete().map(\.step) == [20, 30])
        let loaded = try store.loadLatest(configuration: "{\"d\":64}", communicator: world)
        #expect(loaded.manifest.step == 30 && loaded.manifest.worldSize == 1 && loaded.manifest.mesh == "dp=1")
        #expect(try loaded.tensor("w", rank: 0).floats() == (0..<6).map { Float($0 + 30) })
        #expect(try loaded.tensor("w", rank: 0).globalShape == [4, 3])
        #expect(try loaded.tensor("step", rank: 0).int64s() == [30])
        #expect(throws: CheckpointError.self) { try loaded.tensor("nope", rank: 0) }
    }

    @Test("a store prunes only its own checkpoints; a fresh start refuses another run's; overwrite deletes only checkpoints")
    func ownership() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first = try CheckpointStore(directory: directory, keep: 2)
        try first.begin(.fresh, communicator: world)
        for step in [10, 20, 30] { try save(first, step: step) }
        var second = try CheckpointStore(directory: directory, keep: 2)
        let refused = #expect(throws: CheckpointError.self) { try second.begin(.fresh, communicator: world) }
        #expect(refused?.code == .directoryInUse && refused?.message.contains("step-00000020, step-00000030") == true)
        // Saving without `begin` (a library caller) still never prunes another run's checkpoints.
        for step in [1, 2, 3] { try save(second, step: step) }
        let runs = Dictionary(uniqueKeysWithValues: try first.complete().map {
            ($0.step, try CheckpointStore.manifest(at: $0.path).run)
        })
        #expect(runs == [2: second.run, 3: second.run, 20: first.run, 30: first.run], "\(runs)")
        // A resume continues the newest checkpoint's run: its next save prunes that run's older ones.
        var resumed = try CheckpointStore(directory: directory, keep: 2)
        try resumed.begin(.resume, communicator: world)
        resumed.continueRun(of: try CheckpointStore.manifest(at: try #require(first.latest()?.path)))
        #expect(resumed.run == first.run)
        try save(resumed, step: 40)
        #expect(first.complete().map(\.step) == [2, 3, 30, 40])
        // Overwrite: only checkpoint-shaped entries go; a step-like directory with other contents is refused.
        let notes = (directory as NSString).appendingPathComponent("notes.txt")
        try Data("x".utf8).write(to: URL(fileURLWithPath: notes))
        let odd = (directory as NSString).appendingPathComponent("step-00000050")
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: (odd as NSString).appendingPathComponent("mine.txt")))
        var third = try CheckpointStore(directory: directory, keep: 2)
        let kept = #expect(throws: CheckpointError.self) { try third.begin(.overwrite, communicator: world) }
        #expect(kept?.code == .directoryInUse && kept?.message.contains("step-00000050") == true)
        #expect(first.complete().count == 4)
        try FileManager.default.removeItem(atPath: odd)
        #expect(try third.begin(.overwrite, communicator: world) == 4)
        #expect(first.complete().isEmpty && FileManager.default.fileExists(atPath: notes))
        try third.begin(.fresh, communicator: world)
    }

    @Test("refusals: none, corrupt, truncated, missing file, other configuration, other version, unwritable")
    func refusals() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CheckpointStore(directory: directory, keep: 3)
        func refusal(_ configuration: String = "{\"d\":64}") -> CheckpointError? {
            #expect(throws: CheckpointError.self) { try store.loadLatest(configuration: configuration, communicator: world) }
        }
        #expect(refusal()?.code == .notFound)
        try save(store, step: 1)
        let path = try #require(store.latest()?.path)
        let file = (path as NSString).appendingPathComponent("rank-00000.bin")
        let manifestPath = (path as NSString).appendingPathComponent("manifest.json")
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        let originalManifest = try Data(contentsOf: URL(fileURLWithPath: manifestPath))

        #expect(refusal("{\"d\":128}")?.code == .configurationMismatch)

        var corrupt = original
        corrupt[corrupt.count - 3] ^= 0xFF
        try corrupt.write(to: URL(fileURLWithPath: file))
        #expect(refusal()?.code == .checksumMismatch)

        try original.prefix(original.count - 10).write(to: URL(fileURLWithPath: file))
        #expect(refusal()?.code == .truncated)

        try FileManager.default.removeItem(atPath: file)
        #expect(refusal()?.code == .missingFile)
        try original.write(to: URL(fileURLWithPath: file))

        let otherVersion = String(decoding: originalManifest, as: UTF8.self)
            .replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 99")
        try Data(otherVersion.utf8).write(to: URL(fileURLWithPath: manifestPath))
        #expect(refusal()?.code == .formatVersion)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: manifestPath))
        #expect(refusal()?.code == .corrupt)
        try originalManifest.write(to: URL(fileURLWithPath: manifestPath))
        #expect(try store.loadLatest(configuration: "{\"d\":64}", communicator: world).manifest.step == 1)

        // A directory that cannot be created (its parent is a file).
        let blocker = directory + "-file"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data([1])))
        defer { try? FileManager.default.removeItem(atPath: blocker) }
        let blocked = try CheckpointStore(directory: blocker + "/ckpt")
        let error = #expect(throws: CheckpointError.self) { try save(blocked, step: 1) }
        #expect(error?.code == .notWritable)
        #expect(throws: CheckpointError.self) { try CheckpointStore(directory: directory, keep: 0) }
    }

    @Test("an interrupted save leaves the previous checkpoint loadable")
    func interrupted() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CheckpointStore(directory: directory)
        try save(store, step: 5)
        let partial = (directory as NSString).appendingPathComponent("step-00000006.partial")
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: (partial as NSString).appendingPathComponent("rank-00000.bin")))
        #expect(try store.loadLatest(configuration: "{\"d\":64}", communicator: world).manifest.step == 5)
        try save(store, step: 7)
        #expect(!FileManager.default.fileExists(atPath: partial))
    }
}
