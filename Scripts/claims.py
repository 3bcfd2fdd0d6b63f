#!/usr/bin/env python3
"""Tables and charts of the claims study (Scripts/claims.sh) from its metrics (results/claims/*.jsonl):

  rank   final validation loss minus Muon's at the same width, for Dion ρ and Dion2 α at d = 64, 128, 256
  lr     final validation loss vs learning rate, one curve per width, for AdamW, Muon and Dion ρ = 1/4
  batch  at d = 128 and a fixed token budget: final loss, steps, tokens and wall time to target losses per
         batch, and the critical batch size

Writes docs/img/claims-{rank,lr,batch}.png and the generated parts of docs/claims.md (between the
markers <!-- claims:NAME --> and <!-- /claims:NAME -->; the prose around them is kept).

    python3 Scripts/claims.py                       # results/claims → docs/claims.md, docs/img/claims-*.png
    python3 Scripts/claims.py --print               # the generated sections on stdout only
    python3 Scripts/claims.py --check --results DIR # every metrics file complete and finite (smoke test), no charts

matplotlib is installed on first use (Scripts/pyplot_setup.py); --check and --print need no matplotlib.
"""
import argparse
import glob
import json
import math
import os
import re
import sys
from collections import defaultdict
from fractions import Fraction

WIDTHS = (64, 128, 256)
SMOOTH_TOKENS = 8192  # the batch study's train loss: mean over the last this many tokens


def load(path):
    run, steps, summary = None, [], None
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            kind = r.get("type")
            if kind == "run":
                run = r
            elif kind == "step":
                steps.append(r)
            elif kind == "summary":
                summary = r
    if run is None or summary is None:
        return None
    c = run["configuration"]
    opt = c["optimizer"]
    param = c["rankFraction"] if opt == "dion" else c["fraction"] if opt in ("dion2", "nordion2") else None
    return {
        "path": path, "optimizer": opt, "param": param, "lr": round(c["learningRate"], 6), "batch": c["batchSize"],
        "seed": c["seed"], "d": c["model"]["modelDimension"], "seq": c["model"]["sequenceLength"],
        "steps": summary["steps"], "val": summary["final_val_loss"], "train": summary["final_train_loss"],
        "seconds": summary["seconds"], "tokens": summary["tokens"], "step_records": steps,
    }


def frac(x):
    f = Fraction(x).limit_denominator(64)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def label(r):
    if r["optimizer"] == "dion":
        return f"Dion ρ={frac(r['param'])}"
    if r["optimizer"] == "dion2":
        return f"Dion2 α={frac(r['param'])}"
    return {"muon": "Muon", "adamw": "AdamW"}.get(r["optimizer"], r["optimizer"])


def key(r):
    return (r["d"], r["optimizer"], r["param"], r["lr"], r["batch"])


def fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def signed(x, digits=3):
    return "–" if x is None else f"{x:+.{digits}f}"


class Runs:
    def __init__(self, runs):
        self.by = defaultdict(dict)  # key → {seed: run}
        for r in runs:
            self.by[key(r)][r["seed"]] = r

    def val(self, d, opt, param, lr, batch=32, seed=0):
        r = self.by.get((d, opt, param, lr, batch), {}).get(seed)
        return None if r is None else r["val"]

    def run(self, d, opt, param, lr, batch=32, seed=0):
        return self.by.get((d, opt, param, lr, batch), {}).get(seed)

    def seed_pairs(self):
        """(key, [vals by seed]) for every configuration run with more than one seed."""
        return [(k, [s[i]["val"] for i in sorted(s)]) for k, s in self.by.items() if len(s) > 1]


DEFAULT_LR = {"adamw": 0.004, "muon": 0.02, "dion": 0.02, "dion2": 0.02}


# --------------------------------------------------------------------------------------------- rank

