import Foundation

/// The axes of a device mesh, outermost first.
public enum MeshAxis: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Data parallel: replicas of the whole model (`dp`).
    case replicate
    /// Fully sharded data parallel: parameters, gradients and optimizer state sharded (`fsdp`).
    case fsdp
    /// Tensor parallel: layers split across ranks, Megatron style (`tp`).
    case tp

    /// The name used in `--mesh` strings and as the ledger label of the axis communicator.
    public var label: String {
        switch self {
        case .replicate: "dp"
        case .fsdp: "fsdp"
        case .tp: "tp"
        }
    }

    public var description: String { label }
}

/// The sizes of the mesh axes: R (replicate), F (fsdp), T (tp). Any of them may be 1.
public struct MeshShape: Sendable, Hashable, Codable, CustomStringConvertible {
    /// R: data-parallel replicas.
    public let replicate: Int
    /// F: FSDP shards.
    public let fsdp: Int
    /// T: tensor-parallel shards.
    public let tp: Int

    /// A mesh of R × F × T processes.
    ///
    /// - Throws: `ShardingError.invalidMesh` when an axis is smaller than 1 or R·F·T overflows
    ///   (so `processCount` never traps).
    public init(replicate: Int = 1, fsdp: Int = 1, tp: Int = 1) throws(ShardingError) {
        for (axis, size) in [(MeshAxis.replicate, replicate), (.fsdp, fsdp), (.tp, tp)] where size < 1 {
            throw ShardingError(.invalidMesh, "mesh axis \(axis.label) must be at least 1, got \(size)")
        }
        let (rf, first) = replicate.multipliedReportingOverflow(by: fsdp)
        let (_, second) = rf.multipliedReportingOverflow(by: tp)
        guard !first, !second else {
            throw ShardingError(.invalidMesh, "mesh dp=\(replicate),fsdp=\(fsdp),tp=\(tp) has more processes than an Int "
                                + "can count; the product of the axes must be the number of processes")
        }
        self.replicate = replicate
        self.fsdp = fsdp
        self.tp = tp
    }

    /// Parses `dp=R,fsdp=F,tp=T` (any order, any subset; missing axes are 1; `replicate=` is
    /// accepted for `dp=`).
    ///
    /// - Throws: `ShardingError.invalidMesh` naming the part that is wrong.
    public init(parsing text: String) throws(ShardingError) {
        var sizes: [MeshAxis: Int] = [:]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw ShardingError(.invalidMesh, "empty mesh; write e.g. dp=2,fsdp=2,tp=1")
        }
        for part in trimmed.split(separator: ",") {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            let name = pair.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard pair.count == 2, let size = Int(pair[1].trimmingCharacters(in: .whitespaces)) else {
                throw ShardingError(.invalidMesh, "mesh part '\(part)' is not axis=size (e.g. fsdp=4)")
            }
            let axis: MeshAxis
            switch name {
            case "dp", "replicate": axis = .replicate
            case "fsdp": axis = .fsdp
            case "tp": axis = .tp
            default: throw ShardingError(.invalidMesh, "unknown mesh axis '\(name)'; use dp, fsdp and tp")
            }
            guard sizes[axis] == nil else {
                throw ShardingError(.invalidMesh, "mesh axis \(axis.label) given twice in '\(text)'")
            }
            sizes[axis] = size
        }
        try self.init(replicate: sizes[.replicate] ?? 1, fsdp: sizes[.fsdp] ?? 1, tp: sizes[.tp] ?? 1)
    }

    /// The size of one axis.
    public func size(of axis: MeshAxis) -> Int {
        switch axis {
        case .replicate: replicate
        case .fsdp: fsdp
        case .tp: tp
        }
    }

    /// R · F · T, the number of processes the mesh needs.
    public var processCount: Int { replicate * fsdp * tp }

    /// `dp=R,fsdp=F,tp=T`.
    public var description: String { "dp=\(replicate),fsdp=\(fsdp),tp=\(tp)" }
}
