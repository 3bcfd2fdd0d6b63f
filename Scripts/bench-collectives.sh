#!/usr/bin/env bash
# Side-by-side collective benchmark: raw C MPI (Scripts/bench/collectives.c, built with mpicc)
# and `dion bench collectives` (MPIShim, ledger on), alternating runs at 2 and 4 ranks, then
# the ratio table (best of all rounds per point) and the ledger's cost at 4 KiB.
#
#   Scripts/bench-collectives.sh                 # 2 and 4 ranks, 2 rounds each
#   RANKS="2" ROUNDS=3 Scripts/bench-collectives.sh
#   EXTRA="--max-bytes 1048576" Scripts/bench-collectives.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/mpi-env.sh
bash Scripts/setup.sh >/dev/null
# Benchmarks use vader's single-copy (CMA) path, the machine's default: with "none" (what the
# tests use, for containers that forbid process_vm_readv) large messages go through shared-memory
# fragments whose alignment against the user buffers varied from run to run and made either side
# up to 3x slower at random. Set BENCH_SINGLE_COPY=none where CMA is not permitted.
export OMPI_MCA_btl_vader_single_copy_mechanism="${BENCH_SINGLE_COPY:-cma}"

RANKS="${RANKS:-2 4}"
ROUNDS="${ROUNDS:-2}"
EXTRA="${EXTRA:-}"
OUT="${OUT:-results/collectives}"
mkdir -p "$OUT" .build/bench

swift build -c release --product dion 2>&1 | tail -1
mpicc -O2 -o .build/bench/collectives-c Scripts/bench/collectives.c

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "mpirun: $(mpirun --version | head -1), vader single copy: $OMPI_MCA_btl_vader_single_copy_mechanism"
for np in $RANKS; do
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    mpirun -np "$np" .build/bench/collectives-c --json "$OUT/c-np$np-r$round.json" $EXTRA >/dev/null
    # shellcheck disable=SC2086
    mpirun -np "$np" .build/release/dion bench collectives --json "$OUT/swift-np$np-r$round.json" $EXTRA >/dev/null
    echo "np=$np round $round done"
  done
  mpirun -np "$np" .build/release/dion bench collectives --ops allreduce --max-bytes 4096 \
    --ledger-overhead-iterations 20000 | tail -1 | tee "$OUT/ledger-overhead-np$np.txt"
done
python3 Scripts/collectives-table.py "$OUT"/*-np*-r*.json | tee "$OUT/table.md"
# The wrapper's own cost without job-to-job noise: raw C API and MPIShim alternating in one process.
for np in $RANKS; do
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    mpirun -np "$np" .build/release/dion bench collectives --in-process-baseline \
      --json "$OUT/in-process-np$np-r$round.json" $EXTRA > "$OUT/in-process-np$np-r$round.txt"
  done
done
python3 Scripts/in-process-table.py "$OUT"/in-process-np*-r*.json | tee "$OUT/in-process-table.md"
