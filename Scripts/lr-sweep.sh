#!/usr/bin/env bash
# The learning-rate sweep behind dion train's defaults (docs/results.md): trains the default
# model at the comparison's small batch for the comparison's steps with each optimizer at a few
# learning rates, under mpirun -np 4 on dp=4, and prints the final validation loss of each.
#
#   Scripts/lr-sweep.sh                                  # adamw, muon, dion: results/sweep/*.jsonl, table.md
#   SWEEP="dion2 normuon nordion2" Scripts/lr-sweep.sh   # the issue-16 optimizers (Muon's rates)
#   LRS="0.01 0.02 0.04" SWEEP=dion2 Scripts/lr-sweep.sh # a reduced sweep
#   DION=/path/to/dion ...                               # a copied binary (rebuilds elsewhere stay out)
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh >/dev/null
bash Scripts/fetch-data.sh
source Scripts/mpi-env.sh
dion=${DION:-.build/release/dion}
[ -n "${DION:-}" ] || swift build -c release --product dion 2>&1 | tail -1
out=results/sweep
mkdir -p "$out"
steps=${STEPS:-300}
batch=${BATCH:-16}
run() {  # optimizer lr [extra flags]
  local name="$1-$2"
  mpirun -np 4 "$dion" train --mesh dp=4 --optimizer "$1" --lr "$2" --steps "$steps" --batch-size "$batch" \
    --eval-every 0 --eval-batches 8 --log-every 100000 --metrics "$out/$name.jsonl" "${@:3}" > "$out/$name.log"
  printf '| %s | %s | %s |\n' "$1" "$2" "$(python3 -c "import json,sys; print([json.loads(l) for l in open('$out/$name.jsonl')][-1]['final_val_loss'])")"
}
rates() {  # optimizer: its five rates a factor 2 apart (LRS overrides)
  if [ -n "${LRS:-}" ]; then echo "$LRS"; return; fi
  case "$1" in
    adamw) echo "0.001 0.002 0.004 0.008 0.016" ;;
    *) echo "0.005 0.01 0.02 0.04 0.08" ;;
  esac
}
{
  echo "| optimizer | lr | final val loss |"
  echo "|---|---|---|"
  for optimizer in ${SWEEP:-adamw muon dion}; do
    flags=()
    [ "$optimizer" = dion ] && flags=(--rank-fraction 1/4)
    for lr in $(rates "$optimizer"); do run "$optimizer" "$lr" "${flags[@]}"; done
  done
} | tee "$out/table${SWEEP:+-${SWEEP// /-}}.md"
