#!/usr/bin/env bash
# The runs behind docs/claims.md: the seeds' training claims measured at this machine's scale.
#
#   rank   rank fraction vs width: d = 64, 128, 256; Dion ρ = 1, 1/2, 1/4, 1/8, 1/16, Dion2 α = 1/2, 1/4, 1/8
#          and Muon at each width (seed 1 repeats of Muon, Dion ρ = 1/4 and 1/16 for the spread)
#   lr     learning-rate transfer: AdamW, Muon, Dion ρ = 1/4 at five learning rates a factor 2 apart
#          at each width (three at d = 256)
#   batch  batch size at d = 128: batches 8, 16, 32, 64, 128 sequences at a fixed token budget
#   extra  the grid points cut from the plan above for time (d = 256: the outer learning rates, ρ = 1/2,
#          1/8, α = 1/2, 1/8); run them with CLAIMS_STUDY=extra when there is time (~17 min for the first 7)
#
# Every run is one process (`dion train`, no mpirun), under `nice -n 10`, one at a time, with the
# same steps, tokens and schedule at every width: STEPS (100) steps of BATCH (32) sequences of 64
# bytes, cosine schedule with 10 % warm-up, 4 blocks, 4 heads; the batch study keeps the tokens
# (STEPS × BATCH sequences) and scales the steps. Validation: 16 × 32 sequences at the end of every run.
#
# Resumable: a run whose metrics file (results/claims/NAME.jsonl, with its summary) exists is
# skipped; a run is written to NAME.jsonl.part and renamed only when it finished. Prints the plan
# (with an estimate of each run's time) and progress; stops at the first failing run (non-zero exit).
#
#   bash Scripts/claims.sh                      # rank, lr, batch: 79 runs, 77 min on 2 cores shared with other work
#   CLAIMS_STUDY=rank bash Scripts/claims.sh    # one study (or several: CLAIMS_STUDY=rank,lr)
#   CLAIMS_PLAN=1 bash Scripts/claims.sh        # print the plan only
#   CLAIMS_SMOKE=1 bash Scripts/claims.sh       # the smallest configuration (d = 64), each optimizer, 3 steps,
#                                               # in a temporary directory, then Scripts/claims.py --check on it
#   python3 Scripts/claims.py                   # tables and charts: docs/claims.md (between its markers), docs/img/claims-*.png
set -euo pipefail
cd "$(dirname "$0")/.."

steps=${STEPS:-100}
batch=${BATCH:-32}
study_filter=${CLAIMS_STUDY:-rank,lr,batch}
out=${CLAIMS_OUT:-results/claims}
smoke=${CLAIMS_SMOKE:-0}
if [ "$smoke" = 1 ]; then
  steps=3
  study_filter=smoke
  out=$(mktemp -d /tmp/claims-smoke.XXXXXX)
  trap 'rm -rf "$out"' EXIT
fi
binary=${CLAIMS_BINARY:-.build/release/dion}
if [ ! -x "$binary" ] || [ "${CLAIMS_BUILD:-1}" = 1 ]; then
  swift build -c release --product dion 2>&1 | tail -1
fi
bash Scripts/fetch-data.sh >/dev/null
mkdir -p "$out"

# The plan, in priority order: "study d optimizer parameter lr batch seed" per line; the parameter
# is Dion's ρ, Dion2's α, or - .
plan=()
add() { plan+=("$*"); }
if [ "$smoke" = 1 ]; then
  add smoke 64 muon - 0.02 "$batch" 0
  add smoke 64 dion 1/4 0.02 "$batch" 0
  add smoke 64 dion2 1/4 0.02 "$batch" 0
  add smoke 64 adamw - 0.004 "$batch" 0
fi
# rank fraction vs width: the core (Muon and ρ = 1, 1/4, 1/16 at each width) first
for d in 64 128 256; do
  add rank "$d" muon - 0.02 "$batch" 0
  for rho in 1 1/4 1/16; do add rank "$d" dion "$rho" 0.02 "$batch" 0; done
done
for d in 64 128; do
  for rho in 1/2 1/8; do add rank "$d" dion "$rho" 0.02 "$batch" 0; done
  for alpha in 1/2 1/4 1/8; do add rank "$d" dion2 "$alpha" 0.02 "$batch" 0; done
done
add rank 256 dion2 1/4 0.02 "$batch" 0
for d in 64 128 256; do  # seed-to-seed spread
  add rank "$d" muon - 0.02 "$batch" 1
  for rho in 1/4 1/16; do add rank "$d" dion "$rho" 0.02 "$batch" 1; done
done
# learning-rate transfer (the default rates 0.004 and 0.02 are runs of the rank study)
for d in 64 128; do
  for lr in 0.001 0.002 0.004 0.008 0.016; do add lr "$d" adamw - "$lr" "$batch" 0; done
  for lr in 0.005 0.01 0.02 0.04 0.08; do add lr "$d" muon - "$lr" "$batch" 0; done
  for lr in 0.005 0.01 0.02 0.04 0.08; do add lr "$d" dion 1/4 "$lr" "$batch" 0; done
  add lr "$d" adamw - 0.004 "$batch" 1
done
# batch size at d = 128, fixed tokens (batch 32 is the rank and lr studies' run)
for b in 8 16 32 64 128; do
  add batch 128 adamw - 0.004 "$b" 0
  add batch 128 muon - 0.02 "$b" 0
  add batch 128 dion 1/4 0.02 "$b" 0
