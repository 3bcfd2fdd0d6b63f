import ArgumentParser
import Sharding

/// The layout names of `--layout` (`dion bench comm`, `dion replay`), mapped onto a mesh.
enum LayoutName: String, CaseIterable, ExpressibleByArgument {
    /// Every rank holds the whole matrix.
    case replicated
    /// Rows over fsdp.
    case fsdp
    /// Rows over tp, columns over fsdp when the mesh has it.
    case column
    /// Columns over tp, rows over fsdp when the mesh has it.
    case row

    /// The names, for help texts.
    static let choices = "replicated, fsdp (rows over fsdp), column (rows over tp, columns over fsdp when the mesh "
        + "has it) or row (columns over tp, rows over fsdp when the mesh has it)"

    /// `dion bench comm`'s default on `mesh`: column with tp > 1, else fsdp with fsdp > 1, else replicated.
    static func defaultLayout(on mesh: MeshShape) -> LayoutName {
        mesh.tp > 1 ? .column : mesh.fsdp > 1 ? .fsdp : .replicated
    }

    /// This layout on `mesh`.
    func layout(on mesh: MeshShape) -> ShardLayout {
        switch self {
        case .replicated: .replicated
        case .fsdp: .fsdp
        case .column: mesh.fsdp > 1 ? .fsdpColumnParallel : .columnParallel
        case .row: mesh.fsdp > 1 ? .fsdpRowParallel : .rowParallel
        }
    }
}

/// `dion replay --layout`: `auto` or one of the named layouts.
enum ReplayLayoutChoice: Equatable, ExpressibleByArgument {
    /// For Dion the layout that keeps the single-process work orientation.
    case auto
    /// The named layout.
    case named(LayoutName)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let name = LayoutName(argument: argument) {
            self = .named(name)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { ["auto"] + LayoutName.allValueStrings }

    var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .named(let name): name.rawValue
        }
    }
}
