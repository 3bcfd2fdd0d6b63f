# Sourced by the scripts: the Open MPI settings this project needs on its machines.
# - mpirun runs as root in CI containers: both variables are required.
# - 4 ranks on 2 cores: allow oversubscription (Open MPI then yields when idle by itself).
# - vader's single-copy (CMA) mechanism may be forbidden in containers; "none" was as fast here.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# One BLAS thread per rank unless the user chose otherwise.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
