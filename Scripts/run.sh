#!/usr/bin/env bash
# The main job, from a clean clone: installs the system packages, builds the release `dion`,
# and runs it under mpirun with NP ranks (default 4). Arguments are passed to `dion`; with
# none, it runs the collectives benchmark (the training job replaces this default when it lands).
#
#   Scripts/run.sh                              # mpirun -np 4 dion bench collectives
#   NP=2 Scripts/run.sh bench collectives --max-bytes 1048576
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
source Scripts/mpi-env.sh
swift build -c release --product dion 2>&1 | tail -1
if [ $# -eq 0 ]; then set -- bench collectives; fi
exec mpirun -np "${NP:-4}" .build/release/dion "$@"
