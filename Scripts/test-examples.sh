#!/usr/bin/env bash
# Builds the examples package (Examples/, which depends on dion-swift by relative path) from a clean
# .build and runs every example:
#   - the build must be free of compiler warnings in the examples' own sources;
#   - mlp-dion under mpirun -np 1, 2 and 4 (meshes dp=1,fsdp=1 / dp=1,fsdp=2 / dp=2,fsdp=2) must print
#     the same loss at every step within 1e-5 relative, with the number of steps asserted;
#   - collectives under mpirun -np 2 must check its results and write a Chrome trace with both ranks;
#   - simulate-my-model must price all four optimizers.
# Exits non-zero on any failure. Called by Scripts/test.sh; runs on its own too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source Scripts/mpi-env.sh
examples="$root/Examples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps=20

echo "== examples: clean build of Examples/ (depends on dion-swift by path)"
rm -rf "$examples/.build"
start=$(date +%s)
if ! (cd "$examples" && swift build 2>&1) > "$work/build.log"; then
  cat "$work/build.log"
  echo "FAIL: the examples do not build"
  exit 1
fi
echo "built in $(( $(date +%s) - start )) s"
if grep -F "$examples/Sources/" "$work/build.log" | grep -E ":[0-9]+:[0-9]+: warning:"; then
  echo "FAIL: compiler warnings in the examples' sources (above)"
  exit 1
fi
echo "no compiler warnings in Examples/Sources ($(grep -c ': warning:' "$work/build.log" || true) in all)"
bin="$examples/.build/debug"

echo "== examples: mlp-dion on 1, 2 and 4 ranks, the same losses"
for np in 1 2 4; do
  timeout 300 mpirun -np "$np" "$bin/mlp-dion" --steps "$steps" > "$work/mlp-$np.txt"
  grep -E '^(mlp-dion|step +[0-9]+/)' "$work/mlp-$np.txt" | sed -n '1p;$p'
done
python3 - "$steps" "$work"/mlp-1.txt "$work"/mlp-2.txt "$work"/mlp-4.txt <<'PY'
import re, sys
steps, files = int(sys.argv[1]), sys.argv[2:]
curves = []
for path in files:
    losses = [float(m.group(1)) for m in re.finditer(r"^step +\d+/\d+ \| loss (\S+)$", open(path).read(), re.M)]
    if len(losses) != steps:
        sys.exit(f"FAIL: {path}: {len(losses)} loss lines, expected {steps}")
    curves.append(losses)
worst = 0.0
for k in range(steps):
    for curve, path in zip(curves[1:], files[1:]):
        a, b = curves[0][k], curve[k]
        rel = abs(a - b) / max(abs(a), 1e-30)
        worst = max(worst, rel)
        if not rel <= 1e-5:
            sys.exit(f"FAIL: step {k + 1}: loss {b!r} ({path}) differs from the 1-rank {a!r} by {rel:.2e} (> 1e-5)")
if not curves[0][-1] < curves[0][0]:
    sys.exit(f"FAIL: the loss did not decrease ({curves[0][0]} -> {curves[0][-1]})")
print(f"PASS: {steps} steps x 3 rank counts compared, largest relative difference {worst:.2e} (<= 1e-5); "
      f"loss {curves[0][0]:.4f} -> {curves[0][-1]:.4f}")
PY

echo "== examples: collectives on 2 ranks, ledger summary and Chrome trace"
timeout 120 mpirun -np 2 "$bin/collectives" --trace "$work/collectives.trace.json" > "$work/collectives.txt"
cat "$work/collectives.txt"
grep -q "every collective returned the expected values" "$work/collectives.txt"
python3 - "$work/collectives.trace.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
ranks = sorted({e["pid"] for e in events})
if ranks != [0, 1] or len(events) < 8:
    sys.exit(f"FAIL: the trace has {len(events)} events from ranks {ranks}, expected >= 8 from ranks 0 and 1")
print(f"PASS: trace with {len(events)} events from ranks {ranks}")
PY

echo "== examples: simulate-my-model"
"$bin/simulate-my-model" > "$work/simulate.txt"
cat "$work/simulate.txt"
for optimizer in "dion ρ=1/4" "dion ρ=1/16" "muon" "adamw"; do
  grep -q "^$optimizer " "$work/simulate.txt" || { echo "FAIL: no row for $optimizer"; exit 1; }
done
echo "== examples: all passed"
