import Foundation
import Testing
@testable import MPIShim

/// The ledger's records, totals, capacity folding, observer hook and exports.
@Suite("Communication ledger", .serialized)
struct LedgerTests {
    func communicator(_ ledger: CommunicationLedger) throws -> Communicator {
        try MPIRuntime.world().duplicate(label: "t", ledger: ledger)
    }

    @Test("each collective appends one record with op, label, type, count and time")
    func records() throws {
        let ledger = CommunicationLedger()
        let comm = try communicator(ledger)
        var x = [Double](repeating: 1, count: 10)
        try comm.allReduce(&x)
        _ = try comm.allGather([Int32(1), 2])
        let r = ledger.records
        #expect(r.map(\.operation) == [.allReduce, .allGather])
        #expect(r.map(\.datatype) == [.float64, .int32])
        #expect(r.map(\.elementCount) == [10, 2])
        #expect(r.allSatisfy { $0.communicator == "t" && $0.communicatorSize == 1 && $0.bytesSent == 0 })
        #expect(ledger.totals()[LedgerKey(operation: .allReduce, communicator: "t", datatype: .float64)]?.calls == 1)
    }

    @Test("beyond its capacity the ledger folds old records into the totals")
    func capacity() throws {
        let ledger = CommunicationLedger(recordCapacity: 4)
        let comm = try communicator(ledger)
        for _ in 0..<10 { try comm.barrier() }
        #expect(ledger.records.count <= 4)
        #expect(ledger.droppedRecords + ledger.records.count == 10)
        #expect(ledger.grandTotal().calls == 10)
        #expect(ledger.recordCount == 10)
        #expect(ledger.formattedSummary().contains("folded"))
        ledger.reset()
        #expect(ledger.recordCount == 0 && ledger.grandTotal().calls == 0)
    }

    @Test("totals since a snapshot, per communicator and in all: exactly what was recorded after it, durations from its ticks; a reset counts from zero")
    func snapshotDifference() throws {
        let ledger = CommunicationLedger()
        let comm = try communicator(ledger)
        let other = try MPIRuntime.world().duplicate(label: "u", ledger: ledger)
        comm.record(.allReduce, .float32, count: 10, volume: TransferVolume(sent: 10, received: 10), startTicks: 0, endTicks: 5_000_000)
        let snapshot = ledger.snapshot()
        #expect(ledger.totalsByCommunicator(since: snapshot).isEmpty)
        comm.record(.allGather, .float32, count: 4, volume: TransferVolume(sent: 3, received: 3), startTicks: 100, endTicks: 3_100)
        comm.record(.allGather, .float32, count: 4, volume: TransferVolume(sent: 3, received: 3), startTicks: 200, endTicks: 1_200)
        other.record(.barrier, .uint8, count: 0, volume: TransferVolume(sent: 0, received: 0), startTicks: 9, endTicks: 8)
        let since = ledger.totalsByCommunicator(since: snapshot)
        #expect(Set(since.keys) == ["t", "u"])
        let t = try #require(since["t"])
        #expect(t.calls == 2 && t.elements == 8 && t.bytesSent == 24 && t.bytesReceived == 24)
        // 4,000 ticks at the current rate (the earlier 5,000,000 are not in it, whatever the rate was then).
        let expected = 4_000 / ledger.calibration.ticksPerNanosecond()
        #expect(abs(Double(t.nanoseconds) - expected) <= 0.01 * expected + 1, "\(t.nanoseconds) ns, expected ≈ \(expected)")
        // An end that reads earlier than its start (two cores' counters) is 0, never a wrapped difference.
        #expect(since["u"]?.calls == 1 && since["u"]?.nanoseconds == 0)
        let grand = ledger.grandTotal(since: snapshot)
        #expect(grand.calls == 3 && grand.bytesSent == 24 && grand.nanoseconds == t.nanoseconds)
        #expect(ledger.blockedNanoseconds(since: snapshot) == 0)
        ledger.reset()
        comm.record(.allReduce, .float32, count: 1, volume: TransferVolume(sent: 1, received: 1), startTicks: 0, endTicks: 10)
        #expect(ledger.totalsByCommunicator(since: snapshot)["t"]?.calls == 1)
    }

    @Test("an observer sees every record before it is stored")
    func observer() throws {
        let ledger = CommunicationLedger()
        ledger.setObserver { record in record.simulatedSeconds = 0.25 }
        let comm = try communicator(ledger)
        try comm.barrier()
        try comm.barrier()
        #expect(ledger.records.map(\.simulatedSeconds) == [0.25, 0.25])
        #expect(ledger.grandTotal().simulatedSeconds == 0.5)
        ledger.setObserver(nil)
        try comm.barrier()
        #expect(ledger.records.last?.simulatedSeconds == nil)
    }

    @Test("JSON Lines and Chrome trace are valid JSON")
    func exports() throws {
        let ledger = CommunicationLedger()
        let comm = try MPIRuntime.world().duplicate(label: "quote\"d", ledger: ledger)
        _ = try comm.allReduced([Float](repeating: 1, count: 5))
        try comm.barrier()
        for line in ledger.jsonLines().split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["comm"] as? String == "quote\"d")
            #expect(object["bytes_sent"] as? Int == 0)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ledger.writeChromeTrace(to: path, gatheringOver: comm)
        let trace = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                                 as? [String: Any])
        #expect((trace["traceEvents"] as? [Any])?.count == 4)
        #expect(ledger.recordCount == 2)
        #expect(throws: LedgerExportError.self) { try ledger.writeJSONLines(to: "/nonexistent-dir/x.jsonl") }
    }
}

@Suite("Ledger encoding")
struct LedgerEncodingTests {
    @Test("compact codes round-trip through allCases")
    func codes() {
        for op in CollectiveOperation.allCases { #expect(CollectiveOperation.allCases[Int(op.code)] == op) }
        for type in MPIDatatype.allCases { #expect(MPIDatatype.allCases[Int(type.code)] == type) }
    }

    @Test("tick calibration converts ticks to nanoseconds within 5%")
    func calibration() throws {
        let c = TickCalibration.process
        let t0 = MonotonicClock.ticks(), n0 = MonotonicClock.nanoseconds()
        var n1 = n0
        while n1 - n0 < 20_000_000 { n1 = MonotonicClock.nanoseconds() }
        let t1 = MonotonicClock.ticks()
        let rate = c.ticksPerNanosecond()
        let measured = Double(t1 - t0) / rate
        #expect(abs(measured / Double(n1 - n0) - 1) < 0.05)
    }
}
