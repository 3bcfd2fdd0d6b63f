#!/usr/bin/env bash
# The main job, from a clean clone: installs the system packages, fetches the Shakespeare corpus,
# builds the release `dion`, and trains the default byte-level transformer under mpirun with NP
# ranks (default 4) on the mesh dp=NP. Arguments are passed to `dion train`; other subcommands
# run with DION_COMMAND (e.g. DION_COMMAND="bench collectives").
#
#   Scripts/run.sh                                        # mpirun -np 4 dion train (Dion, ρ = 1/4)
#   Scripts/run.sh --mesh dp=2,fsdp=2 --optimizer muon    # any dion train flags
#   NP=2 DION_COMMAND="bench collectives" Scripts/run.sh
#   CLUSTER=1 NP=4 Scripts/run.sh --mesh dp=2,tp=2          # across the emulated cluster (root): 2 hosts ×
#                                                            # NP/2 ranks, CLUSTER_BANDWIDTH (default 1gbit)
#                                                            # links; an existing cluster is used as it is
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh
source Scripts/mpi-env.sh
swift build -c release --product dion 2>&1 | tail -1
command="${DION_COMMAND:-train}"
if [ "$command" = "train" ]; then
  bash Scripts/fetch-data.sh
  mkdir -p results
  set -- train --metrics results/train.jsonl "$@"
else
  # shellcheck disable=SC2086
  set -- $command "$@"
fi
launcher=mpirun
if [ -n "${CLUSTER:-}" ] && [ "${CLUSTER}" != 0 ]; then
  if ! bash Scripts/cluster.sh launcher >/dev/null 2>&1; then
    hosts="${CLUSTER_HOSTS:-2}"
    bash Scripts/cluster.sh up --hosts "$hosts" --slots $(( (${NP:-4} + hosts - 1) / hosts )) \
      --bandwidth "${CLUSTER_BANDWIDTH:-1gbit}"
    trap 'bash Scripts/cluster.sh down' EXIT
  fi
  launcher=$(bash Scripts/cluster.sh launcher)
  bash Scripts/cluster.sh status
  "$launcher" -np "${NP:-4}" .build/release/dion "$@"
  bash Scripts/cluster.sh status
  exit 0
fi
exec "$launcher" -np "${NP:-4}" .build/release/dion "$@"
