import Testing
import MPIShim

/// `WaitPolicy.decide`: `MPI_Wait` unless `DION_WAIT_SLEEP_US` names a valid sleep. The polling
/// wait itself runs under mpirun in `TrainWaitPolicyTests` (same losses and bytes as `MPI_Wait`).
@Suite("Wait policy for nonblocking collectives")
struct WaitPolicyTests {
    @Test("no variable, 0 or an invalid value blocks; 1 µs to 1 s polls after the spin")
    func decide() {
        for value in [nil, "0", "-1", "abc", "", "1000001", "1e3"] as [String?] {
            #expect(WaitPolicy.decide(value) == .block, "\(value ?? "nil")")
        }
        #expect(WaitPolicy.decide("50") == .poll(spinMicroseconds: WaitPolicy.spinMicroseconds, sleepMicroseconds: 50))
        #expect(WaitPolicy.decide(" 7 ") == .poll(spinMicroseconds: 1000, sleepMicroseconds: 7))
        #expect(WaitPolicy.decide("1000000") == .poll(spinMicroseconds: 1000, sleepMicroseconds: 1_000_000))
    }
}
