#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
// The system-library target for OpenBLAS's CBLAS interface (pkg-config `openblas`).
#include <cblas.h>
// OpenBLAS's own thread control, declared in its cblas.h on Debian; repeated here so the
// module does not depend on that detail.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
