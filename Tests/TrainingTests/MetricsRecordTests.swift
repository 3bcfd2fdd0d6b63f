import Foundation
import Testing
@testable import Training

/// The metrics records' JSON: a non-finite number is `null` plus a `non_finite` entry, and the
/// records decode back to the same values.
@Suite("metrics records")
struct MetricsRecordTests {
    static func step(loss: Double, tokens: Double = 1000, simulated: Double? = nil) -> StepRecord {
        StepRecord(step: 4, train_loss: loss, lr: 0.02, tokens_per_s: tokens, comm_bytes: 10, bytes_by_axis: ["dp": 10],
                   collectives: 3, step_seconds: 0.5, comm_seconds: 0.1, exposed_comm_seconds: 0.05, compute_seconds: 0.45,
                   simulated_comm_seconds: simulated, elapsed_seconds: 2, skipped: !loss.isFinite)
    }

    static func json(_ value: some Encodable) throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try #require(try JSONSerialization.jsonObject(with: try encoder.encode(value)) as? [String: Any])
    }

    @Test("NaN and ±∞ are written as null and named in non_finite; they decode back")
    func nonFinite() throws {
        let record = Self.step(loss: .nan, tokens: .infinity, simulated: -.infinity)
        let object = try Self.json(record)
        #expect(object["train_loss"] is NSNull && object["tokens_per_s"] is NSNull && object["simulated_comm_seconds"] is NSNull)
        #expect(object["non_finite"] as? [String: String]
                == ["train_loss": "nan", "tokens_per_s": "inf", "simulated_comm_seconds": "-inf"])
        #expect(object["lr"] as? Double == 0.02 && object["skipped"] as? Bool == true && object["type"] as? String == "step")
        let decoded = try JSONDecoder().decode(StepRecord.self, from: try JSONEncoder().encode(record))
        #expect(decoded.train_loss.isNaN && decoded.tokens_per_s == .infinity && decoded.simulated_comm_seconds == -.infinity)
        #expect(decoded.step == 4 && decoded.lr == 0.02 && decoded.bytes_by_axis == ["dp": 10] && decoded.skipped)

        let evaluation = EvaluationRecord(step: 8, val_loss: .nan, elapsed_seconds: 3)
        #expect(try Self.json(evaluation)["non_finite"] as? [String: String] == ["val_loss": "nan"])
        #expect(try JSONDecoder().decode(EvaluationRecord.self, from: try JSONEncoder().encode(evaluation)).val_loss.isNaN)

        let summary = SummaryRecord(steps: 2, final_train_loss: .nan, final_val_loss: nil, tokens: 256, seconds: 1,
                                    bytes_by_axis: [:], comm_seconds: 0, exposed_comm_seconds: 0, compute_seconds: 1, simulated_comm_seconds: nil,
                                    skipped_steps: 2)
        let summaryObject = try Self.json(summary)
        #expect(summaryObject["final_train_loss"] is NSNull && summaryObject["final_val_loss"] == nil)
        #expect(summaryObject["non_finite"] as? [String: String] == ["final_train_loss": "nan"])
    }

    @Test("finite records have every field and no non_finite key, as before")
    func finite() throws {
        let record = Self.step(loss: 2.5)
        let object = try Self.json(record)
        #expect(object["non_finite"] == nil && object["simulated_comm_seconds"] == nil && object["train_loss"] as? Double == 2.5)
        #expect(Set(object.keys) == ["type", "step", "train_loss", "lr", "tokens_per_s", "comm_bytes", "bytes_by_axis",
                                     "collectives", "step_seconds", "comm_seconds", "exposed_comm_seconds", "compute_seconds", "elapsed_seconds",
                                     "skipped"])
        #expect(try JSONDecoder().decode(StepRecord.self, from: try JSONEncoder().encode(record)) == record)
        let bad = Data(#"{"type":"eval","step":1,"val_loss":null,"elapsed_seconds":1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EvaluationRecord.self, from: bad) }
    }
}
