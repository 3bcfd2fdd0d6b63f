import CMPI
import Foundation

/// Detects a collective that does not complete and a rank that stops answering. A background
/// thread on every rank sends a heartbeat (am I inside a collective, since when, how many
/// completed) to every other rank once per period over a private communicator, with
/// point-to-point messages that never wait for anyone (`HeartbeatExchange`). Two faults end the
/// job:
/// - this rank has waited in a collective longer than the timeout: it names the collective and
///   the ranks that never arrived (their heartbeats say they are not inside any collective);
/// - a rank has not been heard from for longer than the timeout: it is frozen (stopped,
///   swapped out, hung in the kernel), dead, or cut off by the network, and is named as such.
///
/// The rank that detects a fault prints it, waits two periods (0.5–2 s) so the other live ranks,
/// which detect the same fault at about the same time, can print theirs, and aborts the job. A
/// rank that finds it was frozen itself judges no one until it has heard fresh heartbeats for a
/// timeout. A stalled rank's own watchdog thread keeps answering, which is how the others learn it is alive but
/// not in a collective. Needs `MPI_THREAD_MULTIPLE`.
final class CollectiveWatchdog: Sendable {
    let heartbeat: Communicator
    let timeout: Double
    let period: Double

    init(world: Communicator, timeout: Double, period: Double) throws(MPIError) {
        var newComm: MPI_Comm? = mpiCommNull
        try check(mpi_comm_dup(world.handle.raw, &newComm), "MPI_Comm_dup")
        let quiet = CommunicationLedger(recordCapacity: 1)
        quiet.isEnabled = false
        // Not owned: the watchdog thread frees it itself before it signals that it stopped (see
        // `run`), so no MPI call can race the main thread's MPI_Finalize.
        heartbeat = try Communicator(adopting: CommHandle(raw: newComm), label: "watchdog", ledger: quiet, owned: false,
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
        do {
            try watch()
            // Free the private communicator on this thread, before the signal: once signalled, the
            // main thread calls MPI_Finalize, and a communicator freed by this thread's last
            // release of `self` (after the signal) raced it: a test rank crashed at exit (SIGSEGV in
            // code MPI_Finalize had already unloaded).
            var raw: MPI_Comm? = heartbeat.handle.raw
            try check(mpi_comm_free(&raw), "MPI_Comm_free")
        } catch {
            FailFast.fail(error, graceSeconds: Swift.min(Swift.max(2 * period, 0.5), 2))
        }
    }

    /// Heartbeats until every rank has asked to stop (`MPIRuntime.finalize`); throws on a fault.
    private func watch() throws(MPIError) {
        var exchange = try HeartbeatExchange(comm: heartbeat.handle.raw, rank: heartbeat.rank, size: heartbeat.size,
                                             now: MonotonicClock.nanoseconds())
        var nextBeat: UInt64 = 0
        let periodNanoseconds = UInt64(period * 1e9)
        var previous = MonotonicClock.nanoseconds()
        var judgeFrom = previous
        while true {
            let stopping = CollectiveGuards.stopRequested.load(ordering: .acquiring)
            // Read what this rank is doing before the clock, so a collective that starts in between
            // cannot seem to have started in the future.
            let inside = CollectiveGuards.inCollective.load(ordering: .acquiring)
            let current = CollectiveGuards.current.withLock { $0 }
            let now = MonotonicClock.nanoseconds()
            // A gap of half the timeout between two iterations means this process itself was
            // frozen (stopped, paused): its view of the others is stale, so it judges no one
            // until a full timeout of fresh heartbeats has passed.
            if Double(now &- previous) * 1e-9 > timeout / 2 { judgeFrom = now &+ UInt64(timeout * 1e9) }
            previous = now
            let waited = inside && now > current.startNanoseconds ? Double(now - current.startNanoseconds) * 1e-9 : 0
            if now >= nextBeat || stopping {
                try exchange.send([inside ? 1 : 0, Int64(CollectiveGuards.completed.load(ordering: .relaxed)),
                                   Int64(current.operation.code), Int64(waited * 1000), stopping ? 1 : 0])
                nextBeat = now &+ periodNanoseconds
            }
            try exchange.poll(now: now)
            if stopping && exchange.finished { return }
            if now >= judgeFrom {
                // A stalled collective is blamed on silent ranks first: a frozen peer's last heartbeat
                // may still say it was inside a collective.
                let stalled = inside && waited > timeout
                try checkSilence(exchange, now: now, after: stalled ? timeout - period : timeout, inside: inside,
                                 current: current, waited: waited)
                if stalled { try checkStall(exchange, current: current, waited: waited) }
            }
            Thread.sleep(forTimeInterval: stopping ? 0.001 : Swift.min(period, 0.02))
        }
    }

    /// Throws when a running peer has not been heard from for longer than `after` seconds.
    private func checkSilence(_ exchange: borrowing HeartbeatExchange, now: UInt64, after: Double, inside: Bool,
                              current: (operation: CollectiveOperation, label: String, startNanoseconds: UInt64),
                              waited: Double) throws(MPIError) {
        guard !exchange.silentPeers(now: now, longerThan: after).isEmpty else { return }
        // Name every peer silent for the timeout less one period, not only the first to pass it:
        // a cut link or a lost host silences several ranks whose last heartbeats were up to one
        // period apart. (The period is at most a quarter of the timeout, so a live peer, heard
        // from within about one period, is never named.)
        let silent = exchange.silentPeers(now: now, longerThan: timeout - period)
        let seconds = silent.map { Double(now &- exchange.lastHeard[$0]) * 1e-9 }.max() ?? timeout
        let doing = inside
            ? "this rank is waiting in \(current.operation.rawValue) on '\(current.label)' since \(String(format: "%.1f", waited)) s"
            : "this rank is not inside a collective"
        throw MPIError(code: .collectiveTimeout,
                       message: "unresponsive ranks \(silent): no watchdog heartbeat for \(String(format: "%.1f", seconds)) s "
                           + "(timeout \(timeout) s): they are frozen, dead or unreachable; \(doing)",
                       function: "collective watchdog")
    }

    /// Throws when this rank has waited in the same collective longer than the timeout, naming
    /// the ranks whose heartbeats say they are not inside any collective.
    private func checkStall(_ exchange: borrowing HeartbeatExchange,
                            current: (operation: CollectiveOperation, label: String, startNanoseconds: UInt64),
                            waited: Double) throws(MPIError) {
        // Re-check that the same collective is still pending (it may have completed meanwhile).
        guard CollectiveGuards.inCollective.load(ordering: .acquiring),
              CollectiveGuards.current.withLock({ $0.startNanoseconds }) == current.startNanoseconds else { return }
        let peers = (0..<exchange.size).filter { $0 != exchange.rank }
        let absent = peers.filter { exchange.latest[$0][0] == 0 }
        let waiting = [exchange.rank] + peers.filter { exchange.latest[$0][0] != 0 }
        throw MPIError(code: .collectiveTimeout,
                       message: "collective \(current.operation.rawValue) on '\(current.label)' did not complete within "
                           + "\(timeout) s (waited \(String(format: "%.1f", waited)) s); ranks that did not arrive: "
                           + "\(absent); ranks inside collectives: \(waiting.sorted())",
                       function: "collective watchdog")
    }
}

extension MPIRuntime {
    /// Throws unless MPI provides `MPI_THREAD_MULTIPLE`, which `what` (a background thread making
    /// MPI calls beside the main thread's) needs.
    static func requireMultipleThreads(_ what: String, in function: String) throws(MPIError) {
        guard providedThreadLevel == .multiple else {
            throw .invalidArgument("\(what) needs MPI_THREAD_MULTIPLE; MPI provides "
                                   + "\(providedThreadLevel?.description ?? "nothing")", in: function)
        }
    }

