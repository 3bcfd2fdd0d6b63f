#!/usr/bin/env python3
"""Markdown table of `dion train --metrics` runs for docs/results.md: final validation loss, steps
and wall time to a target loss, tokens/s, MB per step, and how many fewer steps the 4× batch needs.

The target is the highest smoothed (10-step mean) train loss that every run reaches, so each run
has a "steps to target"; it is printed with the table.

    python3 Scripts/compare-table.py results/compare/*.jsonl
"""
import json
import sys


def load(path):
    run, steps, evals, summary = None, [], [], None
    for line in open(path):
        r = json.loads(line)
        kind = r.get("type")
        if kind == "run":
            run = r
        elif kind == "step" and not r["skipped"]:
            steps.append(r)
        elif kind == "eval":
            evals.append(r)
        elif kind == "summary":
            summary = r
    return run, steps, evals, summary


def smoothed(steps, width=10):
    out, window = [], []
    for s in steps:
        if s["train_loss"] is None:  # a skipped step: null, named in "non_finite"
            continue
        window.append(s["train_loss"])
        window = window[-width:]
        out.append((s["step"], s["elapsed_seconds"], sum(window) / len(window)))
    return out


def name(run):
    c = run["configuration"]
    extra = f" ρ={c['rankFraction']:g}" if c["optimizer"] == "dion" else ""
    if c["optimizer"] in ("dion2", "nordion2"):
        extra = f" α={c['fraction']:g}"
    return c["optimizer"] + extra


runs = [load(p) for p in sys.argv[1:]]
curves = [smoothed(r[1]) for r in runs]
target = max(min(loss for _, _, loss in curve) for curve in curves)
target = float(f"{target + 0.005:.2f}")
rows, reached = [], {}
for (run, steps, evals, summary), curve in zip(runs, curves):
    hit = next(((step, t) for step, t, loss in curve if loss <= target), None)
    c = run["configuration"]
    batch = c["batchSize"]
    reached[(name(run), batch)] = hit[0] if hit else None
    timed = steps[5:] or steps
    tokens = sum(c["batchSize"] * c["model"]["sequenceLength"] for _ in timed)
    seconds = sum(s["step_seconds"] for s in timed)
    mb = sum(s["comm_bytes"] for s in steps) / len(steps) / 1e6
    rows.append((name(run), batch, summary["final_val_loss"], hit, tokens / seconds, mb,
                 sum(s["comm_seconds"] for s in timed) / max(sum(s["step_seconds"] for s in timed), 1e-9)))
print(f"Target loss: {target:.2f} (smoothed train loss every run reaches).\n")
print("| optimizer | batch | final val loss | steps to target | time to target (s) | tokens/s | MB sent/rank/step | comm share |")
print("|---|---|---|---|---|---|---|---|")
for n, batch, val, hit, tps, mb, share in rows:
    print(f"| {n} | {batch} | {val:.4f} | {hit[0] if hit else '-'} | {hit[1]:.1f} | {tps:,.0f} | {mb:.3f} | {share:.0%} |"
          if hit else f"| {n} | {batch} | {val:.4f} | - | - | {tps:,.0f} | {mb:.3f} | {share:.0%} |")
batches = sorted({b for _, b in reached})
if len(batches) == 2:
    small, large = batches
    print(f"\nSteps to target at batch {small} ÷ steps at batch {large} (4 = perfect data-parallel scaling, 1 = the "
          "larger batch buys nothing):\n")
    print("| optimizer | steps (small) | steps (large) | ratio |")
    print("|---|---|---|---|")
    for n in dict.fromkeys(n for n, _ in reached):
        a, b = reached.get((n, small)), reached.get((n, large))
        ratio = f"{a / b:.2f}" if a and b else "-"
        print(f"| {n} | {a or '-'} | {b or '-'} | {ratio} |")
