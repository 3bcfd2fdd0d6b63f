#!/usr/bin/env bash
# Heap allocations and bytes copied (memcpy/memmove) per training step, per rank.
#
# Runs `dion train` twice, with --steps A and --steps B (default 5 and 10; both evaluate once, at
# the end), with Scripts/alloc-count.c preloaded into every rank, and prints per rank the
# difference divided by B − A: what one more training step costs, with start-up, evaluation
# and the summary cancelled out. Deterministic to a few allocations (Open MPI's progress engine).
#
#   NP=4 bash Scripts/measure-step-allocations.sh --mesh dp=2,fsdp=2 --optimizer adamw
#   STEPS="5 10" DION=.build/release/dion bash Scripts/measure-step-allocations.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/mpi-env.sh
NP=${NP:-1}
DION=${DION:-.build/release/dion}
read -r A B <<< "${STEPS:-5 10}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -o "$work/alloc-count.so" Scripts/alloc-count.c -ldl

run() {  # $1 = steps; prints "rank allocations bytes copies copied" per dion process, by pid order
  local steps=$1; shift
  mkdir -p "$work/$steps"
  ALLOC_COUNT_DIR="$work/$steps" mpirun -np "$NP" -x ALLOC_COUNT_DIR -x LD_PRELOAD="$work/alloc-count.so" \
    "$DION" train --steps "$steps" --log-every 1000 "$@" > "$work/$steps.out" 2>&1 || { cat "$work/$steps.out"; exit 1; }
  cat "$work/$steps"/* | awk -v exe="$(readlink -f "$DION")" '$1 == exe { print $2, $3, $4, $5, $6, $7 }' | sort -n
}
run "$A" "$@" > "$work/a.txt"
run "$B" "$@" > "$work/b.txt"
# Per step and per rank (ranks matched by sorting on the allocation count: ranks of one role allocate alike).
paste "$work/a.txt" "$work/b.txt" | awk -v d=$((B - A)) '
  { n++
    for (k = 1; k <= 6; k++) { v[k] = ($(k + 6) - $k) / d; sum[k] += v[k] }
    printf "rank %d: %8.0f allocations %11.0f bytes allocated | copies (all) %7.0f, %11.0f bytes | from Swift %7.0f, %11.0f bytes\n",
           n, v[1], v[2], v[3], v[4], v[5], v[6] }
  END { printf "mean:   %8.0f allocations %11.0f bytes allocated | copies (all) %7.0f, %11.0f bytes | from Swift %7.0f, %11.0f bytes\n",
               sum[1] / n, sum[2] / n, sum[3] / n, sum[4] / n, sum[5] / n, sum[6] / n }'
grep -h "final train loss" "$work/$B.out" || true
