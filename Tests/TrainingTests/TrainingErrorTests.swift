@testable import DionDistributed
@testable import MPIShim
import Optimizers
import Sharding
import Testing
import Training
import Transformer

/// A failed collective in training stays an `MPIError` inside the `TrainingError`, labelled a
/// communication failure rather than I/O.
struct TrainingErrorTests {
    @Test("a communication error keeps the MPIError and names the collective's purpose")
    func keepsTheMPIError() {
        let mpi = MPIError(code: .collectiveTimeout, message: "no progress for 600 s", function: "MPI_Allgather")
        let error = TrainingError(communication: mpi, while: "comparing the settings across ranks")
        #expect(error.code == .communication)
        #expect(error.underlyingError == mpi)
        #expect(error.underlyingError?.code == .collectiveTimeout)
        #expect(error.description == "communication failure: comparing the settings across ranks failed: "
                + "MPI_Allgather: collective timeout: no progress for 600 s")
    }

    @Test("other errors have no underlying MPIError and describe as before")
    func plainErrors() {
        let error = TrainingError(.io, "cannot write metrics.jsonl")
        #expect(error.underlyingError == nil)
        #expect(error.description == "I/O error: cannot write metrics.jsonl")
    }

    static let mpi = MPIError(code: .mpiCallFailed, mpiReturnCode: 16, errorClass: 16,
                              message: "MPI_ERR_OTHER: known error not in list", function: "MPI_Allreduce")

    @Test("a failed collective inside an optimizer step is a communication error keeping the MPIError")
    func optimizerCommunication() throws {
        func failing() throws(OptimizerError) -> Int {
            try ShardedStepSupport.run("Dion's step") { () throws -> Int in throw Self.mpi }
        }
        let error = try #require(throws: OptimizerError.self) { try failing() }
        #expect(error.code == .communication && error.underlyingError == Self.mpi)
        #expect(error.description == "communication failure: Dion's step failed: MPI_Allreduce failed (MPI code 16, class 16): "
                + "MPI_ERR_OTHER: known error not in list")
        // Training reports it as it reports a failed collective anywhere else.
        let training = TrainingError(error)
        #expect(training == TrainingError(communication: Self.mpi, while: "Dion's step"))
        #expect(training.description == "communication failure: Dion's step failed: \(Self.mpi)")
    }

    @Test("a ShardingError carrying a failed collective inside a step keeps its MPIError; another is a shape mismatch")
    func optimizerSharding() throws {
        func failing(_ sharding: ShardingError) throws(OptimizerError) -> Int {
            try ShardedStepSupport.run("Muon's step") { () throws -> Int in throw sharding }
        }
        let communication = try #require(throws: OptimizerError.self) { try failing(ShardingError(communication: Self.mpi)) }
        #expect(communication.code == .communication && communication.underlyingError == Self.mpi)
        let shape = try #require(throws: OptimizerError.self) { try failing(ShardingError(.invalidLayout, "tp twice")) }
        #expect(shape.code == .shapeMismatch && shape.underlyingError == nil && shape.message == "invalid layout: tp twice")
        #expect(ShardingError(communication: Self.mpi).description == "communication failed: \(Self.mpi)")
    }

    @Test("a model or optimizer error that is not a failed collective keeps its value and its words")
    func causes() {
        let model = TransformerError(.invalidToken, "input token 300 is outside the vocabulary of 256")
        #expect(TrainingError(model).code == .model && TrainingError(model).cause == .model(model))
        #expect(TrainingError(model).description == model.description)
        let optimizer = OptimizerError(.invalidHyperparameter, "fraction must be in (0, 1]")
        #expect(TrainingError(optimizer).code == .optimizer && TrainingError(optimizer).description == optimizer.description)
        let gather = TransformerError(communication: Self.mpi, while: "gathering a block's weights over fsdp")
        #expect(TrainingError(gather) == TrainingError(communication: Self.mpi, while: "gathering a block's weights over fsdp"))
    }
}
