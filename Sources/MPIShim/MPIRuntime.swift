import CMPI
import Synchronization

/// The thread support level of the MPI library (`MPI_THREAD_*`).
public enum ThreadLevel: Int32, Sendable, Hashable, Comparable, CustomStringConvertible {
    case single = 0
    case funneled = 1
    case serialized = 2
    case multiple = 3

    init(mpiValue: CInt) {
        switch mpiValue {
        case CInt(MPI_THREAD_SINGLE): self = .single
        case CInt(MPI_THREAD_FUNNELED): self = .funneled
        case CInt(MPI_THREAD_SERIALIZED): self = .serialized
        default: self = .multiple
        }
    }

    var mpiValue: CInt {
        switch self {
        case .single: CInt(MPI_THREAD_SINGLE)
        case .funneled: CInt(MPI_THREAD_FUNNELED)
        case .serialized: CInt(MPI_THREAD_SERIALIZED)
        case .multiple: CInt(MPI_THREAD_MULTIPLE)
        }
    }

    public static func < (a: ThreadLevel, b: ThreadLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .single: "single"
        case .funneled: "funneled"
        case .serialized: "serialized"
        case .multiple: "multiple"
        }
    }
}

/// The MPI environment of this process: initialized once, finalized once.
///
/// `MPI_Init` may run only once per process, so initialization is idempotent: the first call
/// (explicit, or implicit through `world()`) initializes and later calls return the thread level
/// already provided. Without `mpirun` the process becomes an MPI singleton (a world of 1).
public enum MPIRuntime {
    struct State {
        var provided: ThreadLevel?
        var world: Communicator?
        var finalized = false
    }

    static let state = Mutex(State())
    /// Set by `finalize()`; read by every collective (an atomic load instead of `MPI_Finalized`).
    static let finalizedFlag = Atomic<Bool>(false)

    /// Initializes MPI if it is not yet initialized and returns the thread level provided.
    ///
    /// - Parameter requested: The thread level to ask for. Only the first call's request counts.
    /// - Returns: The thread level the MPI library provides.
    /// - Throws: `MPIError` with code `.alreadyFinalized` after `finalize()`, or `.notInitialized`
    ///   when `MPI_Init_thread` fails.
    ///
    /// The corresponding MPI function is `MPI_Init_thread`.
    @discardableResult
    public static func initialize(requested: ThreadLevel = .multiple) throws(MPIError) -> ThreadLevel {
        try state.withLock { (s: inout State) throws(MPIError) -> ThreadLevel in
            try initializeLocked(&s, requested: requested)
        }
    }

    static func initializeLocked(_ s: inout State, requested: ThreadLevel) throws(MPIError) -> ThreadLevel {
        if s.finalized || mpi_finalized() {
            throw MPIError(code: .alreadyFinalized, message: "MPI was finalized in this process", function: "MPIRuntime.initialize")
        }
        if let provided = s.provided { return provided }
        var provided: CInt = 0
        if mpi_initialized() {
            // Initialized by someone else (a C library in the same process): adopt it.
            _ = MPI_Query_thread(&provided)
        } else {
            let rc = mpi_init_thread(requested.mpiValue, &provided)
            if rc != MPI_SUCCESS {
                throw MPIError(code: .notInitialized, mpiReturnCode: rc, message: "MPI_Init_thread failed",
                               function: "MPI_Init_thread")
            }
        }
        let level = ThreadLevel(mpiValue: provided)
        s.provided = level
        return level
    }

    /// The thread level MPI provides, or `nil` before initialization.
    public static var providedThreadLevel: ThreadLevel? { state.withLock { $0.provided } }

    /// Whether MPI is initialized and not yet finalized.
    public static var isActive: Bool { mpi_initialized() && !mpi_finalized() }

    /// Whether `MPI_Finalize` has run in this process.
    public static var isFinalized: Bool { mpi_finalized() }

    /// The communicator of all processes (`MPI_COMM_WORLD`, labelled `world`, recording into
    /// `CommunicationLedger.shared`), initializing MPI first if needed.
    ///
    /// Its error handler is set to `MPI_ERRORS_RETURN`, so failures throw instead of aborting.
    public static func world() throws(MPIError) -> Communicator {
        try state.withLock { (s: inout State) throws(MPIError) -> Communicator in
            _ = try initializeLocked(&s, requested: .multiple)
            if let world = s.world { return world }
            let world = try Communicator(adopting: CommHandle(raw: mpiCommWorld), label: "world",
                                         ledger: .shared, owned: false)
            s.world = world
            return world
        }
    }

    /// Finalizes MPI. Call it once, at the very end of a successful run; never on an error
    /// path (use `MPIRuntime.abort` there). Communicators still alive are not freed by MPI
    /// calls afterwards.
    ///
    /// The corresponding MPI function is `MPI_Finalize`.
    public static func finalize() throws(MPIError) {
        // A running watchdog takes part in collective heartbeats: stop it on every rank at the
        // same heartbeat, before MPI goes away under it.
        if CollectiveGuards.watching.load(ordering: .relaxed) && !CollectiveGuards.stopRequested.load(ordering: .relaxed) {
            CollectiveGuards.stopRequested.store(true, ordering: .releasing)
            CollectiveGuards.watchdogStopped.wait()
            CollectiveGuards.watching.store(false, ordering: .relaxed)
        }
        ProgressThread.stop()
        try state.withLock { (s: inout State) throws(MPIError) in
            guard !s.finalized, mpi_initialized(), !mpi_finalized() else { return }
            s.world = nil
            s.finalized = true
            finalizedFlag.store(true, ordering: .relaxed)
            try check(mpi_finalize(), "MPI_Finalize")
        }
    }

    /// Ends every process of the job with `code`. Never returns.
    ///
    /// The corresponding MPI function is `MPI_Abort` on `MPI_COMM_WORLD`. `MPI_Abort` waits for
    /// the launcher to act on it; a launcher that is slow to (once 24 s, with the test suite's load
    /// on 2 cores) keeps this process alive, and with it whatever it was doing. A backstop ends this
    /// process `abortBackstopSeconds` after the call whatever the launcher does; the launcher then
    /// sees a rank exit without `MPI_Finalize` and ends the others.
    public static func abort(code: Int32 = 1) -> Never {
        if mpi_initialized() && !mpi_finalized() {
            exitAfter(seconds: abortBackstopSeconds, code: code)
            _ = mpi_abort(mpiCommWorld, code)
        }
        exitProcess(code)
    }

    /// Seconds `abort` gives `MPI_Abort` before the process ends itself.
    public static let abortBackstopSeconds = 5.0

    /// Seconds since an arbitrary origin, from `MPI_Wtime`.
    public static func wallTime() -> Double { mpi_wtime() }
}