    /// Whether every collective first checks, across the ranks of its communicator, that all
    /// ranks issue the same operation, element type, count and root (`--debug-collectives`).
    /// A mismatch throws `MPIError.Code.collectiveMismatch` on every rank, naming the first
    /// rank that differs. Costs one small all-gather per collective; off by default.
    public static var debugCollectives: Bool {
        get { CollectiveGuards.debugChecks.load(ordering: .relaxed) }
        set { CollectiveGuards.debugChecks.store(newValue, ordering: .relaxed) }
    }

    /// The longest watchdog timeout, in seconds (about 115 days): the watchdog counts in
    /// nanoseconds of a 64-bit clock.
    public static let maximumWatchdogTimeout: Double = 1e7

    /// Starts the collective watchdog (`--collective-timeout`): a collective that has not
    /// completed after `timeout` seconds aborts the job with its name and the ranks that did
    /// not arrive. Collective over `MPI_COMM_WORLD`; call it once on every rank.
    ///
    /// - Throws: `MPIError.invalidArgument` when the timeout or the period is not a finite
    ///   number of seconds in (0, `maximumWatchdogTimeout`], or MPI does not provide
    ///   `MPI_THREAD_MULTIPLE`.
    public static func startCollectiveWatchdog(timeout: Double, period: Double = 1) throws(MPIError) {
        for (name, value) in [("timeout", timeout), ("period", period)]
        where !(value.isFinite && value > 0 && value <= maximumWatchdogTimeout) {
            throw .invalidArgument("the collective watchdog's \(name) must be a finite number of seconds in (0, "
                                   + "\(Int(maximumWatchdogTimeout))], got \(value)", in: "MPIRuntime.startCollectiveWatchdog")
        }
        let world = try world()
        try requireMultipleThreads("the watchdog", in: "MPIRuntime.startCollectiveWatchdog")
        let watchdog = try CollectiveWatchdog(world: world, timeout: timeout, period: Swift.min(period, timeout / 4))
        CollectiveGuards.watching.store(true, ordering: .relaxed)
        watchdog.start()
    }
}