done
# learning-rate transfer at d = 256: three rates
for lr in 0.002 0.004 0.008; do add lr 256 adamw - "$lr" "$batch" 0; done
for lr in 0.01 0.02 0.04; do add lr 256 muon - "$lr" "$batch" 0; done
for lr in 0.01 0.02 0.04; do add lr 256 dion 1/4 "$lr" "$batch" 0; done
# cut from the first pass for time; CLAIMS_STUDY=extra runs them, in this order: first the rates beyond
# the edge where d = 256's three-rate optimum fell (AdamW lowest, Muon and Dion highest), then the rest
add extra 256 adamw - 0.001 "$batch" 0
add extra 256 muon - 0.08 "$batch" 0
add extra 256 dion 1/4 0.08 "$batch" 0
for rho in 1/2 1/8; do add extra 256 dion "$rho" 0.02 "$batch" 0; done
for alpha in 1/2 1/8; do add extra 256 dion2 "$alpha" 0.02 "$batch" 0; done
add extra 256 adamw - 0.016 "$batch" 0
for lr in 0.005; do add extra 256 muon - "$lr" "$batch" 0; add extra 256 dion 1/4 "$lr" "$batch" 0; done

name_of() {  # d optimizer parameter lr batch seed
  local tag=""
  case "$2" in dion) tag="-r${3/\//over}" ;; dion2) tag="-a${3/\//over}" ;; esac
  echo "d$1-$2$tag-lr$4-b$5-s$6"
}
# seconds per step of 32 sequences at each width under nice on the shared 2 cores (measured 2026-11-29)
estimate() {  # d batch steps
  local per; case "$1" in 64) per=0.21 ;; 128) per=0.42 ;; *) per=1.40 ;; esac
  awk -v p="$per" -v b="$2" -v s="$3" 'BEGIN { printf "%d", p * s * (0.15 + 0.85 * b / 32) + 16 * p / 3 }'
}
done_run() { [ -s "$1" ] && grep -q '"type":"summary"' "$1"; }

selected=() seen=" "
for line in "${plan[@]}"; do
  read -r study d opt param lr b seed <<< "$line"
  case ",$study_filter," in *",$study,"*) ;; *) continue ;; esac
  run_steps=$((steps * batch / b))
  name=$(name_of "$d" "$opt" "$param" "$lr" "$b" "$seed")
  case "$seen" in *" $name "*) continue ;; esac  # the same run in two studies runs once
  seen+="$name "
  selected+=("$study $d $opt $param $lr $b $seed $run_steps $name")
done
total=${#selected[@]}
todo=0 estimate_total=0
echo "claims: $total runs (studies: $study_filter; $steps steps of $batch × 64 bytes = $((steps * batch * 64)) tokens each) in $out"
printf '  %-4s %-6s %-42s %6s %8s  %s\n' "#" study run steps "est. s" status
i=0
for line in "${selected[@]}"; do
  read -r study d opt param lr b seed run_steps name <<< "$line"
  i=$((i + 1))
  est=$(estimate "$d" "$b" "$run_steps")
  if done_run "$out/$name.jsonl"; then status=done; else status=todo; todo=$((todo + 1)); estimate_total=$((estimate_total + est)); fi
  printf '  %-4s %-6s %-42s %6s %8s  %s\n' "$i" "$study" "$name" "$run_steps" "$est" "$status"
done
echo "claims: $todo to run, about $((estimate_total / 60)) min (estimate for this machine under load)"
[ "${CLAIMS_PLAN:-0}" = 1 ] && exit 0

start=$(date +%s)
i=0 ran=0
for line in "${selected[@]}"; do
  read -r study d opt param lr b seed run_steps name <<< "$line"
  i=$((i + 1))
  file="$out/$name.jsonl"
  if done_run "$file"; then continue; fi
  flags=(--optimizer "$opt" --lr "$lr")
  case "$opt" in
    dion) flags+=(--rank-fraction "$param") ;;
    dion2) flags+=(--fraction "$param") ;;
  esac
  eval_batches=$(( (16 * 32 + b - 1) / b ))
  [ "$smoke" = 1 ] && eval_batches=1
  printf 'claims: [%d/%d] %s (%s) ... ' "$i" "$total" "$name" "$study"
  t0=$(date +%s)
  rm -f "$file.part"
  if ! nice -n 10 "$binary" train "${flags[@]}" --d-model "$d" --steps "$run_steps" --batch-size "$b" --seed "$seed" \
      --eval-every 0 --eval-batches "$eval_batches" --log-every 100000 --metrics "$file.part" > "$out/$name.log" 2>&1; then
    echo "FAILED"
    echo "claims: run $name failed; its output ($out/$name.log):" >&2
    tail -20 "$out/$name.log" >&2
    exit 1
  fi
  if ! done_run "$file.part"; then
    echo "FAILED"
    echo "claims: run $name exited 0 but wrote no summary to $file.part" >&2
    exit 1
  fi
  mv "$file.part" "$file"
  ran=$((ran + 1))
  val=$(grep '"type":"summary"' "$file" | sed 's/.*"final_val_loss":\([^,}]*\).*/\1/')
  echo "val $val, $(( $(date +%s) - t0 )) s (elapsed $(( ($(date +%s) - start) / 60 )) min)"
done
echo "claims: ran $ran runs in $(( $(date +%s) - start )) s; $out holds $(ls "$out"/*.jsonl 2>/dev/null | wc -l) metrics files"
if [ "$smoke" = 1 ]; then
  python3 Scripts/claims.py --check --results "$out"
fi
