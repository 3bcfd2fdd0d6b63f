#!/usr/bin/env python3
"""Table of `dion bench collectives --in-process-baseline` runs (JSON files given as arguments).

Per (ranks, op, size): the median over runs of the per-run ratio raw/MPIShim and of the extra
microseconds, with the range over runs. Targets: ratio >= 0.95 at >= 1 MiB, <= 2 us extra at 4 KiB.
"""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
for path in sys.argv[1:]:
    with open(path) as f:
        for r in json.load(f):
            runs[(r["ranks"], r["op"], int(r["bytes"]))].append(r)


def human(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


print("| ranks | op | size | raw µs (median) | MPIShim µs (median) | raw/MPIShim median [range] | extra µs median | target |")
print("|---|---|---|---|---|---|---|---|")
misses = 0
for key in sorted(runs):
    ranks, op, size = key
    rs = runs[key]
    ratios = [r["ratio"] for r in rs]
    extras = [(r["mpishim_seconds"] - r["raw_seconds"]) * 1e6 for r in rs]
    ratio, extra = statistics.median(ratios), statistics.median(extras)
    target = ""
    if size >= 1 << 20:
        target = "ok" if ratio >= 0.95 else "MISS"
    elif size <= 4096:
        target = "ok" if extra <= 2 else "MISS"
    misses += target == "MISS"
    raw = statistics.median(r["raw_seconds"] for r in rs) * 1e6
    wrapped = statistics.median(r["mpishim_seconds"] for r in rs) * 1e6
    print(f"| {ranks} | {op} | {human(size)} | {raw:.2f} | {wrapped:.2f} | {ratio:.3f} [{min(ratios):.3f}–{max(ratios):.3f}] "
          f"| {extra:+.2f} | {target} |")
print(f"\n{len(next(iter(runs.values()))) if runs else 0} runs per point; {misses} target miss(es).")