def rank_study(runs, plt, img):
    rhos = [1, 0.5, 0.25, 0.125, 0.0625]
    alphas = [0.5, 0.25, 0.125]
    configs = [("dion", p) for p in rhos] + [("dion2", a) for a in alphas]
    gaps = {}  # (opt, p, d, seed) → gap
    for d in WIDTHS:
        for seed in (0, 1):
            muon = runs.val(d, "muon", None, 0.02, seed=seed)
            for opt, p in configs:
                v = runs.val(d, opt, p, 0.02, seed=seed)
                if muon is not None and v is not None:
                    gaps[(opt, p, d, seed)] = v - muon
    def mean_gap(opt, p, d):
        both = [gaps[(opt, p, d, s)] for s in (0, 1) if (opt, p, d, s) in gaps]
        return sum(both) / len(both) if both else None

    lines = ["Final validation loss minus Muon's at the same width (seed 0, or the mean of seeds 0 and 1 ± half their "
             "difference where both ran; Muon's own loss in the first row; lr 0.02 for all):", ""]
    lines.append("| | " + " | ".join(f"d = {d}" for d in WIDTHS) + " |")
    lines.append("|---|" + "---|" * len(WIDTHS))
    muon_row = []
    for d in WIDTHS:
        v0, v1 = runs.val(d, "muon", None, 0.02, seed=0), runs.val(d, "muon", None, 0.02, seed=1)
        muon_row.append("–" if v0 is None else fmt(v0) + ("" if v1 is None else f" (seed 1: {fmt(v1)})"))
    lines.append("| Muon (val loss) | " + " | ".join(muon_row) + " |")
    for opt, p in configs:
        cells = []
        for d in WIDTHS:
            g0, g1 = gaps.get((opt, p, d, 0)), gaps.get((opt, p, d, 1))
            if g0 is None:
                cells.append("not run")
            elif g1 is None:
                cells.append(signed(g0))
            else:
                cells.append(f"{signed((g0 + g1) / 2)} ± {abs(g0 - g1) / 2:.3f}")
        lines.append(f"| {label({'optimizer': opt, 'param': p})} | " + " | ".join(cells) + " |")
    # spread: the gap's change between seeds, over every configuration with two seeds
    spreads = [abs(gaps[(o, p, d, 0)] - gaps[(o, p, d, 1)]) for (o, p, d, s) in gaps if s == 1 and (o, p, d, 0) in gaps]
    val_spreads = [abs(v[0] - v[1]) for k, v in runs.seed_pairs() if k[4] == 32]
    spread = max(spreads) if spreads else None
    lines.append("")
    if spreads:
        lines.append(f"Seed-to-seed spread: the gap to Muon changes by {min(spreads):.3f}–{max(spreads):.3f} between seeds 0 "
                     f"and 1 ({len(spreads)} configurations); a final validation loss itself by "
                     f"{min(val_spreads):.3f}–{max(val_spreads):.3f} ({len(val_spreads)} configurations). "
                     f"A change of the gap larger than {spread:.3f} is read as real below.")
    lines.append("")
    lines.append("Does the gap at a fixed ρ (α) shrink as d grows? (gaps as in the table above; change from d = 64 to the "
                 "widest width run; *shrinks* / *grows* when the change exceeds the largest seed-to-seed change of a gap, "
                 "else *within spread*):")
    lines.append("")
    lines.append("| | gap d = 64 → 128 → 256 | change 64 → widest | verdict |")
    lines.append("|---|---|---|---|")
    verdicts = {}
    for opt, p in configs:
        seq = [(d, mean_gap(opt, p, d)) for d in WIDTHS]
        have = [(d, g) for d, g in seq if g is not None]
        if len(have) < 2:
            continue
        change = have[-1][1] - have[0][1]
        tol = spread if spread is not None else 0.0
        v = "shrinks" if change < -tol else "grows" if change > tol else "within spread"
        verdicts[(opt, p)] = (v, change, have)
        lines.append(f"| {label({'optimizer': opt, 'param': p})} | " + " → ".join(signed(g) for _, g in have)
                     + f" | {signed(change)} (d = {have[0][0]} → {have[-1][0]}) | {v} |")
    lines.append("")
    lines.append("The same against full-rank Dion (ρ = 1) instead of Muon — the cost of the rank cut alone (seed 0):")
    lines.append("")
    lines.append("| | " + " | ".join(f"d = {d}" for d in WIDTHS) + " |")
    lines.append("|---|" + "---|" * len(WIDTHS))
    for p in rhos[1:]:
        cells = []
        for d in WIDTHS:
            full, v = runs.val(d, "dion", 1, 0.02), runs.val(d, "dion", p, 0.02)
            cells.append("–" if full is None or v is None else signed(v - full))
        lines.append(f"| Dion ρ={frac(p)} − Dion ρ=1 | " + " | ".join(cells) + " |")
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
        colors = {64: "tab:blue", 128: "tab:orange", 256: "tab:green"}
        for d in WIDTHS:
            for opt, ps, style in (("dion", rhos, "o-"), ("dion2", alphas, "s--")):
                pts = [(p, mean_gap(opt, p, d)) for p in ps if (opt, p, d, 0) in gaps]
                if not pts:
                    continue
                errs = [abs(gaps[(opt, p, d, 0)] - gaps[(opt, p, d, 1)]) / 2 if (opt, p, d, 1) in gaps else 0 for p, _ in pts]
                ax1.errorbar([p for p, _ in pts], [g for _, g in pts], yerr=errs, fmt=style, color=colors[d], capsize=3,
                             label=f"{'Dion' if opt == 'dion' else 'Dion2'}, d = {d}")
        ax1.axhline(0, color="black", lw=0.8)
        ax1.set_xscale("log", base=2)
        ax1.set_xticks(rhos)
        ax1.set_xticklabels([frac(p) for p in rhos])
        ax1.invert_xaxis()
        ax1.set_xlabel("rank fraction ρ (Dion) / fraction α (Dion2)")
        ax1.set_ylabel("final val loss − Muon's (same width)")
        ax1.legend(fontsize=7, ncol=2)
        ax1.grid(alpha=0.3)
        for opt, p in configs:
            pts = [(d, mean_gap(opt, p, d)) for d in WIDTHS if (opt, p, d, 0) in gaps]
            errs = [abs(gaps[(opt, p, d, 0)] - gaps[(opt, p, d, 1)]) / 2 if (opt, p, d, 1) in gaps else 0 for d, _ in pts]
            if len(pts) >= 2:
                ax2.errorbar([d for d, _ in pts], [g for _, g in pts], yerr=errs, fmt="o-" if opt == "dion" else "s--",
                             capsize=3, label=label({"optimizer": opt, "param": p}))
        ax2.axhline(0, color="black", lw=0.8)
        ax2.set_xscale("log", base=2)
        ax2.set_xticks(WIDTHS)
        ax2.set_xticklabels([str(d) for d in WIDTHS])
        ax2.set_xlabel("width d")
        ax2.set_ylabel("final val loss − Muon's")
        ax2.legend(fontsize=7)
        ax2.grid(alpha=0.3)
        fig.suptitle("Rank fraction vs width (mean of seeds 0 and 1 ± half their difference where both ran): the claim holds if each curve on the right falls towards 0 as d grows", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(img, "claims-rank.png"), dpi=110)
        plt.close(fig)
    return lines


