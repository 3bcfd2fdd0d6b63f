#!/usr/bin/env bash
# Overlap of communication with compute on the emulated cluster (docs/cluster.md, "Overlap"):
# `dion train` on 2 hosts × 2 ranks with dp across the links, `--overlap off` and `on` alternated
# (off, on, off, on, …) in one session at one link rate, so both see the same machine. Needs root.
#
#   bash Scripts/overlap-bench.sh [OUT_DIR]          (default results/overlap)
#   python3 Scripts/overlap-report.py OUT_DIR        the table
#
# Environment: RATE (default 1gbit), SLOTS ranks per host (default 2, so 4 ranks), STEPS (default 20),
# REPEATS (default 2), MESHES (default "dp=2,fsdp=2 dp=2,tp=2"; with SLOTS=1 use MESHES=dp=2),
# OPTIMIZERS (default "adamw dion"; dion runs with --sync uncompressed, so its gradients go through the
# dp buckets), MPIRUN_ARGS (extra mpirun flags, e.g. "--mca btl_tcp_eager_limit 4194304 --mca
# btl_tcp_rndv_eager_limit 4194304 --mca btl_tcp_max_send_size 4194304"). Uses cluster id 5
# (DION_CLUSTER_ID), torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results/overlap}"
mkdir -p "$out"
source Scripts/mpi-env.sh
export DION_CLUSTER_ID="${DION_CLUSTER_ID:-5}"
swift build -c release --product dion 2>&1 | tail -1
bash Scripts/fetch-data.sh >/dev/null
trap 'bash Scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
D=.build/release/dion
rate="${RATE:-1gbit}"
slots="${SLOTS:-2}"
steps="${STEPS:-20}"
bash Scripts/cluster.sh up --hosts 2 --slots "$slots" --bandwidth "$rate" >/dev/null
launcher=$(bash Scripts/cluster.sh launcher)
for repeat in $(seq 1 "${REPEATS:-2}"); do
  for mesh in ${MESHES:-dp=2,fsdp=2 dp=2,tp=2}; do
    for optimizer in ${OPTIMIZERS:-adamw dion}; do
      flags="--optimizer $optimizer"
      [ "$optimizer" = adamw ] && flags="$flags --lr 0.004"
      [ "$optimizer" = dion ] && flags="$flags --sync uncompressed"
      for overlap in off on; do
        file="$out/train-$rate-${mesh//[=,]/_}-$optimizer-$overlap-$repeat.jsonl"
        [ -s "$file" ] && continue
        # shellcheck disable=SC2086
        "$launcher" ${MPIRUN_ARGS:-} -np $((2 * slots)) $D train --mesh "$mesh" $flags --overlap "$overlap" --steps "$steps" --log-every "$steps" \
          --eval-every 0 --metrics "$file.tmp" | grep "^step" || true
        mv "$file.tmp" "$file"
      done
    done
  done
done
echo "== done: python3 Scripts/overlap-report.py $out"
