import Foundation
import MPIShim

/// The ledger records each operation with the bytes of the documented ring formulas,
/// computed here independently from the textbook expressions, and exports JSON Lines and a
/// gathered Chrome trace.
func runLedgerChecks(_ world: Communicator, _ checker: inout Checker) throws {
    let ledger = CommunicationLedger()
    let comm = try world.duplicate(label: "ledger-test", ledger: ledger)
    let g = comm.size, r = comm.rank

    // N divisible by g (1024 on 1, 2 and 4 ranks, 1023 on 3).
    let even = 1024 - 1024 % g
    var a = [Float](repeating: 1, count: even)
    try comm.allReduce(&a)
    var b = [Float](repeating: 1, count: 7)
    try comm.allReduce(&b)                                          // N = 7, uneven ring blocks
    _ = try comm.reduceScatter([Double](repeating: 1, count: 5 * g)) // equal blocks of 5 doubles
    let counts = (0..<g).map { (3 * $0 + 1) % 4 }
    _ = try comm.allGather([Int32](repeating: 1, count: counts[r]), counts: counts)
    var c = [Int64](repeating: 1, count: 10)
    try comm.broadcast(&c, root: 0)
    _ = try comm.allToAll([UInt8](repeating: 1, count: 3 * g))
    try comm.barrier()
    let evenSmall = 64 - 64 % g
    let pending = try comm.iAllReduce([Float](repeating: 1, count: evenSmall))
    _ = try pending.wait()

    let records = ledger.records
    try checker.expect(records.map(\.operation),
                       [.allReduce, .allReduce, .reduceScatter, .allGather, .broadcast, .allToAll, .barrier, .iAllReduce],
                       "ledger operations in order")
    try checker.expect(Set(records.map(\.communicator)), ["ledger-test"], "ledger label")
    try checker.expect(records.map(\.elementCount), [even, 7, 5 * g, counts.reduce(0, +), 10, 3 * g, 0, evenSmall],
                       "ledger element counts")

    // All-reduce of N divisible by g: 2(g−1)/g·N elements each way.
    let ar = 2 * (g - 1) * (even / g) * 4
    try checker.expect([records[0].bytesSent, records[0].bytesReceived], [ar, ar], "allReduce bytes, N = \(even)")
    // N = 7: ring blocks of ⌈7/g⌉ first; rank r skips its own block and block r+1 when sending.
    let blocks = (0..<g).map { 7 / g + ($0 < 7 % g ? 1 : 0) }
    let sent7 = g == 1 ? 0 : (7 - blocks[r]) + (7 - blocks[(r + 1) % g])
    let received7 = g == 1 ? 0 : (7 - blocks[(r + g - 1) % g]) + (7 - blocks[r])
    try checker.expect([records[1].bytesSent, records[1].bytesReceived], [4 * sent7, 4 * received7], "allReduce bytes, N = 7")
    let totalSent7 = try world.allReduced([Int64(records[1].bytesSent)])
    try checker.expect(totalSent7, [Int64(4 * 2 * (g - 1) * 7)], "allReduce bytes over all ranks = 2(g−1)N")
    // Reduce-scatter and all-gather: (g−1)/g of the full message.
    try checker.expect(records[2].bytesSent, (g - 1) * 5 * 8, "reduceScatter bytes sent")
    try checker.expect(records[2].bytesReceived, (g - 1) * 5 * 8, "reduceScatter bytes received")
    let totalV = counts.reduce(0, +)
    try checker.expect(records[3].bytesReceived, g == 1 ? 0 : (totalV - counts[r]) * 4, "allGatherv bytes received")
    try checker.expect(records[3].bytesSent, g == 1 ? 0 : (totalV - counts[(r + 1) % g]) * 4, "allGatherv bytes sent")
    // Broadcast along the chain from root 0.
    try checker.expect(records[4].bytesReceived, r == 0 ? 0 : 80, "broadcast bytes received")
    try checker.expect(records[4].bytesSent, r == g - 1 ? 0 : 80, "broadcast bytes sent")
    try checker.expect(records[5].bytesSent, (g - 1) * 3, "allToAll bytes sent")
    try checker.expect(records[6].bytesSent, 0, "barrier bytes")
    try checker.expect(records[7].bytesSent, 2 * (g - 1) * (evenSmall / g) * 4, "iAllReduce bytes")

    let byComm = ledger.totalsByCommunicator()
    try checker.expect(byComm["ledger-test"]?.calls, 8, "totals by communicator")
    try checker.expect(ledger.grandTotal().bytesSent, records.reduce(0) { $0 + $1.bytesSent }, "grand total")
    try checker.expect(ledger.jsonLines().split(separator: "\n").count, 8, "JSON Lines, one per record")
    try checker.expect(ledger.formattedSummary().contains("ledger-test"), true, "summary table names the communicator")

    // A disabled ledger records nothing.
    ledger.isEnabled = false
    try comm.barrier()
    try checker.expect(ledger.recordCount, 8, "disabled ledger records nothing")
    ledger.isEnabled = true

    // One Chrome trace with a track per rank, written by rank 0.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mpishim-trace-\(try jobIdentifier(comm)).json").path
    try ledger.writeChromeTrace(to: path, gatheringOver: comm)
    if r == 0 {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for q in 0..<g {
            try checker.expect(text.contains("\"name\":\"rank \(q)\""), true, "trace has a track for rank \(q)")
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let events = parsed?["traceEvents"] as? [Any]
        try checker.expect(events?.count, g * (8 + 2), "trace events: 8 collectives + 2 metadata per rank")
        try? FileManager.default.removeItem(atPath: path)
    }
    try checker.expect(ledger.recordCount, 8, "gathering the trace is not recorded")
}

/// A job-wide unique number for temporary file names: rank 0's process id, broadcast.
private func jobIdentifier(_ comm: Communicator) throws -> Int64 {
    var id = [Int64(ProcessInfo.processInfo.processIdentifier)]
    let ledger = comm.ledger
    ledger.isEnabled = false
    defer { ledger.isEnabled = true }
    try comm.broadcast(&id, root: 0)
    return id[0]
}
