import Foundation
import MPIShim
import Checkpointing
#if canImport(Glibc)
import Glibc
#endif

/// Tensors rank `rank` saves at `step`: a shard of a 2-D weight, a step counter and a name
/// that differs per rank.
func checkpointTensors(rank: Int, size: Int, step: Int, scale: Int = 1) throws -> [CheckpointTensor] {
    let rows = 3 * scale, columns = 5
    let values = (0..<(rows * columns)).map { Float(step * 1000 + rank * 100 + $0) }
    return [
        try CheckpointTensor(name: "w", floats: values, shape: [rows, columns], globalShape: [rows * size, columns],
                             offsets: [rows * rank, 0]),
        try CheckpointTensor(name: "step", int64s: [Int64(step)]),
        try CheckpointTensor(name: "rank-\(rank)", int64s: [Int64(rank), Int64(size)]),
    ]
}

/// `checkpoint-save DIR STEP [die-after-file|huge]`, `checkpoint-load DIR [CONFIG]`.
func runCheckpointScenario(_ world: Communicator, _ arguments: [String]) throws {
    guard arguments.count >= 2 else { throw UsageError(message: "checkpoint-save|load DIR …") }
    let store = try CheckpointStore(directory: arguments[1], keep: 2)
    switch arguments[0] {
    case "checkpoint-save":
        let step = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1
        let mode = arguments.count > 3 ? arguments[3] : ""
        if mode == "huge" {
            // A file-size limit below the file this save needs: writes fail with EFBIG, as on a full disk.
            signal(SIGXFSZ, SIG_IGN)
            var limit = rlimit(rlim_cur: 64 * 1024, rlim_max: 64 * 1024)
            _ = setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        }
        var tensors = try checkpointTensors(rank: world.rank, size: world.size, step: step,
                                            scale: mode == "huge" ? 10_000 : 1)
        if mode == "die-after-file" {
            // Crash in the middle of the save: rank 0 writes its file, then the job dies.
            tensors.append(try CheckpointTensor(name: "marker", int64s: [1]))
            let partial = (arguments[1] as NSString).appendingPathComponent(String(format: "step-%08d.partial", step))
            try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: (partial as NSString).appendingPathComponent("rank-00000.bin")))
            try world.barrier()
            if world.rank == 0 { MPIRuntime.abort(code: 9) }
            try world.barrier()
        }
        do {
            let path = try store.save(step: step, tensors: tensors, configuration: "{\"test\":1}", mesh: "dp=\(world.size)",
                                      communicator: world)
            print("SAVED rank \(world.rank) \(path)")
        } catch {
            print("REFUSED rank \(world.rank): \(error)")
        }
    case "checkpoint-load":
        let configuration = arguments.count > 2 ? arguments[2] : "{\"test\":1}"
        do {
            let loaded = try store.loadLatest(configuration: configuration, communicator: world)
            let step = try loaded.tensor("step", rank: world.rank).int64s()[0]
            let expected = try checkpointTensors(rank: world.rank, size: world.size, step: Int(step))
            let w = try loaded.tensor("w", rank: world.rank)
            guard w == expected[0], try loaded.tensor("rank-\(world.rank)", rank: world.rank) == expected[2] else {
                throw CheckFailure(description: "loaded tensors differ from what was saved")
            }
            print("LOADED rank \(world.rank) step \(step)")
        } catch {
            print("REFUSED rank \(world.rank): \(error)")
        }
    default:
        throw UsageError(message: "unknown checkpoint scenario \(arguments[0])")
    }
}
