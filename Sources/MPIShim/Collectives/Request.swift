import CMPI
import Foundation

/// A nonblocking collective in flight. It owns the buffers MPI reads and writes until
/// `wait()` hands the result back, so the compiler forbids touching them in the meantime:
/// `Request` is `~Copyable` and `wait()` consumes it.
///
/// Time spent inside `wait()` and `test()` counts as blocked (exposed) communication in the
/// ledger (`CommunicationLedger.blockedNanoseconds`); the record's duration runs from the start
/// call to completion.
///
/// Dropping a request without waiting blocks in `deinit` until MPI is done with its buffers
/// (MPI has no way to cancel a collective), then frees them.
public struct Request<T: MPIScalar>: ~Copyable {
    var handle: MPI_Request?
    let sendBuffer: UnsafeMutableBufferPointer<T>
    let receiveBuffer: UnsafeMutableBufferPointer<T>
    /// Counts and displacements MPI reads until completion (variable-count collectives; empty otherwise).
    let countBuffer: UnsafeMutableBufferPointer<CInt>
    let communicator: Communicator
    let operation: CollectiveOperation
    let reduction: ReductionOp?
    let elementCount: Int
    let volume: TransferVolume
    let start: UInt64
    /// For the reductions (`iReduceScatter`, `iAllReduce`): their point-to-point rounds, instead of `handle`.
    var direct: DirectReduction<T>?
    var finished = false
    var failed = false

    init(communicator: Communicator, operation: CollectiveOperation, reduction: ReductionOp?, elementCount: Int,
         volume: TransferVolume, sendBuffer: UnsafeMutableBufferPointer<T>, receiveBuffer: UnsafeMutableBufferPointer<T>,
         counts: [CInt] = []) {
        self.handle = nil
        self.countBuffer = .allocate(capacity: Swift.max(counts.count, 1))
        _ = self.countBuffer.initialize(from: counts)
        self.communicator = communicator
        self.operation = operation
        self.reduction = reduction
        self.elementCount = elementCount
        self.volume = volume
        self.sendBuffer = sendBuffer
        self.receiveBuffer = receiveBuffer
        self.start = MonotonicClock.ticks()
        ProgressThread.began()
    }

    deinit {
        if !finished { ProgressThread.ended() }
        direct?.retire()
        if !finished && !failed && MPIRuntime.isActive {
            if let direct {
                direct.drain()  // every round, so the peers get what they wait for
            } else if handle != nil {
                var pending = handle
                _ = mpi_wait(&pending)
            }
        }
        sendBuffer.deallocate()
        receiveBuffer.deallocate()
        countBuffer.deallocate()
    }

    mutating func markCompleted() {
        finished = true
        ProgressThread.ended()
        if communicator.ledger.isEnabled {
            communicator.record(operation, T.mpiDatatype, count: elementCount, volume: volume, startTicks: start,
                                endTicks: MonotonicClock.ticks())
        }
        if reduction == .average { communicator.divideBySize(receiveBuffer) }
    }

    /// Whether the collective has completed; if it has, `wait()` returns at once.
    ///
    /// The corresponding MPI function is `MPI_Test`.
    public mutating func test() throws(MPIError) -> Bool {
        if finished { return true }
        let entered = MonotonicClock.ticks()
        var done = false
        var failure: MPIError?
        if let direct {
            do throws(MPIError) {
                done = try direct.poll()
            } catch {
                failure = error
            }
        } else {
            var flag: CInt = 0
            let rc = mpi_test(&handle, &flag)
            if rc != MPI_SUCCESS { failure = makeMPIError(rc, function: "MPI_Test") }
            done = flag != 0
        }
        communicator.ledger.addBlocked(ticks: MonotonicClock.elapsed(from: entered, to: MonotonicClock.ticks()))
        if let failure {
            failed = true
            throw failure
        }
        if done { markCompleted() }
        return finished
    }

    /// Blocks until the collective completes and returns its result.
    ///
    /// The corresponding MPI function is `MPI_Wait`.
    public consuming func wait() throws(MPIError) -> [T] {
        try complete()
        return Array(receiveBuffer)
    }

    /// Blocks until the collective completes and hands its result to `body` without copying it.
    /// The buffer is valid only inside `body`; the request is gone afterwards.
    ///
    /// The corresponding MPI function is `MPI_Wait`.
    public consuming func wait<R>(reading body: (UnsafeBufferPointer<T>) -> R) throws(MPIError) -> R {
        try complete()
        return body(UnsafeBufferPointer(receiveBuffer))
    }

    /// Waits (as `WaitPolicy.current` says) unless the collective has finished, counting the time
    /// as blocked.
    private mutating func complete() throws(MPIError) {
        guard !finished else { return }
        let guarded = CollectiveGuards.watching.load(ordering: .relaxed) && !communicator.isGuardShadow
        if guarded {
            let label = communicator.label, operation = self.operation
            CollectiveGuards.current.withLock { $0 = (operation, label, MonotonicClock.nanoseconds()) }
            CollectiveGuards.inCollective.store(true, ordering: .releasing)
        }
        let entered = MonotonicClock.ticks()
        var failure: MPIError?
        if let direct {
            do throws(MPIError) {
                try direct.waitAll(policy: WaitPolicy.current)
            } catch {
                failure = error
            }
        } else {
            let rc = Self.wait(for: &handle, policy: WaitPolicy.current)
            if rc != MPI_SUCCESS { failure = makeMPIError(rc, function: "MPI_Wait") }
        }
        communicator.ledger.addBlocked(ticks: MonotonicClock.elapsed(from: entered, to: MonotonicClock.ticks()))
        if guarded { communicator.leaveGuards() }
        if let failure {
            failed = true
            throw failure
        }
        markCompleted()
    }
}

extension Request {
    /// Waits for `handle` as `policy` says (`WaitPolicy`); returns MPI's return code.
    static func wait(for handle: inout MPI_Request?, policy: WaitPolicy) -> CInt {
        wait(policy: policy, blocking: { mpi_wait(&handle) }, test: { mpi_test(&handle, &$0) })
    }

    /// `wait(for:policy:)` for several requests (`MPI_Waitall`, or `MPI_Testall` polled).
    static func waitAll(_ handles: UnsafeMutableBufferPointer<MPI_Request?>, policy: WaitPolicy) -> CInt {
        wait(policy: policy, blocking: { mpi_waitall(handles) }, test: { mpi_testall(handles, &$0) })
    }

    /// `blocking()` under `.block`; under `.poll`, `test` (which sets its flag on completion) in a
    /// loop for the spin time, then with a sleep between calls. Returns MPI's return code.
    private static func wait(policy: WaitPolicy, blocking: () -> CInt, test: (inout CInt) -> CInt) -> CInt {
        guard case .poll(let spin, let sleep) = policy else { return blocking() }
        var flag: CInt = 0
        var rc = test(&flag)
        let spinUntil = MonotonicClock.nanoseconds() &+ UInt64(spin) * 1000
        while rc == MPI_SUCCESS && flag == 0 && MonotonicClock.nanoseconds() < spinUntil {
            rc = test(&flag)
        }
        while rc == MPI_SUCCESS && flag == 0 {
            usleep(sleep)
            rc = test(&flag)
        }
        return rc
    }
}

extension UnsafeMutableBufferPointer where Element: MPIScalar {
    /// A heap copy of `source` that a `Request` owns.
    static func ownedCopy(of source: [Element]) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: Swift.max(source.count, 1))
        _ = buffer.initialize(from: source)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<source.count])
    }

    static func owned(count: Int) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: Swift.max(count, 1))
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }
}
