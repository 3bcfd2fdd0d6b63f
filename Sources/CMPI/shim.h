#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H
// The system-library target for Open MPI: it only includes <mpi.h>.
// Flags come from pkg-config `ompi-c`; the functions Swift cannot import are in CMPIShim.
#include <mpi.h>
#endif
