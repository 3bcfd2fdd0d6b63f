@testable import MPIShim
import Testing
import Training

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
}
