import CMPI
import Foundation

/// Detects a collective that does not complete: a background thread on every rank exchanges
/// a heartbeat (am I inside a collective, since when, how many completed) with one small
/// nonblocking all-gather per period on a private communicator. When this rank has waited in
/// a collective longer than the timeout, it names the collective and the ranks that never
/// arrived (they are not inside any collective), prints that and aborts the job.
///
/// A stalled rank's own watchdog thread keeps answering heartbeats, which is how the others
/// learn it is not in a collective. Needs `MPI_THREAD_MULTIPLE`.
final class CollectiveWatchdog: Sendable {
    let heartbeat: Communicator
    let timeout: Double
    let period: Double

    init(world: Communicator, timeout: Double, period: Double) throws(MPIError) {
        var newComm: MPI_Comm? = mpiCommNull
        try check(mpi_comm_dup(world.handle.raw, &newComm), "MPI_Comm_dup")
        let quiet = CommunicationLedger(recordCapacity: 1)
        quiet.isEnabled = false
        heartbeat = try Communicator(adopting: CommHandle(raw: newComm), label: "watchdog", ledger: quiet, owned: true,
                                     isGuardShadow: true)
        self.timeout = timeout
        self.period = period
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "collective-watchdog"
        thread.start()
    }

    private func run() {
        defer { CollectiveGuards.watchdogStopped.signal() }
        while true {
            if !CollectiveGuards.stopRequested.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: period) }
            do {
                if try beat() { return }
            } catch {
                FailFast.fail(error)
            }
        }
    }

    /// One heartbeat; `true` when every rank has asked to stop (then all stop after this one).
    private func beat() throws(MPIError) -> Bool {
        let stopping = CollectiveGuards.stopRequested.load(ordering: .acquiring)
        let now = MonotonicClock.nanoseconds()
        let inside = CollectiveGuards.inCollective.load(ordering: .acquiring)
        let current = CollectiveGuards.current.withLock { $0 }
        let waited = inside ? Double(now &- current.startNanoseconds) * 1e-9 : 0
        let mine: [Int64] = [inside ? 1 : 0, Int64(CollectiveGuards.completed.load(ordering: .relaxed)),
                             Int64(current.operation.code), Int64(waited * 1000), stopping ? 1 : 0]
        var request = try heartbeat.iAllGather(mine)
        let started = MonotonicClock.nanoseconds()
        while try !request.test() {
            if Double(MonotonicClock.nanoseconds() &- started) * 1e-9 > timeout {
                throw MPIError(code: .collectiveTimeout,
                               message: "the watchdog heartbeat did not complete within \(timeout) s: some rank is not "
                                   + "responding at all (dead, or its watchdog thread is starved)",
                               function: "collective watchdog")
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
        let all = try request.wait()
        let fields = 5
        let ranks = 0..<heartbeat.size
        if ranks.allSatisfy({ all[fields * $0 + 4] == 1 }) { return true }
        guard inside, waited > timeout else { return false }
        // Re-check that the same collective is still pending (it may have completed meanwhile).
        guard CollectiveGuards.inCollective.load(ordering: .acquiring),
              CollectiveGuards.current.withLock({ $0.startNanoseconds }) == current.startNanoseconds else { return false }
        let absent = ranks.filter { all[fields * $0] == 0 }
        let waiting = ranks.filter { all[fields * $0] != 0 }
        throw MPIError(code: .collectiveTimeout,
                       message: "collective \(current.operation.rawValue) on '\(current.label)' did not complete within "
                           + "\(timeout) s (waited \(String(format: "%.1f", waited)) s); ranks that did not arrive: "
                           + "\(absent); ranks inside collectives: \(waiting)",
                       function: "collective watchdog")
    }
}

extension MPIRuntime {
    /// Whether every collective first checks, across the ranks of its communicator, that all
    /// ranks issue the same operation, element type, count and root (`--debug-collectives`).
    /// A mismatch throws `MPIError.Code.collectiveMismatch` on every rank, naming the first
    /// rank that differs. Costs one small all-gather per collective; off by default.
    public static var debugCollectives: Bool {
        get { CollectiveGuards.debugChecks.load(ordering: .relaxed) }
        set { CollectiveGuards.debugChecks.store(newValue, ordering: .relaxed) }
    }

    /// Starts the collective watchdog (`--collective-timeout`): a collective that has not
    /// completed after `timeout` seconds aborts the job with its name and the ranks that did
    /// not arrive. Collective over `MPI_COMM_WORLD`; call it once on every rank.
    ///
    /// - Throws: `MPIError.invalidArgument` when the timeout is not positive or MPI does not
    ///   provide `MPI_THREAD_MULTIPLE`.
    public static func startCollectiveWatchdog(timeout: Double, period: Double = 1) throws(MPIError) {
        guard timeout > 0, period > 0, timeout.isFinite else {
            throw .invalidArgument("the collective timeout and period must be positive, got \(timeout), \(period)",
                                   in: "MPIRuntime.startCollectiveWatchdog")
        }
        let world = try world()
        guard providedThreadLevel == .multiple else {
            throw .invalidArgument("the watchdog needs MPI_THREAD_MULTIPLE; MPI provides "
                                   + "\(providedThreadLevel?.description ?? "nothing")", in: "MPIRuntime.startCollectiveWatchdog")
        }
        let watchdog = try CollectiveWatchdog(world: world, timeout: timeout, period: Swift.min(period, timeout / 2))
        CollectiveGuards.watching.store(true, ordering: .relaxed)
        watchdog.start()
    }
}
