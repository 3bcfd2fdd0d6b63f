#ifndef CMPISHIM_H
#define CMPISHIM_H

#include <mpi.h>
#include <stdint.h>

// Open MPI defines its predefined handles as macros that cast the address of an incomplete
// struct (`((MPI_Comm) &ompi_mpi_comm_world)`); Swift imports neither the macros nor the
// globals. Each function below returns one such handle so that MPIShim can use it.
// Every symbol is prefixed `CMPIShim_`. Nothing here has a stable Swift API.

// MPI_COMM_WORLD is a macro casting &ompi_mpi_comm_world.
MPI_Comm CMPIShim_COMM_WORLD(void);
// MPI_COMM_SELF is a macro casting &ompi_mpi_comm_self.
MPI_Comm CMPIShim_COMM_SELF(void);
// MPI_COMM_NULL is a macro casting &ompi_mpi_comm_null.
MPI_Comm CMPIShim_COMM_NULL(void);
// MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, key, MPI_INFO_NULL, out): MPI_INFO_NULL is a macro
// casting &ompi_mpi_info_null, so the call is made here.
int CMPIShim_comm_split_shared(MPI_Comm comm, int key, MPI_Comm *out);
// MPI_REQUEST_NULL is a macro casting &ompi_request_null.
MPI_Request CMPIShim_REQUEST_NULL(void);
// MPI_ERRORS_RETURN is a macro casting &ompi_mpi_errors_return.
MPI_Errhandler CMPIShim_ERRORS_RETURN(void);
// MPI_IN_PLACE is the macro ((void *) 1), which Swift does not import.
void *CMPIShim_IN_PLACE(void);
// MPI_STATUS_IGNORE is the macro ((MPI_Status *) 0).
MPI_Status *CMPIShim_STATUS_IGNORE(void);

// Datatypes are macros casting the addresses of ompi_mpi_* globals.
MPI_Datatype CMPIShim_FLOAT(void);
MPI_Datatype CMPIShim_DOUBLE(void);
MPI_Datatype CMPIShim_INT32_T(void);
MPI_Datatype CMPIShim_INT64_T(void);
MPI_Datatype CMPIShim_UINT8_T(void);
// bfloat16 has no MPI type; its 2-byte bit patterns move as MPI_UINT16_T (copies only, never reduced).
MPI_Datatype CMPIShim_UINT16_T(void);

// Reduction operations are macros casting the addresses of ompi_mpi_op_* globals.
MPI_Op CMPIShim_SUM(void);
MPI_Op CMPIShim_MAX(void);
MPI_Op CMPIShim_MIN(void);

// MPI_Error_string needs a caller buffer of MPI_MAX_ERROR_STRING bytes; this helper fills
// `buffer` (of `capacity` bytes, NUL-terminated) so Swift need not size a C array.
void CMPIShim_error_string(int code, char *buffer, int capacity);

// The ledger timestamps every collective. clock_gettime costs ~25 ns in the VMs this runs on;
// the CPU's time-stamp counter costs ~10 ns, but `__rdtsc` is a compiler intrinsic that Swift
// cannot import. Returns TSC ticks on x86-64 (invariant TSC assumed), nanoseconds of
// CLOCK_MONOTONIC elsewhere; MPIShim calibrates ticks against the monotonic clock.
uint64_t CMPIShim_ticks(void);

#endif
