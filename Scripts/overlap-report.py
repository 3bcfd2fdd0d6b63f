#!/usr/bin/env python3
"""The overlap table (docs/cluster.md, "Overlap") from Scripts/overlap-bench.sh's metrics files.

Per (link rate, mesh, optimizer), medians over steps 6..N of every repeat:
- C: the step with the links unshaped and `--overlap off` (the bandwidth out of the way);
- C + W: the step on the shaped links with `--overlap off`, so W is what the bandwidth adds when
  nothing overlaps;
- for each overlapped variant: its step, divided by max(C, W) (issue #17's goal: ≤ 1.15) and by
  C + W (1 = no gain), its exposed communication (time blocked in MPI) and whether every run moved
  the same bytes per axis.

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


def median_ms(records, key):
    return 1e3 * statistics.median(r[key] for r in records)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "results/overlap"
    runs = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(directory, "train-*.jsonl"))):
        head, _repeat = os.path.basename(path)[:-len(".jsonl")].rsplit("-", 1)
        _, link, mesh, optimizer, variant = head.split("-", 4)
        parts = mesh.split("_")
        mesh = ",".join(f"{parts[i]}={parts[i + 1]}" for i in range(0, len(parts), 2))
        runs[(link, mesh, optimizer, variant)] += steps(path)
    print("| link | mesh | optimizer | C: free links, off (ms) | C + W: shaped, off (ms) | W (ms) | variant "
          "| step (ms) | ÷ max(C, W) | ÷ (C + W) | exposed comm (ms) | bytes/step equal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (link, mesh, optimizer, variant), records in sorted(runs.items()):
        if link == "none" or variant == "off":
            continue
        free, off = runs.get(("none", mesh, optimizer, "off")), runs.get((link, mesh, optimizer, "off"))
        if not free or not off or not records:
            continue
        c, total = median_ms(free, "step_seconds"), median_ms(off, "step_seconds")
        w = max(total - c, 0)
        step = median_ms(records, "step_seconds")
        same = {json.dumps(r["bytes_by_axis"], sort_keys=True) for r in free + off + records}
        print(f"| {link} | {mesh} | {optimizer} | {c:.0f} | {total:.0f} | {w:.0f} | {variant} | {step:.0f} "
              f"| {step / max(c, w):.2f} | {step / total:.2f} | {median_ms(records, 'exposed_comm_seconds'):.0f} "
              f"| {'yes' if len(same) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
