import CMPI
import CMPIShim

// The only call sites of the MPI C API: one thin internal function per MPI call, in the
// swift-system `system_open` style. Everything above goes through `check(_:_:)`.

/// An MPI communicator handle. `@unchecked Sendable`: an `MPI_Comm` is a process-global
/// identifier; which threads may use it is governed by the MPI thread level, not by Swift.
struct CommHandle: @unchecked Sendable {
    let raw: MPI_Comm?
}

/// Converts an MPI return code into a thrown `MPIError` naming the function.
@inline(__always)
func check(_ rc: CInt, _ function: StaticString) throws(MPIError) {
    if rc != MPI_SUCCESS { throw makeMPIError(rc, function: "\(function)") }
}

@inline(never)
func makeMPIError(_ rc: CInt, function: String) -> MPIError {
    var errorClass: CInt = 0
    let classKnown = MPI_Error_class(rc, &errorClass) == MPI_SUCCESS
    var buffer = [CChar](repeating: 0, count: 512)
    buffer.withUnsafeMutableBufferPointer { CMPIShim_error_string(rc, $0.baseAddress, CInt($0.count)) }
    let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return MPIError(code: .mpiCallFailed, mpiReturnCode: rc, errorClass: classKnown ? errorClass : nil,
                    message: message, function: function)
}

extension MPIDatatype {
    /// The predefined MPI handle of this type.
    var handle: MPI_Datatype? {
        switch self {
        case .float32: CMPIShim_FLOAT()
        case .float64: CMPIShim_DOUBLE()
        case .int32: CMPIShim_INT32_T()
        case .int64: CMPIShim_INT64_T()
        case .uint8: CMPIShim_UINT8_T()
        case .bfloat16: CMPIShim_UINT16_T()
        }
    }
}

extension ReductionOp {
    /// The MPI operation that computes this reduction (average is a sum, divided afterwards).
    var handle: MPI_Op? {
        switch self {
        case .sum, .average: CMPIShim_SUM()
        case .max: CMPIShim_MAX()
        case .min: CMPIShim_MIN()
        }
    }
}

var mpiInPlace: UnsafeMutableRawPointer? { CMPIShim_IN_PLACE() }

// MARK: - Environment management

func mpi_initialized() -> Bool {
    var flag: CInt = 0
    _ = MPI_Initialized(&flag)
    return flag != 0
}

func mpi_finalized() -> Bool {
    var flag: CInt = 0
    _ = MPI_Finalized(&flag)
    return flag != 0
}

func mpi_init_thread(_ required: CInt, _ provided: inout CInt) -> CInt {
    MPI_Init_thread(nil, nil, required, &provided)
}

func mpi_finalize() -> CInt { MPI_Finalize() }

func mpi_abort(_ comm: MPI_Comm?, _ code: CInt) -> CInt { MPI_Abort(comm, code) }

func mpi_wtime() -> Double { MPI_Wtime() }

// MARK: - Communicators

func mpi_comm_rank(_ comm: MPI_Comm?, _ rank: inout CInt) -> CInt { MPI_Comm_rank(comm, &rank) }

func mpi_comm_size(_ comm: MPI_Comm?, _ size: inout CInt) -> CInt { MPI_Comm_size(comm, &size) }

func mpi_comm_split(_ comm: MPI_Comm?, _ color: CInt, _ key: CInt, _ out: inout MPI_Comm?) -> CInt {
    MPI_Comm_split(comm, color, key, &out)
}

func mpi_comm_dup(_ comm: MPI_Comm?, _ out: inout MPI_Comm?) -> CInt { MPI_Comm_dup(comm, &out) }

func mpi_comm_free(_ comm: inout MPI_Comm?) -> CInt { MPI_Comm_free(&comm) }

func mpi_comm_split_shared(_ comm: MPI_Comm?, _ key: CInt, _ out: inout MPI_Comm?) -> CInt {
    CMPIShim_comm_split_shared(comm, key, &out)
}

func mpi_comm_set_errhandler_return(_ comm: MPI_Comm?) -> CInt {
    MPI_Comm_set_errhandler(comm, CMPIShim_ERRORS_RETURN())
}

var mpiCommWorld: MPI_Comm? { CMPIShim_COMM_WORLD() }
var mpiCommNull: MPI_Comm? { CMPIShim_COMM_NULL() }
var mpiUndefined: CInt { MPI_UNDEFINED }

// MARK: - Blocking collectives

func mpi_barrier(_ comm: MPI_Comm?) -> CInt { MPI_Barrier(comm) }

func mpi_allreduce(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, _ count: CInt,
                   _ type: MPI_Datatype?, _ op: MPI_Op?, _ comm: MPI_Comm?) -> CInt {
    MPI_Allreduce(send, recv, count, type, op, comm)
}

func mpi_reduce_scatter_block(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, _ count: CInt,
                              _ type: MPI_Datatype?, _ op: MPI_Op?, _ comm: MPI_Comm?) -> CInt {
    MPI_Reduce_scatter_block(send, recv, count, type, op, comm)
}

func mpi_reduce_scatter(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?,
                        _ counts: UnsafePointer<CInt>?, _ type: MPI_Datatype?, _ op: MPI_Op?,
                        _ comm: MPI_Comm?) -> CInt {
    MPI_Reduce_scatter(send, recv, counts, type, op, comm)
}

