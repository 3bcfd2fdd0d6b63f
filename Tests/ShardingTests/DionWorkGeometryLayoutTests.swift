import Testing
import Sharding

/// The orientation-keeping layout rule (`DionWorkGeometry.layout(keepingTransposed:on:)`) that the
/// training job and `dion replay --mesh` share, and the check that refuses a layout flipping it.
@Suite("Dion work orientation and layouts")
struct DionWorkGeometryLayoutTests {
    static let meshes: [MeshShape] = [(1, 1, 1), (4, 1, 1), (1, 4, 1), (1, 1, 4), (2, 2, 1), (1, 2, 2), (2, 1, 2),
                                      (2, 2, 2)].compactMap { try? MeshShape(replicate: $0.0, fsdp: $0.1, tp: $0.2) }

    @Test("the chosen layout keeps either orientation on every mesh, P's side over tp, Q's over fsdp",
          arguments: meshes)
    func keepsOrientation(mesh: MeshShape) throws {
        var checked = 0
        for transposed in [false, true] {
            let layout = DionWorkGeometry.layout(keepingTransposed: transposed, on: mesh)
            for (m, n) in [(32, 32), (48, 32), (32, 48)] {
                let geometry = try DionWorkGeometry(layout: layout, rows: m, columns: n, keepingTransposed: transposed,
                                                    on: mesh)
                #expect(geometry.transposed == transposed)
                #expect(geometry.inner(on: mesh) == (mesh.tp > 1 ? .tp : nil))
                #expect(geometry.outer(on: mesh) == (mesh.fsdp > 1 ? .fsdp : nil))
                checked += 1
            }
        }
        #expect(checked == 6)
    }

    @Test("the training job's row- and column-parallel layouts are the rule's")
    func namedLayouts() throws {
        let (f, t, ft) = (try MeshShape(fsdp: 2), try MeshShape(tp: 2), try MeshShape(fsdp: 2, tp: 2))
        #expect(DionWorkGeometry.layout(keepingTransposed: true, on: f) == .fsdp)
        #expect(DionWorkGeometry.layout(keepingTransposed: true, on: t) == .rowParallel)
        #expect(DionWorkGeometry.layout(keepingTransposed: true, on: ft) == .fsdpRowParallel)
        #expect(DionWorkGeometry.layout(keepingTransposed: false, on: t) == .columnParallel)
        #expect(DionWorkGeometry.layout(keepingTransposed: false, on: ft) == .fsdpColumnParallel)
        #expect(DionWorkGeometry.layout(keepingTransposed: false, on: f) == (try ShardLayout(columns: .sharded(.fsdp))))
        #expect(DionWorkGeometry.layout(keepingTransposed: true, on: try MeshShape(replicate: 4)) == .replicated)
    }

    @Test("the single-device rule: Mᵀ only when m < n", arguments: [(32, 32, false), (48, 32, false), (32, 48, true)])
    func singleDevice(m: Int, n: Int, transposed: Bool) {
        #expect(DionWorkGeometry.singleDeviceTransposed(rows: m, columns: n) == transposed)
    }

    @Test("a layout that flips the orientation is refused — square matrices too — naming the one that keeps it",
          arguments: [(32, 32), (48, 32)])
    func refusesFlip(m: Int, n: Int) throws {
        let mesh = try MeshShape(fsdp: 2)
        let error = #expect(throws: ShardingError.self) {
            try DionWorkGeometry(layout: .fsdp, rows: m, columns: n, keepingTransposed: false, on: mesh)
        }
        #expect(error?.code == .invalidLayout)
        #expect(error?.message.contains("would read Q as the other factor") == true)
        #expect(error?.message.contains("(rows: replicated, columns: sharded(fsdp))") == true)
    }
}
