#!/usr/bin/env python3
"""The overlap table (docs/cluster.md, "Overlap") from Scripts/overlap-bench.sh's metrics files.

Per (link rate, mesh, optimizer), medians over steps 6..N of every repeat:
- C: the step with the links unshaped and `--overlap off` (the bandwidth out of the way);
- C + W: the step on the shaped links with `--overlap off`, so W is what the bandwidth adds when
  nothing overlaps;
- the step timer's own split of that shaped `--overlap off` step: compute and communication (time
  inside collectives; with overlap off all of it exposed), which sum to the step;
- for each overlapped variant: its step, divided by max(C, W) and by max(compute, communication)
  (issue #17's goal: ≤ 1.15 where the two are about equal) and by C + W (1 = no gain), its exposed
  communication (time blocked in MPI) and whether every run moved the same bytes per axis;
- the wire time: the bytes a host's link carries each way per step (the ledger's bytes on the axis that
  crosses the hosts, the mesh's first, times the ranks per host) at the link's rate, the floor no
  overlap can go below; the step divided by max(C, wire);
- each repeat's own median step of the variant and, over the repeats, the range of step ÷ max(C, wire):
  the run-to-run spread, which on 4 ranks sharing 2 cores can exceed the differences being measured.

C counts what the transports cost on unshaped links (TCP through the kernel on 2 shared cores, ≈ 40 ms
of a 160 ms step) as compute, and W therefore leaves it out of the communication; the step timer
counts it as communication.

    python3 Scripts/overlap-report.py results/overlap
"""
import glob
import math
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


def rate_bits(link):
    """tc notation (250mbit, 1gbit) in bit/s."""
    for suffix, scale in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)):
        if link.endswith(suffix):
            return float(link[:-len(suffix)]) * scale
    return float(link)


def wire_ms(records, mesh, link):
    """Milliseconds the host link needs per step for the mesh's first axis (it crosses the hosts)."""
    sizes = [int(part.split("=")[1]) for part in mesh.split(",")]
    axis = mesh.split(",")[0].split("=")[0]
    per_host = math.prod(sizes) // 2
    sent = statistics.median(r["bytes_by_axis"].get(axis, 0) for r in records)
    return 1e3 * 8 * sent * per_host / rate_bits(link)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "results/overlap"
    runs = defaultdict(list)
    repeats = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(directory, "train-*.jsonl"))):
        head, _repeat = os.path.basename(path)[:-len(".jsonl")].rsplit("-", 1)
        _, link, mesh, optimizer, variant = head.split("-", 4)
        parts = mesh.split("_")
        mesh = ",".join(f"{parts[i]}={parts[i + 1]}" for i in range(0, len(parts), 2))
        records = steps(path)
        runs[(link, mesh, optimizer, variant)] += records
        if records:
            repeats[(link, mesh, optimizer, variant)].append(median_ms(records, "step_seconds"))
    print("| link | mesh | optimizer | C: free links, off (ms) | C + W: shaped, off (ms) | W (ms) "
          "| shaped, off: compute + comm (ms) | wire (ms) | variant | step (ms) | ÷ max(C, W) "
          "| ÷ max(compute, comm) | ÷ max(C, wire) | ÷ (C + W) | exposed comm (ms) | bytes/step equal "
          "| repeats (ms) | ÷ max(C, wire), repeats |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (link, mesh, optimizer, variant), records in sorted(runs.items()):
        if link == "none" or variant == "off":
            continue
        free, off = runs.get(("none", mesh, optimizer, "off")), runs.get((link, mesh, optimizer, "off"))
        if not free or not off or not records:
            continue
        c, total = median_ms(free, "step_seconds"), median_ms(off, "step_seconds")
        w = max(total - c, 0)
        step = median_ms(records, "step_seconds")
        compute, comm = median_ms(off, "compute_seconds"), median_ms(off, "comm_seconds")
        wire = wire_ms(records, mesh, link)
        same = {json.dumps(r["bytes_by_axis"], sort_keys=True) for r in free + off + records}
        print(f"| {link} | {mesh} | {optimizer} | {c:.0f} | {total:.0f} | {w:.0f} | {compute:.0f} + {comm:.0f} "
              f"| {wire:.0f} | {variant} | {step:.0f} | {step / max(c, w):.2f} | {step / max(compute, comm):.2f} "
              f"| {step / max(c, wire):.2f} "
              f"| {step / total:.2f} | {median_ms(records, 'exposed_comm_seconds'):.0f} "
              f"| {'yes' if len(same) == 1 else 'NO'} "
              f"| {' / '.join(f'{x:.0f}' for x in repeats[(link, mesh, optimizer, variant)])} "
              f"| {min(repeats[(link, mesh, optimizer, variant)]) / max(c, wire):.2f}–"
              f"{max(repeats[(link, mesh, optimizer, variant)]) / max(c, wire):.2f} |")


if __name__ == "__main__":
    main()
