// The metrics records' JSON: every field under its own name, and a non-finite number as `null`
// plus a `non_finite` entry (`NonFiniteCoding`), so that a record holding NaN is written, not lost.

extension StepRecord {
    enum CodingKeys: String, CodingKey {
        case type, step, train_loss, lr, tokens_per_s, comm_bytes, bytes_by_axis, collectives, step_seconds, comm_seconds,
             exposed_comm_seconds, compute_seconds, simulated_comm_seconds, elapsed_seconds, skipped, non_finite
    }

    public func encode(to encoder: any Encoder) throws {
        var out = NonFiniteEncoder(encoder, keyedBy: CodingKeys.self)
        try out.encode(type, forKey: .type)
        try out.encode(step, forKey: .step)
        try out.encode(train_loss, forKey: .train_loss)
        try out.encode(lr, forKey: .lr)
        try out.encode(tokens_per_s, forKey: .tokens_per_s)
        try out.encode(comm_bytes, forKey: .comm_bytes)
        try out.encode(bytes_by_axis, forKey: .bytes_by_axis)
        try out.encode(collectives, forKey: .collectives)
        try out.encode(step_seconds, forKey: .step_seconds)
        try out.encode(comm_seconds, forKey: .comm_seconds)
        try out.encode(exposed_comm_seconds, forKey: .exposed_comm_seconds)
        try out.encode(compute_seconds, forKey: .compute_seconds)
        try out.encodeIfPresent(simulated_comm_seconds, forKey: .simulated_comm_seconds)
        try out.encode(elapsed_seconds, forKey: .elapsed_seconds)
        try out.encode(skipped, forKey: .skipped)
        try out.finish(flagsKey: .non_finite)
    }

    public init(from decoder: any Decoder) throws {
        let c = try NonFiniteDecoder(decoder, keyedBy: CodingKeys.self, flagsKey: .non_finite)
        self.init(step: try c.decode(Int.self, forKey: .step), train_loss: try c.decode(Double.self, forKey: .train_loss),
                  lr: try c.decode(Double.self, forKey: .lr), tokens_per_s: try c.decode(Double.self, forKey: .tokens_per_s),
                  comm_bytes: try c.decode(Int.self, forKey: .comm_bytes),
                  bytes_by_axis: try c.decode([String: Int].self, forKey: .bytes_by_axis),
                  collectives: try c.decode(Int.self, forKey: .collectives),
                  step_seconds: try c.decode(Double.self, forKey: .step_seconds),
                  comm_seconds: try c.decode(Double.self, forKey: .comm_seconds),
                  // Files written before the field existed: all communication was blocking.
                  exposed_comm_seconds: try c.decodeIfPresent(Double.self, forKey: .exposed_comm_seconds)
                      ?? c.decode(Double.self, forKey: .comm_seconds),
                  compute_seconds: try c.decode(Double.self, forKey: .compute_seconds),
                  simulated_comm_seconds: try c.decodeIfPresent(Double.self, forKey: .simulated_comm_seconds),
                  elapsed_seconds: try c.decode(Double.self, forKey: .elapsed_seconds),
                  skipped: try c.decode(Bool.self, forKey: .skipped))
        type = try c.decode(String.self, forKey: .type)
    }
}

extension EvaluationRecord {
    enum CodingKeys: String, CodingKey {
        case type, step, val_loss, elapsed_seconds, non_finite
    }

    public func encode(to encoder: any Encoder) throws {
        var out = NonFiniteEncoder(encoder, keyedBy: CodingKeys.self)
        try out.encode(type, forKey: .type)
        try out.encode(step, forKey: .step)
        try out.encode(val_loss, forKey: .val_loss)
        try out.encode(elapsed_seconds, forKey: .elapsed_seconds)
        try out.finish(flagsKey: .non_finite)
    }

    public init(from decoder: any Decoder) throws {
        let c = try NonFiniteDecoder(decoder, keyedBy: CodingKeys.self, flagsKey: .non_finite)
        self.init(step: try c.decode(Int.self, forKey: .step), val_loss: try c.decode(Double.self, forKey: .val_loss),
                  elapsed_seconds: try c.decode(Double.self, forKey: .elapsed_seconds))
        type = try c.decode(String.self, forKey: .type)
    }
}

extension SummaryRecord {
    enum CodingKeys: String, CodingKey {
        case type, steps, final_train_loss, final_val_loss, tokens, seconds, bytes_by_axis, comm_seconds, exposed_comm_seconds,
             compute_seconds, simulated_comm_seconds, skipped_steps, non_finite
    }

    public func encode(to encoder: any Encoder) throws {
        var out = NonFiniteEncoder(encoder, keyedBy: CodingKeys.self)
        try out.encode(type, forKey: .type)
        try out.encode(steps, forKey: .steps)
        try out.encode(final_train_loss, forKey: .final_train_loss)
        try out.encodeIfPresent(final_val_loss, forKey: .final_val_loss)
        try out.encode(tokens, forKey: .tokens)
        try out.encode(seconds, forKey: .seconds)
        try out.encode(bytes_by_axis, forKey: .bytes_by_axis)
        try out.encode(comm_seconds, forKey: .comm_seconds)
        try out.encode(exposed_comm_seconds, forKey: .exposed_comm_seconds)
        try out.encode(compute_seconds, forKey: .compute_seconds)
        try out.encodeIfPresent(simulated_comm_seconds, forKey: .simulated_comm_seconds)
        try out.encode(skipped_steps, forKey: .skipped_steps)
        try out.finish(flagsKey: .non_finite)
    }

    public init(from decoder: any Decoder) throws {
        let c = try NonFiniteDecoder(decoder, keyedBy: CodingKeys.self, flagsKey: .non_finite)
        self.init(steps: try c.decode(Int.self, forKey: .steps),
                  final_train_loss: try c.decode(Double.self, forKey: .final_train_loss),
                  final_val_loss: try c.decodeIfPresent(Double.self, forKey: .final_val_loss),
                  tokens: try c.decode(Int.self, forKey: .tokens), seconds: try c.decode(Double.self, forKey: .seconds),
                  bytes_by_axis: try c.decode([String: Int].self, forKey: .bytes_by_axis),
                  comm_seconds: try c.decode(Double.self, forKey: .comm_seconds),
                  // Files written before the field existed: all communication was blocking.
                  exposed_comm_seconds: try c.decodeIfPresent(Double.self, forKey: .exposed_comm_seconds)
                      ?? c.decode(Double.self, forKey: .comm_seconds),
                  compute_seconds: try c.decode(Double.self, forKey: .compute_seconds),
                  simulated_comm_seconds: try c.decodeIfPresent(Double.self, forKey: .simulated_comm_seconds),
                  skipped_steps: try c.decode(Int.self, forKey: .skipped_steps))
        type = try c.decode(String.self, forKey: .type)
    }
}
