#!/usr/bin/env python3
"""Bar chart of `dion bench comm --json` results: bytes sent per rank per step for each optimizer,
shape and mesh (measured, with the prediction marked), as a PNG.

    python3 Scripts/plot-comm.py results/comm/*.json -o docs/img/comm-bytes.png
"""
import argparse
import json

from pyplot_setup import plt  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("files", nargs="+")
parser.add_argument("-o", "--output", default="comm-bytes.png")
args = parser.parse_args()

records = []
for path in args.files:
    with open(path) as f:
        records += json.load(f)
meshes = []
for r in records:
    m = r["mesh"]
    key = f"dp={m['dp']},fsdp={m['fsdp']}"
    r["mesh_key"] = key
    if key not in meshes:
        meshes.append(key)
shapes = sorted({r["shape"] for r in records})
labels = []
for r in records:
    label = r["optimizer"] + (f" ρ={r['rank_fraction']:g}" if r["optimizer"] == "dion" else "")
    r["label"] = label
    if label not in labels:
        labels.append(label)

fig, axes = plt.subplots(1, len(meshes), figsize=(4 * len(meshes), 4), sharey=True, squeeze=False)
width = 0.8 / len(labels)
for ax, mesh in zip(axes[0], meshes):
    for i, label in enumerate(labels):
        xs, ys, ps = [], [], []
        for j, shape in enumerate(shapes):
            match = [r for r in records if r["mesh_key"] == mesh and r["label"] == label and r["shape"] == shape]
            if match:
                xs.append(j + i * width)
                ys.append(max(match[0]["bytes_sent_per_rank"], 1) / 1e6)
                ps.append(max(match[0]["predicted_bytes_sent_per_rank"], 1) / 1e6)
        ax.bar(xs, ys, width, label=label)
        ax.scatter(xs, ps, marker="_", color="black", s=60, zorder=3)
    ax.set_title(mesh)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(shapes))])
    ax.set_xticklabels(shapes, rotation=20)
    ax.set_yscale("log")
axes[0][0].set_ylabel("MB sent per rank per step")
fig.text(0.5, 0.01, "bars: measured by the ledger; black dashes: predicted by the formulas", ha="center", fontsize=8)
axes[0][-1].legend(fontsize=8)
fig.suptitle("Optimizer-step communication per rank (dion bench comm)")
fig.tight_layout()
fig.savefig(args.output, dpi=110)
print(f"wrote {args.output}")
