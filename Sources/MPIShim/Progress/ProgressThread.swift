import CMPI
import Dispatch
import Foundation
import Synchronization

/// Drives MPI's progress engine from a background thread while nonblocking collectives are in
/// flight (`MPIRuntime.startProgressThread`).
///
/// Open MPI has no progress thread for its TCP and shared-memory transports: a nonblocking
/// collective moves only inside MPI calls. Over TCP a large message needs several rounds — the
/// rendezvous handshake, then fragments as the socket drains — and a collective's schedule
/// several more, each of which waits for the next MPI call on both ranks. The training step
/// calls `MPI_Test` between kernels (every few milliseconds), so each round waited for a poll:
/// on the emulated cluster, `dion train --overlap on` ran slower than `off` over unshaped links
/// (docs/cluster.md, "Overlap"). This thread probes a private communicator every
/// `intervalMicroseconds` while any `Request` is in flight (`MPI_Iprobe` runs the progress engine
/// when nothing matches, and nothing is ever sent on that communicator) and sleeps on a semaphore
/// when none is, so it costs no CPU between the step's collectives. Needs `MPI_THREAD_MULTIPLE`.
final class ProgressThread: Sendable {
    /// Nonblocking collectives started and not yet completed, in this process (`Request`).
    static let inFlight = Atomic<Int>(0)
    static let running = Atomic<Bool>(false)
    static let stopRequested = Atomic<Bool>(false)
    /// Signalled when the first collective goes in flight (and to stop).
    static let wake = DispatchSemaphore(value: 0)
    /// Signalled by the thread when it has stopped and freed its communicator.
    static let stopped = DispatchSemaphore(value: 0)

    let probed: CommHandle
    let intervalMicroseconds: UInt32

    init(world: Communicator, intervalMicroseconds: UInt32) throws(MPIError) {
        var newComm: MPI_Comm? = mpiCommNull
        try check(mpi_comm_dup(world.handle.raw, &newComm), "MPI_Comm_dup")
        probed = CommHandle(raw: newComm)
        self.intervalMicroseconds = intervalMicroseconds
    }

    /// A `Request` went in flight.
    @inline(__always)
    static func began() {
        if inFlight.wrappingAdd(1, ordering: .relaxed).oldValue == 0 && running.load(ordering: .relaxed) { wake.signal() }
    }

    /// A `Request` completed (or was dropped).
    @inline(__always)
    static func ended() { inFlight.wrappingSubtract(1, ordering: .relaxed) }

    func start() {
        Self.running.store(true, ordering: .relaxed)
        let thread = Thread { [self] in self.run() }
        thread.name = "mpi-progress"
        thread.start()
    }

    private func run() {
        defer { Self.stopped.signal() }
        var flag: CInt = 0
        while !Self.stopRequested.load(ordering: .acquiring) {
            if Self.inFlight.load(ordering: .relaxed) > 0 {
                let rc = mpi_iprobe(CInt(MPI_ANY_SOURCE), CInt(MPI_ANY_TAG), probed.raw, &flag)
                // A failing probe means MPI itself failed; the step's own wait reports it.
                if rc != MPI_SUCCESS { break }
                Self.advanceDriven()
                usleep(intervalMicroseconds)
            } else {
                _ = Self.wake.wait(timeout: .now() + .milliseconds(50))
            }
        }
        // Freed on this thread, before the signal, so no MPI call of it can race MPI_Finalize.
        var raw = probed.raw
        _ = mpi_comm_free(&raw)
    }

    /// Stops the thread (before `MPI_Finalize`); returns when it has.
    static func stop() {
        guard running.load(ordering: .relaxed), !stopRequested.load(ordering: .relaxed) else { return }
        stopRequested.store(true, ordering: .releasing)
        wake.signal()
        stopped.wait()
        running.store(false, ordering: .relaxed)
    }
}

extension MPIRuntime {
    /// The longest progress interval, in microseconds (1 s).
    public static let maximumProgressInterval: UInt32 = 1_000_000

    /// Starts a thread that drives MPI's progress engine every `intervalMicroseconds` while a
    /// nonblocking collective is in flight (`ProgressThread`), so a collective started behind
    /// compute keeps moving between the caller's own MPI calls. Collective over
    /// `MPI_COMM_WORLD` (it duplicates it); call it once on every rank. `finalize` stops it.
    ///
    /// - Throws: `MPIError.invalidArgument` when the interval is not in 1…`maximumProgressInterval`,
    ///   the thread already runs, or MPI does not provide `MPI_THREAD_MULTIPLE`.
    ///
    /// The corresponding MPI functions are `MPI_Comm_dup` and, on the thread, `MPI_Iprobe`.
    public static func startProgressThread(intervalMicroseconds: UInt32) throws(MPIError) {
        guard (1...maximumProgressInterval).contains(intervalMicroseconds) else {
            throw .invalidArgument("the progress interval must be 1 to \(maximumProgressInterval) µs, got "
                                   + "\(intervalMicroseconds)", in: "MPIRuntime.startProgressThread")
        }
        let world = try world()
        try requireMultipleThreads("the progress thread", in: "MPIRuntime.startProgressThread")
        guard !ProgressThread.running.load(ordering: .relaxed) else {
            throw .invalidArgument("the progress thread already runs", in: "MPIRuntime.startProgressThread")
        }
        try ProgressThread(world: world, intervalMicroseconds: intervalMicroseconds).start()
    }

    /// Nonblocking collectives of this process started and not yet completed.
    public static var nonblockingCollectivesInFlight: Int { ProgressThread.inFlight.load(ordering: .relaxed) }

    /// Whether the progress thread runs (`startProgressThread`).
    public static var progressThreadRunning: Bool { ProgressThread.running.load(ordering: .relaxed) }
}
