import Foundation
import Testing
@testable import MPIShim

/// Every API on a world of one process (an MPI singleton inside the test host), including the
/// error paths that are detected before MPI is called.
@Suite("Singleton collectives", .serialized)
struct SingletonCollectiveTests {
    let world: Communicator

    init() throws {
        try MPIRuntime.initialize(requested: .multiple)
        world = try MPIRuntime.world()
    }

    @Test("initialization is idempotent and reports the thread level")
    func runtime() throws {
        let level = try MPIRuntime.initialize(requested: .single)
        #expect(level == MPIRuntime.providedThreadLevel)
        #expect(level >= .funneled)
        #expect(MPIRuntime.isActive)
        #expect(world.rank == 0 && world.size == 1)
        #expect(world.label == "world")
        #expect(try MPIRuntime.world() === world)
        let t0 = MPIRuntime.wallTime()
        #expect(MPIRuntime.wallTime() >= t0)
    }

    @Test("blocking collectives on one rank return their input", arguments: [0, 1, 17])
    func blocking(count: Int) throws {
        let x = (0..<count).map { Float($0) + 0.5 }
        var inPlace = x
        try world.allReduce(&inPlace, op: .average)
        #expect(inPlace == x)
        #expect(try world.allReduced(x, op: .max) == x)
        #expect(try world.reduceScatter(x) == x)
        #expect(try world.reduceScatter(x, counts: [count]) == x)
        #expect(try world.allGather(x) == x)
        #expect(try world.allGather(x, counts: [count]) == x)
        #expect(try world.allGatherVariable(x).counts == [count])
        #expect(try world.allToAll(x) == x)
        #expect(try world.allToAll(x, sendCounts: [count]) == x)
        var b = x
        try world.broadcast(&b, root: 0)
        #expect(b == x)
        try world.barrier()
    }

    @Test("every element type", arguments: MPIDatatype.allCases)
    func types(datatype: MPIDatatype) throws {
        switch datatype {
        case .float32: #expect(try world.allReduced([Float(1.5)]) == [1.5])
        case .float64: #expect(try world.allReduced([2.25]) == [2.25])
        case .int32: #expect(try world.allReduced([Int32(-3)], op: .min) == [-3])
        case .int64: #expect(try world.allReduced([Int64.max], op: .max) == [Int64.max])
        case .uint8: #expect(try world.allReduced([UInt8(255)]) == [255])
        case .bfloat16:
            // A wire format: moved, never reduced.
            #expect(try world.allGather([BFloat16(Float(1.5))]) == [BFloat16(Float(1.5))])
            #expect(throws: MPIError.self) { try world.allReduced([BFloat16(Float(1))]) }
        }
    }

    @Test("split, duplicate and release")
    func subCommunicators() throws {
        let sub = try #require(try world.split(color: 3, key: 0, label: "sub"))
        #expect(sub.size == 1 && sub.label == "sub")
        #expect(try world.split(color: nil) == nil)
        let copy = try world.duplicate()
        #expect(copy.label == "world")
        #expect(try copy.allReduced([Int32(7)]) == [7])
    }

    @Test("nonblocking requests own their buffers until wait")
    func nonblocking() throws {
        var request = try world.iAllReduce([Float](repeating: 2, count: 100), op: .average)
        while try !request.test() {}
        #expect(try request.wait() == [Float](repeating: 2, count: 100))
        #expect(try world.iAllGather([Int64(1), 2]).wait() == [1, 2])
        #expect(try world.iReduceScatter([Double(4)]).wait() == [4])
        // Dropping a request without waiting completes it in deinit.
        _ = try world.iAllReduce([UInt8](repeating: 1, count: 8))
    }

    @Test("mismatched sizes and bad arguments throw before MPI is called")
    func localErrors() throws {
        #expect(throws: MPIError.self) { _ = try world.reduceScatter([Float](repeating: 0, count: 3), counts: [2]) }
        #expect(throws: MPIError.self) { _ = try world.reduceScatter([Float](repeating: 0, count: 3), counts: [3, 0]) }
        #expect(throws: MPIError.self) { _ = try world.allGather([Float(1)], counts: [2]) }
        #expect(throws: MPIError.self) { _ = try world.allGather([Float(1)], counts: [-1]) }
        #expect(throws: MPIError.self) { _ = try world.allToAll([Float(1)], sendCounts: [1], receiveCounts: [2, 3]) }
        #expect(throws: MPIError.self) { var x = [Int64(1)]; try world.allReduce(&x, op: .average) }
        #expect(throws: MPIError.self) { var x = [Float(1)]; try world.broadcast(&x, root: 1) }
        #expect(throws: MPIError.self) { _ = try world.split(color: -1) }
        #expect(throws: MPIError.self) { _ = try world.iAllReduce([UInt8(1)], op: .average) }
        let input = [Float](repeating: 1, count: 4)
        var output = [Float](repeating: 0, count: 3)
        let error = try #require(throws: MPIError.self) {
            try input.withUnsafeBufferPointer { i in
                try output.withUnsafeMutableBufferPointer { o in try world.allReduce(i, into: o) }
            }
        }
        #expect(error.code == .invalidArgument)
        #expect(error.function == "Communicator.allReduce(_:into:)")
        #expect(error.description.contains("output has 3 elements, input 4"))
    }

    @Test("a failing MPI return code becomes an MPIError with the MPI message and function")
    func mpiErrors() throws {
        let error = try #require(throws: MPIError.self) { try check(13, "MPI_Allreduce") }  // 13 = MPI_ERR_ARG in Open MPI
        #expect(error.code == .mpiCallFailed)
        #expect(error.function == "MPI_Allreduce")
        #expect(error.mpiReturnCode == 13)
        #expect(error.errorClass == 13)
        #expect(!error.message.isEmpty)
        #expect(error.description.contains("MPI_Allreduce failed"))
    }
}
