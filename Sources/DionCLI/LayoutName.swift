import ArgumentParser
import Sharding

/// The layout names of `--layout` (`dion bench comm`, `dion replay`), mapped onto a mesh.
enum LayoutName {
    /// The names, for help texts.
    static let choices = "replicated, fsdp (rows over fsdp), column (rows over tp, columns over fsdp when the mesh "
        + "has it) or row (columns over tp, rows over fsdp when the mesh has it)"

    /// The layout called `name` on `mesh`.
    ///
    /// - Throws: `ValidationError` for an unknown name.
    static func layout(_ name: String, on mesh: MeshShape) throws(ValidationError) -> ShardLayout {
        switch name {
        case "replicated": return .replicated
        case "fsdp": return .fsdp
        case "column": return mesh.fsdp > 1 ? .fsdpColumnParallel : .columnParallel
        case "row": return mesh.fsdp > 1 ? .fsdpRowParallel : .rowParallel
        default: throw ValidationError("--layout must be \(choices), got '\(name)'")
        }
    }
}
