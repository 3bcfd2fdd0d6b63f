import Foundation
import Testing
import _TestSupport

/// An MPI failure inside an optimizer step (`--debug-mpi-failure-step`: the failing rank's next
/// collective throws the error MPI's `MPI_ERR_OTHER` would give) is reported as a communication
/// failure naming the optimizer's step and the MPI function, never as a numerical one, and ends
/// the job exactly as an MPI failure anywhere else in training does.
@Suite("dion train: MPI failure in an optimizer (mpirun)", .serialized)
struct TrainMPIFailureTests {
    /// `[rank r/n] error: communication failure: CONTEXT failed: MPI_… failed (MPI code 16, class 16): MPI_ERR_OTHER…`
    static func reportedFailure(_ standardError: String, rank: Int, ranks: Int) -> (context: String, function: String)? {
        let prefix = "[rank \(rank)/\(ranks)] error: communication failure: "
        guard let line = standardError.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
              let failed = line.range(of: " failed: MPI_"),
              let code = line.range(of: " failed (MPI code ", range: failed.upperBound..<line.endIndex),
              line[code.upperBound...].contains("MPI_ERR_OTHER") else { return nil }
        let context = String(line[line.index(line.startIndex, offsetBy: prefix.count)..<failed.lowerBound])
        let function = "MPI_" + line[failed.upperBound..<code.lowerBound]
        return (context, function)
    }

    static func failing(ranks: Int, mesh: String, optimizer: String) throws -> MPIJob.Result {
        try TrainFaultTests.run(ranks: ranks, mesh: mesh, ["--optimizer", optimizer, "--steps", "3", "--debug-mpi-failure-step", "2",
                                                           "--debug-fault-rank", "\(ranks - 1)"], timeout: 60)
    }

    @Test("an MPI failure inside each optimizer's step is a communication failure naming the MPI function",
          arguments: [(2, "fsdp=2", "dion", "Dion's step"), (2, "fsdp=2", "muon", "Muon's step"),
                      (4, "fsdp=2,tp=2", "dion2", "Dion2's step"), (4, "dp=2,fsdp=2", "normuon", "NorMuon's step"),
                      (4, "fsdp=2,tp=2", "nordion2", "NorDion2's step")])
    func communicationFailure(ranks: Int, mesh: String, optimizer: String, context: String) throws {
        let result = try Self.failing(ranks: ranks, mesh: mesh, optimizer: optimizer)
        #expect(result.status != 0 && !result.timedOut && result.seconds < 30, "\(result)")
        let reported = try #require(Self.reportedFailure(result.standardError, rank: ranks - 1, ranks: ranks), "\(result)")
        #expect(reported.context == context, "\(result)")
        #expect(["MPI_Allreduce", "MPI_Reduce_scatter", "MPI_Allgather", "MPI_Alltoallv", "MPI_Bcast"].contains(reported.function),
                "\(reported.function): \(result)")
        #expect(!result.standardError.contains("numerical failure"), "\(result)")
        // Step 1 completed before the fault; step 3's vote needs the failed rank, so no rank finished it.
        #expect(result.standardOutput.contains("step 1/3") && !result.standardOutput.contains("step 3/3"), "\(result)")
    }

    /// AdamW's step sends nothing (ZeRO), so the armed failure hits the next collective outside
    /// any optimizer: step 3's finiteness vote. Same report and same exit as inside an optimizer.
    @Test("an MPI failure outside the optimizers is reported and ends the job the same way")
    func sameAsElsewhere() throws {
        let inside = try Self.failing(ranks: 2, mesh: "fsdp=2", optimizer: "dion")
        let outside = try Self.failing(ranks: 2, mesh: "dp=2", optimizer: "adamw")
        let a = try #require(Self.reportedFailure(inside.standardError, rank: 1, ranks: 2), "\(inside)")
        let b = try #require(Self.reportedFailure(outside.standardError, rank: 1, ranks: 2), "\(outside)")
        #expect(a.context == "Dion's step" && b.context == "agreeing on the step's loss and finiteness across ranks")
        #expect(b.function == "MPI_Allreduce")
        #expect(inside.status == outside.status && inside.status != 0 && !inside.timedOut && !outside.timedOut,
                "\(inside)\n\(outside)")
    }
}
