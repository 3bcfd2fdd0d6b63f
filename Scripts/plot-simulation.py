#!/usr/bin/env python3
"""Chart of `dion simulate --json` results: communication and compute seconds per optimizer step for
each optimizer, one panel per (model, network) file, as a PNG. --schedule picks the half of each
record to draw: "reference" (the Dion reference's schedule, the chart of docs/simulation.md) or
"implemented" (this program's step plans).

    python3 Scripts/plot-simulation.py results/sim/*.json -o docs/img/simulation.png
"""
import argparse
import json
import os

from pyplot_setup import plt  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("files", nargs="+")
parser.add_argument("-o", "--output", default="simulation.png")
parser.add_argument("--schedule", choices=["reference", "implemented"], default="reference")
args = parser.parse_args()

runs = []
for path in args.files:
    with open(path) as f:
        runs.append(json.load(f))
fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.8), squeeze=False)
for ax, run in zip(axes[0], runs):
    labels, comm, compute = [], [], []
    for r in run["records"]:
        rho = r.get("rank_fraction")
        labels.append(f"dion 1/{round(1 / rho)}" if r["optimizer"] == "dion" else r["optimizer"])
        comm.append(r[args.schedule]["comm_seconds"])
        compute.append(r[args.schedule]["compute_seconds"])
    xs = range(len(labels))
    ax.bar(xs, comm, label="communication")
    ax.bar(xs, compute, bottom=comm, label="compute")
    m = run["mesh"]
    ax.set_title(f"{run.get('model', '')}\n{run.get('network', '')}\ndp={m['dp']},fsdp={m['fsdp']},tp={m['tp']}", fontsize=8)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=45, fontsize=7)
axes[0][0].set_ylabel("seconds per optimizer step")
axes[0][-1].legend(fontsize=7)
fig.tight_layout()
fig.savefig(args.output, dpi=110)
print(f"wrote {args.output}")
