#!/usr/bin/env python3
"""Charts from one or several `dion train --metrics` files (JSON Lines), as PNGs:

  <prefix>-loss.png   train loss (smoothed) and validation loss vs step and vs wall time, one colour per run
  <prefix>-bytes.png  bytes sent per rank per step by axis, one bar per run

    python3 Scripts/plot.py results/compare/*.jsonl -o docs/img/results
    python3 Scripts/plot.py a.jsonl b.jsonl --labels "dion 1/4" "adamw" -o /tmp/runs

matplotlib is installed on first use (pip, or apt-get python3-matplotlib on Debian).
"""
import argparse
import json

from pyplot_setup import plt  # noqa: E402


def load(path):
    run, steps, evals, summary = None, [], [], None
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "run":
                run = record
            elif kind == "step":
                steps.append(record)
            elif kind == "eval":
                evals.append(record)
            elif kind == "summary":
                summary = record
    return run, steps, evals, summary


def label_of(run, path):
    if run is None:
        return path
    c = run["configuration"]
    name = c["optimizer"]
    if name == "dion":
        name += f" ρ={c['rankFraction']:g}"
    elif name in ("dion2", "nordion2"):
        name += f" α={c['fraction']:g}"
    return f"{name}, batch {c['batchSize']}"


def smooth(values, width=10):
    out, window = [], []
    for v in values:
        window.append(v)
        if len(window) > width:
            window.pop(0)
        out.append(sum(window) / len(window))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("-o", "--output", default="train", help="output prefix")
    args = parser.parse_args()
    runs = [load(p) for p in args.files]
    labels = args.labels or [label_of(r[0], p) for r, p in zip(runs, args.files)]

    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(13, 4.8))
    for (run, steps, evals, _), label in zip(runs, labels):
        ok = [s for s in steps if not s["skipped"]]
        line, = by_step.plot([s["step"] for s in ok], smooth([s["train_loss"] for s in ok]), lw=1.2, label=label)
        by_time.plot([s["elapsed_seconds"] for s in ok], smooth([s["train_loss"] for s in ok]), lw=1.2,
                     color=line.get_color(), label=label)
        evals = [e for e in evals if e["val_loss"] is not None]  # null: non-finite, named in "non_finite"
        if evals:
            by_step.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o", ms=4, color=line.get_color())
            by_time.plot([e["elapsed_seconds"] for e in evals], [e["val_loss"] for e in evals], "o", ms=4,
                         color=line.get_color())
    for ax, xlabel in ((by_step, "step"), (by_time, "wall time (s)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss (nats/byte)")
        ax.grid(alpha=0.3)
    fig.suptitle("lines: train loss (10-step mean); dots: validation loss", fontsize=10)
    by_step.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(f"{args.output}-loss.png", dpi=120)

    axes = sorted({a for _, steps, _, _ in runs for s in steps for a in s["bytes_by_axis"]})
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(runs) + 2), 4.5))
    bottoms = [0.0] * len(runs)
    for axis in axes:
        values = []
        for _, steps, _, _ in runs:
            counted = [s["bytes_by_axis"].get(axis, 0) for s in steps]
            values.append(sum(counted) / max(len(counted), 1) / 1e6)
        ax.bar(range(len(runs)), values, bottom=bottoms, label=axis)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("MB sent per rank per step (rank 0)")
    ax.legend(title="axis")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(f"{args.output}-bytes.png", dpi=120)
    print(f"wrote {args.output}-loss.png and {args.output}-bytes.png")


if __name__ == "__main__":
    main()
