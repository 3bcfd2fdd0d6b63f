import Foundation
import MPIShim

/// Wall time, communication time (total and exposed) and bytes of one step, from the ledger's
/// totals before and after.
struct LedgerDelta {
    private let start: CommunicationLedger.Snapshot
    private let startTime: Double

    init() {
        start = CommunicationLedger.shared.snapshot()
        startTime = Date().timeIntervalSince1970
    }

    /// Seconds blocked in MPI since the start (exposed communication).
    var blocked: Double { Double(CommunicationLedger.shared.blockedNanoseconds(since: start)) * 1e-9 }

    /// Seconds since the start.
    var elapsed: Double { Date().timeIntervalSince1970 - startTime }

    /// Per communicator label: this rank's bytes sent, communication seconds and simulated seconds since the start.
    func byAxis() -> [String: LedgerTotals] { CommunicationLedger.shared.totalsByCommunicator(since: start) }
}

/// Chrome trace spans of the compute phases (Unix microseconds, like the ledger's collectives).
struct ComputeSpans {
    private(set) var events: [String] = []
    let pid: Int

    mutating func add(_ name: String, from start: Double, to end: Double) {
        events.append("{\"name\":\"\(name)\",\"cat\":\"compute\",\"ph\":\"X\",\"pid\":\(pid),\"tid\":1,"
                      + "\"ts\":\(String(format: "%.3f", start * 1e6)),\"dur\":\(String(format: "%.3f", (end - start) * 1e6))}")
    }
}
