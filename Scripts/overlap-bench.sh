#!/usr/bin/env bash
# Overlap of communication with compute on the emulated cluster (docs/cluster.md, "Overlap"). Needs root.
#
#   bash Scripts/overlap-bench.sh [OUT_DIR]          (default results/overlap)
#   python3 Scripts/overlap-report.py OUT_DIR        the table
#
# Per repeat, per mesh and optimizer, in turn on one cluster (so every run sees the same machine):
#   1. links unshaped (`cluster.sh rate none`), `--overlap off`: the step with the bandwidth out of the
#      way, C (compute, plus what the transports cost in CPU);
#   2. links shaped to RATE, `--overlap off`: C + W, W what the link's bandwidth adds when nothing overlaps;
#   3. links shaped to RATE, each of VARIANTS: the overlapped step, compared with max(C, W).
# Environment: RATE (default 500mbit), SLOTS ranks per host (default 2, so 4 ranks), STEPS (default 20),
# REPEATS (default 2), MESHES (default "fsdp=2,tp=2 dp=2,fsdp=2"; with SLOTS=1 e.g. "fsdp=2 dp=2"),
# OPTIMIZERS (default "adamw dion"; dion runs with --sync uncompressed, so its gradients go through the
# dp buckets), VARIANTS ("name:flags;…", default "on:--overlap on;on-nothread:--overlap on
# --progress-interval 0"), MPIRUN_ARGS (extra mpirun flags), TRAIN_ARGS (extra `dion train` flags, e.g.
# "--layers 16": the same for every run). Uses cluster id 5 (DION_CLUSTER_ID), torn
# down on exit.
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
rate="${RATE:-500mbit}"
slots="${SLOTS:-2}"
steps="${STEPS:-20}"
IFS=';' read -ra variants <<< "${VARIANTS:-on:--overlap on;on-nothread:--overlap on --progress-interval 0}"
bash Scripts/cluster.sh up --hosts 2 --slots "$slots" --bandwidth none >/dev/null
launcher=$(bash Scripts/cluster.sh launcher)

# run LINK VARIANT FLAGS…: one `dion train` into OUT/train-LINK-MESH-OPTIMIZER-VARIANT-REPEAT.jsonl.
run() {
  local link="$1" variant="$2"; shift 2
  local file="$out/train-$link-${mesh//[=,]/_}-$optimizer-$variant-$repeat.jsonl"
  [ -s "$file" ] && return 0
  # shellcheck disable=SC2086
  "$launcher" ${MPIRUN_ARGS:-} -np $((2 * slots)) $D train --mesh "$mesh" $flags ${TRAIN_ARGS:-} "$@" --steps "$steps" \
    --log-every "$steps" --eval-every 0 --metrics "$file.tmp" </dev/null | grep "^step" || true
  mv "$file.tmp" "$file"
}

for repeat in $(seq 1 "${REPEATS:-2}"); do
  for mesh in ${MESHES:-fsdp=2,tp=2 dp=2,fsdp=2}; do
    for optimizer in ${OPTIMIZERS:-adamw dion}; do
      flags="--optimizer $optimizer"
      [ "$optimizer" = adamw ] && flags="$flags --lr 0.004"
      [ "$optimizer" = dion ] && flags="$flags --sync uncompressed"
      bash Scripts/cluster.sh rate none >/dev/null
      run none off --overlap off
      bash Scripts/cluster.sh rate "$rate" >/dev/null
      run "$rate" off --overlap off
      for v in "${variants[@]}"; do
        # shellcheck disable=SC2086
        run "$rate" "${v%%:*}" ${v#*:}
      done
    done
  done
done
echo "== done: python3 Scripts/overlap-report.py $out"
