#include "CMPIShim.h"
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

MPI_Comm CMPIShim_COMM_WORLD(void) { return MPI_COMM_WORLD; }
MPI_Comm CMPIShim_COMM_SELF(void) { return MPI_COMM_SELF; }
MPI_Comm CMPIShim_COMM_NULL(void) { return MPI_COMM_NULL; }
int CMPIShim_comm_split_shared(MPI_Comm comm, int key, MPI_Comm *out) {
    return MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, key, MPI_INFO_NULL, out);
}
MPI_Request CMPIShim_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
MPI_Errhandler CMPIShim_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
void *CMPIShim_IN_PLACE(void) { return MPI_IN_PLACE; }
MPI_Status *CMPIShim_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }

MPI_Datatype CMPIShim_FLOAT(void) { return MPI_FLOAT; }
MPI_Datatype CMPIShim_DOUBLE(void) { return MPI_DOUBLE; }
MPI_Datatype CMPIShim_INT32_T(void) { return MPI_INT32_T; }
MPI_Datatype CMPIShim_INT64_T(void) { return MPI_INT64_T; }
MPI_Datatype CMPIShim_UINT8_T(void) { return MPI_UINT8_T; }
MPI_Datatype CMPIShim_UINT16_T(void) { return MPI_UINT16_T; }

MPI_Op CMPIShim_SUM(void) { return MPI_SUM; }
MPI_Op CMPIShim_MAX(void) { return MPI_MAX; }
MPI_Op CMPIShim_MIN(void) { return MPI_MIN; }

void CMPIShim_error_string(int code, char *buffer, int capacity) {
    if (buffer == NULL || capacity <= 0) return;
    char local[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, local, &length) != MPI_SUCCESS) {
        strncpy(buffer, "unknown MPI error", (size_t)capacity - 1);
    } else {
        strncpy(buffer, local, (size_t)capacity - 1);
    }
    buffer[capacity - 1] = '\0';
}

uint64_t CMPIShim_ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}
