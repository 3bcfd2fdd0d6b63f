#ifndef CLAPACKE_SHIM_H
#define CLAPACKE_SHIM_H
// The system-library target for LAPACKE, LAPACK's C interface (pkg-config `lapacke`).
#include <lapacke.h>
#endif