# ----------------------------------------------------------------------------------------------- lr

def best_lr(points):
    """The grid's best lr, and a parabola's vertex in log2(lr) through the best and its two neighbours
    (None when the best is at the grid's edge)."""
    points = sorted(points)
    i = min(range(len(points)), key=lambda k: points[k][1])
    if i == 0 or i == len(points) - 1:
        return points[i][0], None, True
    (x0, y0), (x1, y1), (x2, y2) = [(math.log2(points[k][0]), points[k][1]) for k in (i - 1, i, i + 1)]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom
    vertex = 2 ** (-b / (2 * a)) if a > 0 else None
    return points[i][0], vertex, False


def lr_study(runs, plt, img):
    opts = [("adamw", None), ("muon", None), ("dion", 0.25)]
    lines = ["Final validation loss at each learning rate (seed 0; **bold**: the best of the row):", ""]
    lines.append("| optimizer | d | lr → final val loss | best lr (grid) | margin to the next best | best lr (parabola) |")
    lines.append("|---|---|---|---|---|---|")
    best = {}
    for opt, p in opts:
        for d in WIDTHS:
            pts = sorted((k[3], s[0]["val"]) for k, s in runs.by.items()
                         if k[0] == d and k[1] == opt and k[2] == p and k[4] == 32 and 0 in s)
            if not pts:
                continue
            grid, vertex, edge = best_lr(pts) if len(pts) >= 3 else (min(pts, key=lambda t: t[1])[0], None, True)
            best[(opt, d)] = (grid, vertex, edge, pts)
            cells = ", ".join((f"**{lr:g} → {v:.3f}**" if lr == grid else f"{lr:g} → {v:.3f}") for lr, v in pts)
            ordered = sorted(v for _, v in pts)
            margin = f"{ordered[1] - ordered[0]:.3f}" if len(ordered) > 1 else "–"
            lines.append(f"| {label({'optimizer': opt, 'param': p})} | {d} | {cells} | {grid:g}{' (edge)' if edge else ''} | "
                         f"{margin} | {'–' if vertex is None else f'{vertex:.3g}'} |")
    lines.append("")
    spread = []
    for opt, p in opts:
        for d in WIDTHS:
            v0, v1 = runs.val(d, opt, p, DEFAULT_LR[opt], seed=0), runs.val(d, opt, p, DEFAULT_LR[opt], seed=1)
            if v0 is not None and v1 is not None:
                spread.append(f"{label({'optimizer': opt, 'param': p})} d = {d}: {abs(v0 - v1):.3f}")
    if spread:
        lines.append("Seed-to-seed spread of the final validation loss at the default rate (|seed 0 − seed 1|): "
                     + ", ".join(spread) + ". A best rate whose margin is smaller than this is not distinguishable "
                     "from its neighbour.")
        lines.append("")
    lines.append("Does the best learning rate stay put across widths? (grid optimum at each width; the ratio of "
                 "the parabola optima, widest ÷ narrowest, 1 = perfect transfer):")
    lines.append("")
    lines.append("| optimizer | best lr at d = 64 / 128 / 256 | parabola optimum 64 / 128 / 256 | widest ÷ narrowest | "
                 "cost of transfer: loss at each wider width with d = 64's best rate − that width's best |")
    lines.append("|---|---|---|---|---|")
    for opt, p in opts:
        have = [(d, best[(opt, d)]) for d in WIDTHS if (opt, d) in best]
        if not have:
            continue
        grids = " / ".join(f"{b[0]:g}{'*' if b[2] else ''}" for _, b in have)
        verts = " / ".join("–" if b[1] is None else f"{b[1]:.3g}" for _, b in have)
        vs = [(d, b[1]) for d, b in have if b[1] is not None]
        ratio = f"{vs[-1][1] / vs[0][1]:.2f} (d = {vs[0][0]} → {vs[-1][0]})" if len(vs) >= 2 else "–"
        small = have[0][1][0]
        costs = []
        for d, b in have[1:]:
            at = dict(b[3]).get(small)
            edge = "≥ " if b[2] else ""
            costs.append(f"d = {d}: {'not run' if at is None else edge + signed(at - min(v for _, v in b[3]))}")
        lines.append(f"| {label({'optimizer': opt, 'param': p})} | {grids} | {verts} | {ratio} | {', '.join(costs)} |")
    lines.append("")
    lines.append("(* the optimum is at the edge of the grid run at that width: the true optimum may lie beyond it, and the "
                 "cost of transfer there is a lower bound, marked ≥.)")
    if plt is not None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
        colors = {64: "tab:blue", 128: "tab:orange", 256: "tab:green"}
        for ax, (opt, p) in zip(axes, opts):
            for d in WIDTHS:
                if (opt, d) not in best:
                    continue
                pts = best[(opt, d)][3]
                ax.plot([lr for lr, _ in pts], [v for _, v in pts], "o-", color=colors[d], label=f"d = {d}")
                g = best[(opt, d)][0]
                ax.plot([g], [dict(pts)[g]], "*", ms=14, color=colors[d])
            ax.set_xscale("log", base=2)
            ax.set_xlabel("learning rate")
            ax.set_ylabel("final val loss")
            ax.set_title(label({"optimizer": opt, "param": p}))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("Learning-rate transfer across width (100 steps × 32 × 64 bytes; star = best of each width)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(img, "claims-lr.png"), dpi=110)
        plt.close(fig)
    return lines


# -------------------------------------------------------------------------------------------- batch

def smoothed(run):
    """(tokens, seconds, loss): train loss averaged over the last SMOOTH_TOKENS tokens, at each step."""
    tokens_per_step = run["batch"] * run["seq"]
    width = max(1, math.ceil(SMOOTH_TOKENS / tokens_per_step))
    out, window = [], []
    for s in run["step_records"]:
        if s["skipped"] or s["train_loss"] is None:
            continue
        window = (window + [s["train_loss"]])[-width:]
        if len(window) == width:
            out.append((s["step"] * tokens_per_step, s["elapsed_seconds"], s["step"], sum(window) / width))
    return out


BATCH_TARGETS = (2.8, 2.6, 2.5)  # smoothed train loss


def batch_study(runs, plt, img):
    opts = [("adamw", None, 0.004), ("muon", None, 0.02), ("dion", 0.25, 0.02)]
    batches = (8, 16, 32, 64, 128)
    rs = {(o, b): runs.run(128, o, p, lr, batch=b) for o, p, lr in opts for b in batches}
    rs = {k: r for k, r in rs.items() if r is not None}
    if not rs:
        return ["(no runs yet)"]
    budget = next(iter(rs.values()))["tokens"]
    curves = {k: smoothed(r) for k, r in rs.items()}

    def hit(k, target, curve=None):
        return next((c for c in (curve if curve is not None else curves.get(k, [])) if c[3] <= target), None)

    lines = [f"d = 128, {budget:,} tokens per run (steps × batch × 64 fixed), learning rates not re-tuned per batch "
             f"(AdamW 0.004, Muon and Dion 0.02). Targets: training loss averaged over the last {SMOOTH_TOKENS:,} tokens "
             f"≤ {', '.join(f'{t:g}' for t in BATCH_TARGETS)}; a cell is the steps (tokens) to reach it, '–' when the "
             "budget ran out first. Wall times were measured on 2 cores shared with other work (a rough guide only); "
             "losses, steps and tokens are exact.", ""]
    lines.append("| optimizer | batch | steps | final val loss | " + " | ".join(f"to {t:g}: steps (tokens)" for t in BATCH_TARGETS)
                 + f" | wall s to {BATCH_TARGETS[1]:g} (under load) |")
    lines.append("|---|---|---|---|" + "---|" * len(BATCH_TARGETS) + "---|")
    for o, p, lr in opts:
        for b in batches:
            r = rs.get((o, b))
            if r is None:
                continue
            cells = []
            for t in BATCH_TARGETS:
                h = hit((o, b), t)
                cells.append(f"{h[2]} ({h[0]:,})" if h else "–")
            h = hit((o, b), BATCH_TARGETS[1])
            lines.append(f"| {label({'optimizer': o, 'param': p})} | {b} | {r['steps']} | {r['val']:.3f} | " + " | ".join(cells)
                         + f" | {f'{h[1]:.1f}' if h else '–'} |")
    lines.append("")
    # seed spread at batch 32 (seed 1 runs of the other studies)
    spread_cells = []
    for o, p, lr in opts:
        r0, r1 = runs.run(128, o, p, lr, batch=32), runs.run(128, o, p, lr, batch=32, seed=1)
        if r0 is None or r1 is None:
            continue
        c1 = smoothed(r1)
        steps = [f"{(hit((o, 32), t) or ('–',) * 3)[2]} vs {(hit(None, t, c1) or ('–',) * 3)[2]}" for t in BATCH_TARGETS]
        spread_cells.append(f"{label({'optimizer': o, 'param': p})}: final val {r0['val']:.3f} vs {r1['val']:.3f}, steps to "
                            + ", ".join(f"{t:g} {s}" for t, s in zip(BATCH_TARGETS, steps)))
    if spread_cells:
        lines.append("Seed spread at batch 32 (seed 0 vs seed 1): " + "; ".join(spread_cells) + ".")
        lines.append("")
    lines.append("Degradation with batch at the fixed budget, and the critical batch: the batch B from which doubling "
                 "to 2B cuts the steps to the target by less than 1.5× (or 2B does not reach it within the budget); "
                 "'≥ 128' when every doubling up to 128 still cut them by 1.5× or more:")
    lines.append("")
    lines.append("| optimizer | final val loss, batch 8 → 32 → 64 → 128 | loss lost 8 → 64 | loss lost 8 → 128 | steps ratio per doubling to "
                 f"{BATCH_TARGETS[1]:g} (8→16, 16→32, …) | critical batch at " + " / ".join(f"{t:g}" for t in BATCH_TARGETS) + " |")
    lines.append("|---|---|---|---|---|---|")
    crit = {}
    for o, p, lr in opts:
        vals = [rs[(o, b)]["val"] if (o, b) in rs else None for b in (8, 32, 64, 128)]
        per_target = []
        for t in BATCH_TARGETS:
            c = None
            for b in batches[:-1]:
                h1, h2 = hit((o, b), t), hit((o, 2 * b), t)
                if h1 is None:
                    c = "–"
                    break
                if h2 is None or h1[2] / h2[2] < 1.5:
                    c = str(b)
                    break
            per_target.append(c or "≥ 128")
        crit[o] = per_target
        ratios = []
        for b in batches[:-1]:
            h1, h2 = hit((o, b), BATCH_TARGETS[1]), hit((o, 2 * b), BATCH_TARGETS[1])
            ratios.append(f"{h1[2] / h2[2]:.2f}" if h1 and h2 else "–")
        lost = [signed(vals[i] - vals[0]) if vals[0] is not None and vals[i] is not None else "–" for i in (2, 3)]
        lines.append(f"| {label({'optimizer': o, 'param': p})} | " + " → ".join(fmt(v) for v in vals) + f" | {lost[0]} | {lost[1]} | "
                     + ", ".join(ratios) + " | " + " / ".join(per_target) + " |")
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
        for o, p, lr in opts:
            pts = [(b, rs[(o, b)]["val"]) for b in batches if (o, b) in rs]
            line, = ax1.plot([b for b, _ in pts], [v for _, v in pts], "o-", label=label({"optimizer": o, "param": p}))
            hits = [(b, hit((o, b), BATCH_TARGETS[1])) for b in batches if (o, b) in rs]
            reached = [(b, h[0]) for b, h in hits if h]
            ax2.plot([b for b, _ in reached], [t for _, t in reached], "o-", color=line.get_color(),
                     label=label({"optimizer": o, "param": p}))
            missed = [b for b, h in hits if h is None]
            if missed:
                ax2.plot(missed, [budget] * len(missed), "x", ms=10, color=line.get_color())
        ax2.axhline(budget, color="grey", lw=0.8, ls=":")
        for ax in (ax1, ax2):
            ax.set_xscale("log", base=2)
            ax.set_xticks(batches)
            ax.set_xticklabels([str(b) for b in batches])
            ax.set_xlabel("batch (sequences of 64 bytes)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        ax1.set_ylabel("final val loss")
        ax1.set_title(f"final validation loss at {budget:,} tokens (flat = no loss from a larger batch)", fontsize=9)
        ax2.set_yscale("log", base=2)
        ax2.set_ylabel(f"tokens to train loss {BATCH_TARGETS[1]:g}")
        ax2.set_title(f"tokens to {BATCH_TARGETS[1]:g} (flat = perfect scaling; × = not reached in the budget)", fontsize=9)
        fig.suptitle("Batch size at d = 128, fixed token budget (learning rates not re-tuned per batch)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(img, "claims-batch.png"), dpi=110)
        plt.close(fig)
    return lines


# ------------------------------------------------------------------------------------------- driver

def check(paths):
    bad = 0
    for p in paths:
        r = load(p)
        if r is None:
            print(f"claims.py: {p}: no run record or no summary (the run did not finish)", file=sys.stderr)
            bad += 1
            continue
        finite = r["val"] is not None and math.isfinite(r["val"])
        print(f"  {os.path.basename(p)}: d={r['d']} {label(r)} lr={r['lr']:g} batch={r['batch']} steps={r['steps']} "
              f"val={r['val']}")
        if not finite or r["steps"] < 1:
            print(f"claims.py: {p}: final validation loss {r['val']} after {r['steps']} steps", file=sys.stderr)
            bad += 1
    if not paths:
        print("claims.py: no metrics files", file=sys.stderr)
        bad += 1
    if bad:
        sys.exit(f"claims.py --check: {bad} of {len(paths)} metrics files incomplete or non-finite")
    print(f"claims.py --check: {len(paths)} metrics files complete and finite")


def replace_section(text, name, body):
    start, end = f"<!-- claims:{name} -->", f"<!-- /claims:{name} -->"
    block = f"{start}\n" + "\n".join(body) + f"\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text + f"\n\n## {name}\n\n{block}\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", default="results/claims")
    parser.add_argument("--doc", default="docs/claims.md")
    parser.add_argument("--img", default="docs/img")
    parser.add_argument("--check", action="store_true", help="only check that every metrics file is complete")
    parser.add_argument("--print", action="store_true", help="print the sections, write nothing")
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(args.results, "*.jsonl")))
    if args.check:
        check(paths)
        return
    runs = Runs([r for r in (load(p) for p in paths) if r is not None])
    plt = None
    if not args.print:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pyplot_setup import plt  # noqa: E402
        os.makedirs(args.img, exist_ok=True)
    sections = {"rank": rank_study(runs, plt, args.img), "lr": lr_study(runs, plt, args.img),
                "batch": batch_study(runs, plt, args.img)}
    if args.print:
        for name, body in sections.items():
            print(f"## {name}\n\n" + "\n".join(body) + "\n")
        return
    text = open(args.doc).read() if os.path.exists(args.doc) else "# Claims\n"
    for name, body in sections.items():
        text = replace_section(text, name, body)
    with open(args.doc, "w") as f:
        f.write(text)
    print(f"claims.py: {len(paths)} runs → {args.doc}, {args.img}/claims-{{rank,lr,batch}}.png")


if __name__ == "__main__":
    main()