func mpi_allgather(_ send: UnsafeRawPointer?, _ sendCount: CInt, _ recv: UnsafeMutableRawPointer?,
                   _ recvCount: CInt, _ type: MPI_Datatype?, _ comm: MPI_Comm?) -> CInt {
    MPI_Allgather(send, sendCount, type, recv, recvCount, type, comm)
}

func mpi_allgatherv(_ send: UnsafeRawPointer?, _ sendCount: CInt, _ recv: UnsafeMutableRawPointer?,
                    _ counts: UnsafePointer<CInt>?, _ displs: UnsafePointer<CInt>?,
                    _ type: MPI_Datatype?, _ comm: MPI_Comm?) -> CInt {
    MPI_Allgatherv(send, sendCount, type, recv, counts, displs, type, comm)
}

func mpi_bcast(_ buffer: UnsafeMutableRawPointer?, _ count: CInt, _ type: MPI_Datatype?, _ root: CInt,
               _ comm: MPI_Comm?) -> CInt {
    MPI_Bcast(buffer, count, type, root, comm)
}

func mpi_alltoall(_ send: UnsafeRawPointer?, _ recv: UnsafeMutableRawPointer?, _ count: CInt,
                  _ type: MPI_Datatype?, _ comm: MPI_Comm?) -> CInt {
    MPI_Alltoall(send, count, type, recv, count, type, comm)
}

func mpi_alltoallv(_ send: UnsafeRawPointer?, _ sendCounts: UnsafePointer<CInt>?, _ sendDispls: UnsafePointer<CInt>?,
                   _ recv: UnsafeMutableRawPointer?, _ recvCounts: UnsafePointer<CInt>?,
                   _ recvDispls: UnsafePointer<CInt>?, _ type: MPI_Datatype?, _ comm: MPI_Comm?) -> CInt {
    MPI_Alltoallv(send, sendCounts, sendDispls, type, recv, recvCounts, recvDispls, type, comm)
}

// MARK: - Nonblocking collectives

func mpi_iallgather(_ send: UnsafeRawPointer?, _ sendCount: CInt, _ recv: UnsafeMutableRawPointer?,
                    _ recvCount: CInt, _ type: MPI_Datatype?, _ comm: MPI_Comm?,
                    _ request: inout MPI_Request?) -> CInt {
    MPI_Iallgather(send, sendCount, type, recv, recvCount, type, comm, &request)
}

func mpi_iallgatherv(_ send: UnsafeRawPointer?, _ sendCount: CInt, _ recv: UnsafeMutableRawPointer?,
                     _ counts: UnsafePointer<CInt>?, _ displs: UnsafePointer<CInt>?, _ type: MPI_Datatype?,
                     _ comm: MPI_Comm?, _ request: inout MPI_Request?) -> CInt {
    MPI_Iallgatherv(send, sendCount, type, recv, counts, displs, type, comm, &request)
}

// MARK: - Point to point (the watchdog's heartbeats, the nonblocking reduce-scatters)

func mpi_isend(_ send: UnsafeRawPointer?, _ count: CInt, _ type: MPI_Datatype?, _ destination: CInt, _ tag: CInt,
               _ comm: MPI_Comm?, _ request: inout MPI_Request?) -> CInt {
    MPI_Isend(send, count, type, destination, tag, comm, &request)
}

func mpi_irecv(_ recv: UnsafeMutableRawPointer?, _ count: CInt, _ type: MPI_Datatype?, _ source: CInt, _ tag: CInt,
               _ comm: MPI_Comm?, _ request: inout MPI_Request?) -> CInt {
    MPI_Irecv(recv, count, type, source, tag, comm, &request)
}

/// `MPI_Iprobe` with the status ignored (the progress thread's call).
func mpi_iprobe(_ source: CInt, _ tag: CInt, _ comm: MPI_Comm?, _ flag: inout CInt) -> CInt {
    MPI_Iprobe(source, tag, comm, &flag, CMPIShim_STATUS_IGNORE())
}

// MARK: - Completion

func mpi_wait(_ request: inout MPI_Request?) -> CInt { MPI_Wait(&request, CMPIShim_STATUS_IGNORE()) }

func mpi_test(_ request: inout MPI_Request?, _ flag: inout CInt) -> CInt {
    MPI_Test(&request, &flag, CMPIShim_STATUS_IGNORE())
}

/// `MPI_Testall` with the statuses ignored (`MPI_STATUSES_IGNORE` is the same null pointer).
func mpi_testall(_ requests: UnsafeMutableBufferPointer<MPI_Request?>, _ flag: inout CInt) -> CInt {
    MPI_Testall(CInt(requests.count), requests.baseAddress, &flag, CMPIShim_STATUS_IGNORE())
}

/// `MPI_Waitall` with the statuses ignored.
func mpi_waitall(_ requests: UnsafeMutableBufferPointer<MPI_Request?>) -> CInt {
    MPI_Waitall(CInt(requests.count), requests.baseAddress, CMPIShim_STATUS_IGNORE())
}

/// `inout = in op inout`, element-wise, on this process (`MPI_Reduce_local`).
func mpi_reduce_local(_ input: UnsafeRawPointer?, _ output: UnsafeMutableRawPointer?, _ count: CInt,
                      _ type: MPI_Datatype?, _ op: MPI_Op?) -> CInt {
    MPI_Reduce_local(input, output, count, type, op)
}
