import Testing
import MPIShim
@testable import Sharding

@Suite("Chunk split")
struct ChunkSplitTests {
    @Test("ceil-sized chunks, the last ones short or empty",
          arguments: [(130, 4, [33, 33, 33, 31]), (3, 4, [1, 1, 1, 0]), (70, 4, [18, 18, 18, 16]),
                      (5, 2, [3, 2]), (0, 3, [0, 0, 0]), (8, 4, [2, 2, 2, 2]), (5, 4, [2, 2, 1, 0])])
    func sizes(length: Int, parts: Int, expected: [Int]) {
        #expect(ChunkSplit.sizes(length: length, parts: parts) == expected)
        let ranges = (0..<parts).map { ChunkSplit.range(of: $0, length: length, parts: parts) }
        #expect(ranges.map(\.count) == expected)
        #expect(ranges.flatMap { Array($0) } == Array(0..<length))
    }
}

@Suite("Mesh shapes and layouts")
struct MeshAndLayoutTests {
    @Test("parsing", arguments: [("dp=2,fsdp=2", 2, 2, 1), ("tp=4", 1, 1, 4), ("fsdp=2, tp=2", 1, 2, 2),
                                  ("replicate=3", 3, 1, 1), ("DP=1,FSDP=1,TP=1", 1, 1, 1)])
    func parse(text: String, r: Int, f: Int, t: Int) throws {
        let shape = try MeshShape(parsing: text)
        #expect(shape == (try MeshShape(replicate: r, fsdp: f, tp: t)))
        #expect(shape.processCount == r * f * t)
        #expect(try MeshShape(parsing: shape.description) == shape)
    }

    @Test("bad meshes are rejected with the reason", arguments: ["", "dp=0", "fsdp=-1", "pp=2", "dp=2,dp=2", "fsdp", "tp=x"])
    func badMesh(text: String) {
        let error = #expect(throws: ShardingError.self) { try MeshShape(parsing: text) }
        #expect(error?.code == .invalidMesh)
        #expect(error?.message.isEmpty == false)
    }

    @Test("one dimension over two axes, one axis over two dimensions, and dp sharding are rejected")
    func badLayouts() throws {
        let twoAxes = #expect(throws: ShardingError.self) { try ShardLayout(rowAxes: [.fsdp, .tp], columnAxes: []) }
        #expect(twoAxes?.code == .invalidLayout)
        #expect(twoAxes?.message.contains("one dimension can be sharded over one mesh axis only") == true)
        let sameAxis = #expect(throws: ShardingError.self) { try ShardLayout(rows: .sharded(.tp), columns: .sharded(.tp)) }
        #expect(sameAxis?.code == .invalidLayout)
        #expect(throws: ShardingError.self) { try ShardLayout(rows: .sharded(.replicate)) }
        #expect(try ShardLayout(rowAxes: [.tp], columnAxes: [.fsdp]) == .fsdpColumnParallel)
        #expect(try ShardLayout(rows: .sharded(.fsdp), columns: .sharded(.tp)) == .fsdpRowParallel)
    }

    @Test("a mesh of one process, and a mesh that does not match the process count")
    func singleProcessMesh() throws {
        let world = try MPIRuntime.world()
        let mesh = try DeviceMesh(shape: try MeshShape(), world: world)
        #expect(mesh.index(on: .fsdp) == 0 && mesh.communicator(.tp).size == 1)
        let matrix = try ShardedMatrix(scattering: (0..<6).map(Float.init), rows: 2, columns: 3, layout: .fsdpRowParallel,
                                       mesh: mesh)
        #expect(try matrix.gathered(on: mesh) == (0..<6).map(Float.init))
        let mismatch = #expect(throws: ShardingError.self) { try DeviceMesh(shape: try MeshShape(fsdp: 4), world: world) }
        #expect(mismatch?.code == .meshMismatch)
        #expect(mismatch?.message.contains("needs 4 processes but the job has 1") == true)
        #expect(throws: ShardingError.self) {
            try ShardedMatrix(scattering: [1, 2, 3], rows: 2, columns: 2, layout: .replicated, mesh: mesh)
        }
        #expect(throws: ShardingError.self) {
            try ShardedMatrix(rows: 2, columns: 2, layout: .fsdp, local: [1], mesh: mesh)
        }
    }
}
