#!/usr/bin/env python3
"""The overlap table (docs/cluster.md, "Overlap") from Scripts/overlap-bench.sh's metrics files.

Per (rate, mesh, optimizer): medians over steps 6..N of every repeat of the step time, the total
communication (collectives' durations summed), the exposed communication (time blocked in MPI) and
compute (step − exposed), with --overlap off and on. With overlap off every collective is waited for
at once, so its exposed communication is the communication time and its compute the compute time:
the bound is max(compute_off, comm_off), and the ratio is step_on / bound (goal ≤ 1.15).

    python3 Scripts/overlap-report.py results/overlap
"""
import glob
import json
import os
import statistics
import sys
from collections import defaultdict


def steps(path):
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if r.get("type") == "step" and r["step"] > 5 and not r.get("skipped")]


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "results/overlap"
    runs = defaultdict(lambda: defaultdict(list))
    for path in sorted(glob.glob(os.path.join(directory, "train-*.jsonl"))):
        _, rate, mesh, optimizer, overlap, _repeat = os.path.basename(path)[:-len(".jsonl")].split("-")
        parts = mesh.split("_")
        mesh = ",".join(f"{parts[i]}={parts[i + 1]}" for i in range(0, len(parts), 2))
        runs[(rate, mesh, optimizer)][overlap] += steps(path)
    print("| link | mesh | optimizer | step off ms | step on ms | compute off ms | comm off ms | max(compute, comm) ms "
          "| step on ÷ max | exposed comm on ms | total comm on ms | bytes/step off = on |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (rate, mesh, optimizer), by in sorted(runs.items()):
        off, on = by.get("off", []), by.get("on", [])
        if not off or not on:
            continue
        med = lambda rs, key: 1e3 * statistics.median(r[key] for r in rs)
        compute_off = statistics.median(1e3 * (r["step_seconds"] - r["exposed_comm_seconds"]) for r in off)
        comm_off = med(off, "exposed_comm_seconds")
        bound = max(compute_off, comm_off)
        same = {json.dumps(r["bytes_by_axis"], sort_keys=True) for r in off + on}
        print(f"| {rate} | {mesh} | {optimizer} | {med(off, 'step_seconds'):.0f} | {med(on, 'step_seconds'):.0f} "
              f"| {compute_off:.0f} | {comm_off:.0f} | {bound:.0f} | {med(on, 'step_seconds') / bound:.2f} "
              f"| {med(on, 'exposed_comm_seconds'):.0f} | {med(on, 'comm_seconds'):.0f} "
              f"| {'yes' if len(same) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
