#!/usr/bin/env python3
"""Ratio table of `dion bench collectives` (Swift, MPIShim) against the raw C MPI benchmark.

Reads the JSON arrays both write (records with op, ranks, bytes, seconds, busbw_GBps and
implementation "swift" or "c"), keeps the best time per (implementation, op, ranks, bytes) over
all files (rounds), and prints a Markdown table: bus bandwidth of each, their ratio, and the
extra microseconds per call. Targets: ratio >= 0.95 at >= 1 MiB, <= 2 us extra at 4 KiB.
"""
import json
import sys
from collections import defaultdict

best = {}
for path in sys.argv[1:]:
    with open(path) as f:
        for r in json.load(f):
            key = (r.get("implementation", "swift"), r["op"], r["ranks"], int(r["bytes"]))
            if key not in best or r["seconds"] < best[key]["seconds"]:
                best[key] = r

rows = defaultdict(dict)
for (impl, op, ranks, size), r in best.items():
    rows[(ranks, op, size)][impl] = r


def human(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


print("| ranks | op | size | C busbw GB/s | Swift busbw GB/s | Swift/C | C µs | Swift µs | extra µs | target |")
print("|---|---|---|---|---|---|---|---|---|---|")
misses = 0
for (ranks, op, size) in sorted(rows, key=lambda k: (k[0], k[1], k[2])):
    pair = rows[(ranks, op, size)]
    if "c" not in pair or "swift" not in pair:
        continue
    c, s = pair["c"], pair["swift"]
    ratio = c["seconds"] / s["seconds"]
    extra = (s["seconds"] - c["seconds"]) * 1e6
    target = ""
    if size >= 1 << 20:
        target = "ok" if ratio >= 0.95 else "MISS (< 0.95)"
    elif size <= 4096:
        target = "ok" if extra <= 2 else "MISS (> 2 µs)"
    misses += target.startswith("MISS")
    print(f"| {ranks} | {op} | {human(size)} | {c['busbw_GBps']:.3f} | {s['busbw_GBps']:.3f} | {ratio:.3f} | "
          f"{c['seconds'] * 1e6:.2f} | {s['seconds'] * 1e6:.2f} | {extra:+.2f} | {target} |")
print(f"\n{misses} target miss(es).")
