/// Measures MPIShim's own cost: the same collective through `Communicator` (validation,
/// guards, ledger) and straight through the C API, alternating in blocks inside one process,
/// so both see the same buffers, the same process placement and the same machine noise.
///
/// Underscored: a tool for `dion bench collectives`, not part of the stable API.
public enum _WrapperOverheadProbe {
    /// The collectives the probe can time.
    public enum Operation: String, Sendable, CaseIterable {
        case allreduce, reducescatter, allgather
    }

    /// Median seconds per call, raw C API and through MPIShim.
    public struct Result: Sendable {
        public let raw: Double
        public let wrapped: Double
    }

    /// Times `blocks` alternating blocks of `callsPerBlock` calls each way on `communicator`,
    /// with float buffers of `elements` (divisible by the size). Collective.
    public static func measure(_ operation: Operation, on communicator: Communicator, elements: Int,
                               input: UnsafeMutableBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>,
                               blocks: Int, callsPerBlock: Int) throws(MPIError) -> Result {
        let g = communicator.size
        let block = elements / g
        guard elements % g == 0, input.count >= elements, output.count >= elements, blocks > 0, callsPerBlock > 0 else {
            throw .invalidArgument("elements must be divisible by the size and fit the buffers", in: "_WrapperOverheadProbe")
        }
        let count = try communicator.cCount(elements, "elements", "_WrapperOverheadProbe")
        let cBlock = CInt(block)
        let comm = communicator.handle.raw
        let type = MPIDatatype.float32.handle, sum = ReductionOp.sum.handle
        let inBlock = UnsafeBufferPointer(rebasing: input[0..<block])
        let outBlock = UnsafeMutableBufferPointer(rebasing: output[0..<block])
        let inAll = UnsafeBufferPointer(rebasing: input[0..<elements])
        let outAll = UnsafeMutableBufferPointer(rebasing: output[0..<elements])
        func raw() throws(MPIError) {
            switch operation {
            case .allreduce: try check(mpi_allreduce(address(inAll), address(outAll), count, type, sum, comm), "MPI_Allreduce")
            case .reducescatter:
                try check(mpi_reduce_scatter_block(address(inAll), address(outBlock), cBlock, type, sum, comm),
                          "MPI_Reduce_scatter_block")
            case .allgather: try check(mpi_allgather(address(inBlock), cBlock, address(outAll), cBlock, type, comm), "MPI_Allgather")
            }
        }
        func wrapped() throws(MPIError) {
            switch operation {
            case .allreduce: try communicator.allReduce(inAll, into: outAll)
            case .reducescatter: try communicator.reduceScatter(inAll, into: outBlock)
            case .allgather: try communicator.allGather(inBlock, into: outAll)
            }
        }
        var rawTimes: [Double] = []
        var wrappedTimes: [Double] = []
        for round in 0..<blocks {
            for useRaw in (round % 2 == 0 ? [true, false] : [false, true]) {
                try check(mpi_barrier(comm), "MPI_Barrier")
                let start = mpi_wtime()
                for _ in 0..<callsPerBlock { if useRaw { try raw() } else { try wrapped() } }
                var elapsed = (mpi_wtime() - start) / Double(callsPerBlock)
                var slowest = 0.0
                try check(mpi_allreduce(&elapsed, &slowest, 1, MPIDatatype.float64.handle, ReductionOp.max.handle, comm),
                          "MPI_Allreduce")
                if useRaw { rawTimes.append(slowest) } else { wrappedTimes.append(slowest) }
            }
        }
        communicator.ledger.reset()
        return Result(raw: rawTimes.sorted()[rawTimes.count / 2], wrapped: wrappedTimes.sorted()[wrappedTimes.count / 2])
    }
}
