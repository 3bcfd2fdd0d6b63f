#!/usr/bin/env bash
# The optimizer comparison of docs/results.md: trains the default model with AdamW, Muon and
# Dion (ρ = 1/4 and 1/16) for the same steps on the same mesh (mpirun -np 4, dp=4), at a small
# batch and a 4× larger one, then writes the table (results/compare/table.md) and the charts
# (docs/img/results-b*-loss.png, -bytes.png). ~14 minutes on 2 cores.
#
#   Scripts/compare-optimizers.sh                 # STEPS=200 SMALL=16 MESH=dp=4 NP=4
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh >/dev/null
bash Scripts/fetch-data.sh
source Scripts/mpi-env.sh
swift build -c release --product dion 2>&1 | tail -1
steps=${STEPS:-200}
small=${SMALL:-16}
large=$((4 * small))
mesh=${MESH:-dp=4}
np=${NP:-4}
out=results/compare
mkdir -p "$out" docs/img
start=$(date +%s)
for batch in "$small" "$large"; do
  files=()
  for spec in adamw muon dion:1/4 dion:1/16; do
    optimizer=${spec%%:*}
    name="$optimizer"
    flags=(--optimizer "$optimizer")
    if [ "$optimizer" = dion ]; then
      rho=${spec#dion:}
      name="dion-${rho/\//over}"
      flags+=(--rank-fraction "$rho")
    fi
    file="$out/$name-b$batch.jsonl"
    echo "== $spec, batch $batch"
    mpirun -np "$np" .build/release/dion train --mesh "$mesh" "${flags[@]}" --steps "$steps" --batch-size "$batch" \
      --eval-every 50 --eval-batches 8 --log-every 50 --metrics "$file"
    files+=("$file")
  done
  python3 Scripts/plot.py "${files[@]}" -o "docs/img/results-b$batch"
done
python3 Scripts/compare-table.py "$out"/*-b"$small".jsonl "$out"/*-b"$large".jsonl | tee "$out/table.md"
echo "comparison took $(( $(date +%s) - start )) s"
