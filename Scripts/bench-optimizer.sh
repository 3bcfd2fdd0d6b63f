#!/usr/bin/env bash
# The single-process optimizer benchmark of docs/benchmarks.md: Dion at ρ = 1, 1/4, 1/16, Muon and
# AdamW on 1024², 2048², 4096×1024 and 1024×4096, with 1 and 2 BLAS threads; one JSON record per
# run in results/optimizer.jsonl and a Markdown table on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/setup.sh >/dev/null
swift build -c release --product dion 2>&1 | tail -1
out="${OUT:-results/optimizer.jsonl}"
mkdir -p "$(dirname "$out")"
: > "$out"
for shape in 1024x1024 2048x2048 4096x1024 1024x4096; do
  for threads in 1 2; do
    for rho in 1 0.25 0.0625; do
      .build/release/dion bench optimizer --optimizer dion --shape "$shape" --rank-fraction "$rho" --threads "$threads" --json "$out"
    done
    .build/release/dion bench optimizer --optimizer muon --shape "$shape" --threads "$threads" --json "$out"
    .build/release/dion bench optimizer --optimizer adamw --shape "$shape" --threads "$threads" --json "$out"
  done
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| optimizer | shape | ρ | rank | threads | median s | min s | max s | GFLOP/s | sgemm peak/thread | of GEMM bound |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    rho = r["rank_fraction"] if r["optimizer"] == "dion" else "—"
    rank = r["rank"] if r["optimizer"] == "dion" else "—"
    print(f"| {r['optimizer']} | {r['shape']} | {rho} | {rank} | {r['threads']} | {r['median_s']:.4f} | {r['min_s']:.4f} | "
          f"{r['max_s']:.4f} | {r['gflops']:.1f} | {r['sgemm_peak_gflops']:.1f} | {100 * r['fraction_of_gemm_bound']:.0f}% |")
PY
