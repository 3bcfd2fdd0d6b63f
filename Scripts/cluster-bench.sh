#!/usr/bin/env bash
# Measurements on the emulated cluster (docs/cluster.md): collectives across 2 and 4 hosts and
# `dion train` across 2 hosts × 2 ranks, at three link rates, each beside the α–β model's prediction
# for the same settings; kernel byte counters of the links against the ledger. Needs root.
#
#   bash Scripts/cluster-bench.sh [OUT_DIR]          (default results/cluster; ≈ 15 min on 2 cores)
#   python3 Scripts/cluster-report.py OUT_DIR        tables (markdown) and charts into docs/img
#
# Environment: RATES (default "10gbit 1gbit 100mbit"), STEPS (default 20), LONG_STEPS (default 200,
# the shared-memory runs that give each optimizer's steps to a target loss; the losses on the cluster
# equal those of shared memory bit for bit, tested in ClusterTests).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results/cluster}"
mkdir -p "$out"
bash Scripts/setup.sh >/dev/null
source Scripts/mpi-env.sh
swift build -c release --product dion 2>&1 | tail -1
bash Scripts/fetch-data.sh >/dev/null
trap 'bash Scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
D=.build/release/dion
rates="${RATES:-10gbit 1gbit 100mbit}"
steps="${STEPS:-20}"
optimizers=("dion:--optimizer dion --rank-fraction 1/4" "dion16:--optimizer dion --rank-fraction 1/16"
            "muon:--optimizer muon" "adamw:--optimizer adamw --lr 0.004")

counters() { bash Scripts/cluster.sh counters | awk '{s += $2} END {print s}'; }

echo "== collectives across hosts (1 rank per host)"
for rate in $rates; do
  for hosts in 2 4; do
    file="$out/collectives-$rate-$hosts.json"
    [ -s "$file" ] && continue
    bash Scripts/cluster.sh up --hosts "$hosts" --slots 1 --bandwidth "$rate" >/dev/null
    "$(bash Scripts/cluster.sh launcher)" -np "$hosts" $D bench collectives --max-bytes 16777216 \
      --seconds-per-point 0.1 --repeats 2 --simulate-network "emulated:$rate:1" --json "$file" | tail -3
  done
done

echo "== dion train across 2 hosts × 2 ranks (dp or fsdp across hosts)"
for rate in $rates; do
  bash Scripts/cluster.sh up --hosts 2 --slots 2 --bandwidth "$rate" >/dev/null
  launcher=$(bash Scripts/cluster.sh launcher)
  for mesh in dp=2,tp=2 fsdp=2,tp=2; do
    for entry in "${optimizers[@]}"; do
      name="${entry%%:*}"; flags="${entry#*:}"
      file="$out/train-$rate-${mesh//[=,]/_}-$name.jsonl"
      [ -s "$file" ] && continue
      before=$(counters)
      # shellcheck disable=SC2086
      "$launcher" -np 4 $D train --mesh "$mesh" $flags --steps "$steps" --log-every "$steps" --eval-every 0 \
        --simulate-network "emulated:$rate:2" --metrics "$file.tmp" | grep "^step" || true
      after=$(counters)
      echo "{\"type\":\"kernel\",\"sent_bytes\":$((after - before)),\"rate\":\"$rate\",\"mesh\":\"$mesh\",\"optimizer\":\"$name\"}" >> "$file.tmp"
      mv "$file.tmp" "$file"
    done
  done
done
bash Scripts/cluster.sh down >/dev/null

echo "== steps to a target loss, on shared memory (same mesh, same losses)"
for entry in "${optimizers[@]}"; do
  name="${entry%%:*}"; flags="${entry#*:}"
  file="$out/long-$name.jsonl"
  [ -s "$file" ] && continue
  # shellcheck disable=SC2086
  mpirun -np 4 $D train --mesh dp=2,tp=2 $flags --steps "${LONG_STEPS:-200}" --log-every 50 --eval-every 0 \
    --metrics "$file.tmp" | grep "^step" || true
  mv "$file.tmp" "$file"
done
echo "== done: python3 Scripts/cluster-report.py $out"
