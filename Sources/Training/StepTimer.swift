import Foundation
import MPIShim

/// Wall time, communication time (total and exposed) and bytes of one step, from the ledger's
/// totals before and after.
struct LedgerDelta {
    private let start: [String: LedgerTotals]
    private let startTime: Double
    private let startBlocked: UInt64

    init() {
        start = CommunicationLedger.shared.totalsByCommunicator()
        startBlocked = CommunicationLedger.shared.blockedNanoseconds()
        startTime = Date().timeIntervalSince1970
    }

    /// Seconds blocked in MPI since the start (exposed communication).
    var blocked: Double { Double(CommunicationLedger.shared.blockedNanoseconds() &- startBlocked) * 1e-9 }

    /// Seconds since the start.
    var elapsed: Double { Date().timeIntervalSince1970 - startTime }

    /// Per communicator label: this rank's bytes sent, communication seconds and simulated seconds since the start.
    func byAxis() -> [String: LedgerTotals] {
        var result = [String: LedgerTotals]()
        for (label, now) in CommunicationLedger.shared.totalsByCommunicator() {
            let before = start[label] ?? LedgerTotals()
            var d = LedgerTotals()
            d.calls = now.calls - before.calls
            d.elements = now.elements - before.elements
            d.bytesSent = now.bytesSent - before.bytesSent
            d.bytesReceived = now.bytesReceived - before.bytesReceived
            d.nanoseconds = now.nanoseconds &- before.nanoseconds
            d.simulatedSeconds = now.simulatedSeconds - before.simulatedSeconds
            if d.calls > 0 { result[label] = d }
        }
        return result
    }
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
