import Testing
import Training

/// The learning-rate schedules' exact values (`dion train --schedule`).
struct LearningRateScheduleTests {
    @Test("the schedules give their documented multipliers")
    func schedules() throws {
        let constant = try LearningRateSchedule(shape: .constant, warmup: 4, steps: 20)
        #expect((0..<4).map { constant.multiplier(at: $0) } == [0.25, 0.5, 0.75, 1])
        #expect((4..<20).allSatisfy { constant.multiplier(at: $0) == 1 })

        let cosine = try LearningRateSchedule(shape: .cosine, warmup: 0, steps: 100, minimumFraction: 0.1)
        #expect(cosine.multiplier(at: 0) == 1)
        #expect(abs(cosine.multiplier(at: 50) - 0.55) < 1e-12)          // halfway: (1 + 0.1) / 2
        #expect(abs(cosine.multiplier(at: 100) - 0.1) < 1e-12)          // the floor
        let falling = (0..<100).map { cosine.multiplier(at: $0) }
        #expect(zip(falling, falling.dropFirst()).allSatisfy { $0 >= $1 })

        let wsd = try LearningRateSchedule(shape: .wsd, warmup: 10, steps: 110, minimumFraction: 0, decayFraction: 0.2)
        #expect(wsd.multiplier(at: 9) == 1)                              // end of warm-up
        #expect(wsd.multiplier(at: 90) == 1)                             // progress 0.8: decay starts
        #expect(abs(wsd.multiplier(at: 100) - 0.5) < 1e-12)              // halfway through the decay
        #expect(abs(wsd.multiplier(at: 110) - 0) < 1e-12)

        #expect(throws: TrainingError.self) { try LearningRateSchedule(shape: .cosine, warmup: 5, steps: 5) }
        #expect(throws: TrainingError.self) { try LearningRateSchedule(shape: .cosine, warmup: -1, steps: 5) }
        #expect(throws: TrainingError.self) { try LearningRateSchedule(shape: .cosine, warmup: 0, steps: 0) }
    }
}
