extension CommunicationLedger {
    /// The ledger's totals at one moment, in raw clock ticks, to measure what is recorded after it
    /// (`totalsByCommunicator(since:)`).
    public struct Snapshot: Sendable {
        /// Per communicator label id: every operation and type together.
        let byLabel: [UInt16: RawTotals]
        /// `blockedTicks` then.
        let blocked: UInt64
        /// The ledger's resets then.
        let generation: Int
    }

    /// The totals recorded so far, per communicator, and the time blocked in MPI.
    public func snapshot() -> Snapshot {
        let (byLabel, generation) = rawTotalsByLabel()
        return Snapshot(byLabel: byLabel, blocked: blockedTicks.load(ordering: .relaxed), generation: generation)
    }

    /// Wall time blocked in collectives since `snapshot` (`blockedNanoseconds()`, the difference
    /// taken in ticks; after a reset, since the reset).
    public func blockedNanoseconds(since snapshot: Snapshot) -> UInt64 {
        let generation = ring.withLock { ring.generation }
        let base = generation == snapshot.generation ? snapshot.blocked : 0
        let ticks = MonotonicClock.elapsed(from: base, to: blockedTicks.load(ordering: .relaxed))
        return UInt64(Double(ticks) / calibration.ticksPerNanosecond())
    }

    /// Per communicator label: what was recorded after `snapshot` (labels with no new collective
    /// are left out). The difference is taken in clock ticks and converted to nanoseconds once, at
    /// the current rate: converting two totals at the rates of their moments, as subtracting two
    /// `totalsByCommunicator()` did, turned a rate refined in between into a negative duration (a
    /// run's summary read 18,446,744,080 s of communication). A reset in between counts from zero.
    public func totalsByCommunicator(since snapshot: Snapshot) -> [String: LedgerTotals] {
        let (now, generation) = rawTotalsByLabel()
        let rate = calibration.ticksPerNanosecond()
        var result: [String: LedgerTotals] = [:]
        for (id, current) in now {
            let base = generation == snapshot.generation ? snapshot.byLabel[id] ?? RawTotals() : RawTotals()
            var d = LedgerTotals()
            d.calls = current.calls - base.calls
            guard d.calls > 0 else { continue }
            d.elements = current.elements - base.elements
            d.bytesSent = current.bytesSent - base.bytesSent
            d.bytesReceived = current.bytesReceived - base.bytesReceived
            d.nanoseconds = UInt64(Double(MonotonicClock.elapsed(from: base.ticks, to: current.ticks)) / rate)
            d.simulatedSeconds = current.simulatedSeconds - base.simulatedSeconds
            result[label(id), default: LedgerTotals()].add(d)
        }
        return result
    }

    /// The sum over every communicator of what was recorded after `snapshot`
    /// (`totalsByCommunicator(since:)`): use it rather than subtracting two `grandTotal()`s, whose
    /// durations are converted at the tick rates of their moments.
    public func grandTotal(since snapshot: Snapshot) -> LedgerTotals {
        var result = LedgerTotals()
        for value in totalsByCommunicator(since: snapshot).values { result.add(value) }
        return result
    }

    /// Raw totals per label id, everything folded first, and the resets so far.
    private func rawTotalsByLabel() -> ([UInt16: RawTotals], Int) {
        let (raw, generation) = foldedTotals()
        var byLabel: [UInt16: RawTotals] = [:]
        for (key, value) in raw { byLabel[key.labelID, default: RawTotals()].merge(value) }
        return (byLabel, generation)
    }
}
