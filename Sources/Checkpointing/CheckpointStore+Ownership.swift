import Foundation
import MPIShim

/// Which run a checkpoint directory belongs to. A run never deletes another run's checkpoints: a
/// fresh run refuses a directory that holds some, unless told to overwrite them, and pruning
/// removes only the pruning run's own (`CheckpointManifest.run`).
extension CheckpointStore {
    /// How a training run starts in its checkpoint directory.
    public enum Start: Sendable, Hashable {
        /// A new run: the directory must hold no checkpoint (complete or partial).
        case fresh
        /// A new run that first deletes the checkpoints in the directory — only directories with
        /// a checkpoint's name and contents; anything else with a checkpoint's name is refused.
        case overwrite
        /// Continues the newest checkpoint's run (`continueRun(of:)` once it is loaded).
        case resume
    }

    /// Prepares the directory for a run, before step 1. Collective over `communicator`: every
    /// rank creates the directory and checks that it can write to it; rank 0 applies `start` to
    /// what the directory holds; every rank takes rank 0's run id. A refusal on any rank is
    /// thrown on every rank.
    ///
    /// - Returns: How many checkpoints `.overwrite` deleted (0 otherwise).
    /// - Throws: `CheckpointError.notWritable`; `.directoryInUse` when a fresh run finds
    ///   checkpoints, or `.overwrite` finds a `step-…` entry that is not a checkpoint.
    @discardableResult
    public mutating func begin(_ start: Start, communicator: Communicator) throws(CheckpointError) -> Int {
        try checkWritable(communicator: communicator)
        let removed = try RankAgreement.run(over: communicator) { () throws(CheckpointError) -> Int in
            guard communicator.rank == 0 else { return 0 }
            return try claim(start)
        }
        var id = Array(run.utf8)
        do throws(MPIError) {
            var length = [Int64(id.count)]
            try communicator.broadcast(&length)
            id = communicator.rank == 0 ? id : [UInt8](repeating: 0, count: Int(length[0]))
            try communicator.broadcast(&id)
        } catch {
            throw CheckpointError(communication: error, while: "broadcasting the run's identity")
        }
        run = String(decoding: id, as: UTF8.self)
        return removed ?? 0
    }

    /// Rank 0's part of `begin`: no communication.
    private func claim(_ start: Start) throws(CheckpointError) -> Int {
        guard start != .resume else { return 0 }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        let found = names.filter { Self.parseStepName($0) != nil }
        guard !found.isEmpty else { return 0 }
        let paths = found.map { (directory as NSString).appendingPathComponent($0) }
        switch start {
        case .fresh:
            let shown = found.prefix(4).joined(separator: ", ") + (found.count > 4 ? ", …" : "")
            throw CheckpointError(.directoryInUse, "\(directory) already holds checkpoints of another run (\(shown)); a new run "
                                  + "must not mix with them or prune them. Continue that run with --resume, choose another "
                                  + "--checkpoint-dir, or pass --overwrite-checkpoints to delete them")
        case .overwrite:
            if let foreign = paths.first(where: { !Self.isCheckpointShaped($0) }) {
                throw CheckpointError(.directoryInUse, "\(foreign) has a checkpoint's name but is not a checkpoint "
                                      + "(only manifest.json and rank-NNNNN.bin files); --overwrite-checkpoints deletes only "
                                      + "checkpoints: move it away or choose another --checkpoint-dir")
            }
            for path in paths {
                do {
                    try FileManager.default.removeItem(atPath: path)
                } catch {
                    throw CheckpointError(.notWritable, "cannot delete \(path): \(error.localizedDescription)")
                }
            }
            return paths.count
        case .resume:
            return 0
        }
    }

    /// Whether `path` is a directory holding only what a save writes: `manifest.json` and
    /// `rank-<digits>.bin`, each possibly with the `.tmp` suffix of an unfinished write.
    static func isCheckpointShaped(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
              let children = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        return children.allSatisfy { child in
            var name = Substring(child)
            if name.hasSuffix(".tmp") { name = name.dropLast(4) }
            if name == Substring(CheckpointManifest.fileName) { return true }
            guard name.hasPrefix("rank-"), name.hasSuffix(".bin") else { return false }
            let digits = name.dropFirst(5).dropLast(4)
            return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }
}
