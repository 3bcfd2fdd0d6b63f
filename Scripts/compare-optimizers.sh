#!/usr/bin/env bash
# The optimizer comparison of docs/results.md: trains the default model with AdamW, Muon, Dion
# (ρ = 1/4 and 1/16), Dion2, NorMuon and NorDion2 (α = 1/4) for the same steps on the same mesh
# (mpirun -np 4, dp=4), at a small batch and a 4× larger one, then writes the table
# (results/compare/table.md) and the charts (docs/img/results-b*-loss.png, -bytes.png).
# ~25 minutes on 2 cores.
#
#   Scripts/compare-optimizers.sh                 # STEPS=200 SMALL=16 MESH=dp=4 NP=4
#   SPECS="adamw muon" DION=/path/to/dion ...     # a subset; a copied binary (rebuilds elsewhere stay out)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh >/dev/null
bash Scripts/fetch-data.sh
source Scripts/mpi-env.sh
dion=${DION:-.build/release/dion}
[ -n "${DION:-}" ] || swift build -c release --product dion 2>&1 | tail -1
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
  for spec in ${SPECS:-adamw muon dion:1/4 dion:1/16 dion2 normuon nordion2}; do
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
    mpirun -np "$np" "$dion" train --mesh "$mesh" "${flags[@]}" --steps "$steps" --batch-size "$batch" \
      --eval-every 50 --eval-batches 8 --log-every 50 --metrics "$file"
    files+=("$file")
  done
  python3 Scripts/plot.py "${files[@]}" -o "docs/img/results-b$batch"
  if [ "$batch" = "$small" ]; then files_small=("${files[@]}"); fi
done
python3 Scripts/compare-table.py "${files_small[@]}" "${files[@]}" | tee "$out/table.md"
echo "comparison took $(( $(date +%s) - start )) s"
