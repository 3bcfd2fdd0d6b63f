import Foundation

/// The fail-fast wrapper for executables: any error thrown on any rank ends the whole job.
///
/// An MPI job hangs when one rank leaves while the others wait in a collective. `FailFast.run`
/// prints the error with the rank that hit it and calls `MPI_Abort` on `MPI_COMM_WORLD`, which
/// takes every process down. It never calls `MPI_Finalize` on an error path (a finalize that
/// waits for ranks that will never arrive is itself a hang).
public enum FailFast {
    /// Runs `body`. On success finalizes MPI (when it was initialized) and returns; on a thrown
    /// error prints `[rank r/n] error: …` to standard error and aborts the job with `exitCode`.
    ///
    /// - Parameter graceSeconds: the pause between printing and aborting (`fail`): ranks that
    ///   refuse the same input (an agreed error) throw at about the same time, and the first abort
    ///   would otherwise kill the others before they print. Half a second by default.
    public static func run(exitCode: Int32 = 1, graceSeconds: Double = 0.5, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            fail(error, exitCode: exitCode, graceSeconds: graceSeconds)
        }
        do {
            try MPIRuntime.finalize()
        } catch {
            fail(error, exitCode: exitCode)
        }
    }

    /// Prints `error` with this process's rank and aborts the whole job. Never returns.
    ///
    /// - Parameter graceSeconds: how long to wait between printing and aborting, so that other
    ///   ranks detecting the same fault at about the same time can print theirs first.
    public static func fail(_ error: any Error, exitCode: Int32 = 1, graceSeconds: Double = 0) -> Never {
        writeStandardError("[\(rankDescription())] error: \(error)")
        if graceSeconds > 0 { Thread.sleep(forTimeInterval: graceSeconds) }
        MPIRuntime.abort(code: exitCode)
    }

    /// Ends a process that refused its input before MPI started (e.g. a flag the argument parser
    /// rejected): writes `message` to standard error and exits with `exitCode`. Every rank refuses
    /// the same input at once, and mpirun tears the job down on the first non-zero exit, which can
    /// drop the ranks' unforwarded standard error (a refused run once ended with status 64 and no
    /// message): under a launcher with more than one process it first waits `graceSeconds`.
    public static func refuse(_ message: String, exitCode: Int32, graceSeconds: Double = 0.5) -> Never {
        writeStandardError(message)
        if (launcherProcess()?.size ?? 1) > 1 && graceSeconds > 0 { Thread.sleep(forTimeInterval: graceSeconds) }
        exitProcess(exitCode)
    }

    /// `rank r/n` from MPI when it is active, else from the launcher's environment.
    static func rankDescription() -> String {
        if MPIRuntime.isActive, let world = try? MPIRuntime.world() {
            return "rank \(world.rank)/\(world.size)"
        }
        if let process = launcherProcess() { return "rank \(process.rank)/\(process.size)" }
        return "rank 0/1"
    }

    /// This process's rank and the job's size as mpirun's environment gives them, if it set them.
    static func launcherProcess() -> (rank: Int, size: Int)? {
        let environment = ProcessInfo.processInfo.environment
        guard let rank = environment["OMPI_COMM_WORLD_RANK"].flatMap({ Int($0) }),
              let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }) else { return nil }
        return (rank, size)
    }
}
