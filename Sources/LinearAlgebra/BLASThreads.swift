import CBLAS
import Foundation

/// How many threads OpenBLAS uses.
///
/// `OPENBLAS_NUM_THREADS` is respected. Under `mpirun` (where `OMPI_COMM_WORLD_SIZE` is set) and
/// without that variable, `configureForProcess()` sets one thread per rank, so ranks sharing a
/// node do not oversubscribe its cores.
public enum BLASThreads {
    /// The current thread count.
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// Sets the thread count (at least 1).
    public static func set(_ threads: Int) {
        openblas_set_num_threads(Int32(Swift.max(1, threads)))
    }

    /// Applies the default policy: `OPENBLAS_NUM_THREADS` if set, else 1 under mpirun, else
    /// OpenBLAS's own default. Returns the resulting count.
    @discardableResult
    public static func configureForProcess() -> Int {
        let environment = ProcessInfo.processInfo.environment
        if let value = environment["OPENBLAS_NUM_THREADS"], let threads = Int(value), threads > 0 {
            set(threads)
        } else if environment["OMPI_COMM_WORLD_SIZE"] != nil {
            set(1)
        }
        return count
    }
}
