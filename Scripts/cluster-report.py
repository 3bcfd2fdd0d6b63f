#!/usr/bin/env python3
"""Tables (markdown, to stdout) and charts (docs/img/cluster-*.png) from Scripts/cluster-bench.sh.

    python3 Scripts/cluster-report.py results/cluster
"""
import glob
import json
import os
import statistics
import sys

RATES = {"10gbit": 10e9, "1gbit": 1e9, "100mbit": 100e6}
NAMES = {"dion": "Dion ρ=1/4", "dion16": "Dion ρ=1/16", "muon": "Muon", "adamw": "AdamW"}
CROSS = {"dp=2,tp=2": "dp", "fsdp=2,tp=2": "fsdp"}


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def collectives(out):
    print("### Collectives across hosts: measured vs the α–β model (`emulated:RATE:1`)\n")
    print("| link | hosts | op | 4 KiB measured µs | 4 KiB model µs | 16 MiB measured busbw MB/s | 16 MiB model busbw MB/s "
          "| model ÷ measured time, ≥ 256 KiB (median, range) |")
    print("|---|---|---|---|---|---|---|---|")
    curves = {}
    for rate in RATES:
        for hosts in (2, 4):
            path = os.path.join(out, f"collectives-{rate}-{hosts}.json")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                points = json.load(f)
            for op in ("allreduce", "reducescatter", "allgather"):
                rows = sorted((p for p in points if p["op"] == op), key=lambda p: p["bytes"])
                if not rows:
                    continue
                small, big = rows[0], rows[-1]
                factor = big["busbw_GBps"] / big["algbw_GBps"] if big["algbw_GBps"] else 1
                model_busbw = big["bytes"] / big["model_seconds"] * factor / 1e6
                ratios = [p["model_seconds"] / p["seconds"] for p in rows if p["bytes"] >= 262144]
                print(f"| {rate} | {hosts} | {op} | {small['seconds'] * 1e6:.0f} | {small['model_seconds'] * 1e6:.0f} "
                      f"| {big['busbw_GBps'] * 1e3:.1f} | {model_busbw:.1f} | {statistics.median(ratios):.2f} "
                      f"({min(ratios):.2f}–{max(ratios):.2f}) |")
                curves[(rate, hosts, op)] = rows
    return curves


def train(out):
    runs = {}
    for path in glob.glob(os.path.join(out, "train-*.jsonl")):
        recs = records(path)
        kernel = next(r for r in recs if r["type"] == "kernel")
        steps = [r for r in recs if r["type"] == "step"][5:]  # steady state: from step 6
        summary = next(r for r in recs if r["type"] == "summary")
        n = len([r for r in recs if r["type"] == "step"])
        med = lambda key: statistics.median(r[key] for r in steps)
        by_axis = summary["bytes_by_axis"]
        cross = CROSS[kernel["mesh"]]
        ledger_inter = 4 * by_axis.get(cross, 0) + 4 * by_axis.get("world", 0) / 2
        runs[(kernel["rate"], kernel["mesh"], kernel["optimizer"])] = {
            "step": med("step_seconds"), "comm": med("exposed_comm_seconds"), "compute": med("compute_seconds"),
            "predicted_comm": med("simulated_comm_seconds"),
            "cross_mb": by_axis.get(cross, 0) / n / 1e6, "kernel_mb": kernel["sent_bytes"] / n / 1e6,
            "ratio": kernel["sent_bytes"] / ledger_inter if ledger_inter else float("nan")}
    for mesh in CROSS:
        print(f"\n### `dion train` on 2 hosts × 2 ranks, `{mesh}` ({CROSS[mesh]} crosses the links)\n")
        print("| link | optimizer | step ms (median) | compute ms | exposed comm ms | predicted comm ms | predicted step ms "
              f"| {CROSS[mesh]} MB/rank/step (ledger) | kernel MB/step (all links) | kernel ÷ ledger |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for rate in RATES:
            for opt in NAMES:
                r = runs.get((rate, mesh, opt))
                if not r:
                    continue
                print(f"| {rate} | {NAMES[opt]} | {r['step'] * 1e3:.0f} | {r['compute'] * 1e3:.0f} | {r['comm'] * 1e3:.0f} "
                      f"| {r['predicted_comm'] * 1e3:.0f} | {(r['compute'] + r['predicted_comm']) * 1e3:.0f} "
                      f"| {r['cross_mb']:.3f} | {r['kernel_mb']:.3f} | {r['ratio']:.3f} |")
    return runs


def fit(points):
    """Least squares t = c + b / bandwidth over (bandwidth, t) points."""
    xs = [1 / bw for bw, _ in points]
    ts = [t for _, t in points]
    mx, mt = statistics.mean(xs), statistics.mean(ts)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (t - mt) for x, t in zip(xs, ts)) / sxx
    return mt - b * mx, b


def crossover(runs):
    print("\n### Where Dion's fewer bytes become a faster step\n")
    print("Each optimizer's step time fitted as t = c + b / bandwidth over the three links (measured), and the same "
          "fit of compute + the α–β model's comm time (predicted). The crossover is the bandwidth below which Dion "
          "ρ=1/4 has the shorter step.\n")
    print("| mesh | Dion ρ=1/4 vs | measured crossover | predicted crossover |")
    print("|---|---|---|---|")
    for mesh in CROSS:
        fits = {}
        for opt in NAMES:
            pts = [(RATES[rate], runs[(rate, mesh, opt)]) for rate in RATES if (rate, mesh, opt) in runs]
            if len(pts) < 2:
                continue
            fits[opt] = (fit([(bw, r["step"]) for bw, r in pts]),
                         fit([(bw, r["compute"] + r["predicted_comm"]) for bw, r in pts]))
        if "dion" not in fits:
            continue
        for other in ("muon", "adamw"):
            if other not in fits:
                continue
            cells = []
            for k in (0, 1):
                (cd, bd), (co, bo) = fits["dion"][k], fits[other][k]
                if bo <= bd:
                    cells.append("never (Dion sends no fewer bytes)")
                elif cd <= co:
                    cells.append("Dion is faster at every bandwidth")
                else:
                    bw = (bo - bd) / (cd - co)
                    cells.append(f"{bw * 8 / 1e9:.2f} Gbit/s" if bw * 8 >= 1e9 else f"{bw * 8 / 1e6:.0f} Mbit/s")
            print(f"| {mesh} | {NAMES[other]} | {cells[0]} | {cells[1]} |")


def time_to_target(out, runs):
    longs = {opt: [r for r in records(p) if r["type"] == "step"]
             for opt in NAMES for p in [os.path.join(out, f"long-{opt}.jsonl")] if os.path.exists(p)}
    if not longs:
        return
    smooth = lambda xs, i: statistics.mean(xs[max(0, i - 9):i + 1])
    finals = {opt: smooth([r["train_loss"] for r in steps], len(steps) - 1) for opt, steps in longs.items()}
    target = max(finals.values())
    reach = {}
    for opt, steps in longs.items():
        losses = [r["train_loss"] for r in steps]
        reach[opt] = next((steps[i]["step"] for i in range(len(losses)) if smooth(losses, i) <= target), None)
    print(f"\n### Time to the same training loss ({target:.3f}, 10-step mean; the worst optimizer's final loss "
          f"after {len(next(iter(longs.values())))} steps), `dp=2,tp=2`\n")
    print("| optimizer | steps to target | " + " | ".join(f"seconds at {rate}" for rate in RATES) + " |")
    print("|---|---|" + "---|" * len(RATES))
    for opt in NAMES:
        if opt not in reach or reach[opt] is None:
            continue
        cells = [f"{reach[opt] * runs[(rate, 'dp=2,tp=2', opt)]['step']:.1f}" if (rate, "dp=2,tp=2", opt) in runs else "–"
                 for rate in RATES]
        print(f"| {NAMES[opt]} | {reach[opt]} | " + " | ".join(cells) + " |")


def charts(curves, runs):
    sys.path.insert(0, os.path.dirname(__file__))
    from pyplot_setup import plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    for rate, color in zip(RATES, ("tab:blue", "tab:orange", "tab:green")):
        rows = curves.get((rate, 2, "allreduce"))
        if not rows:
            continue
        sizes = [p["bytes"] for p in rows]
        ax.plot(sizes, [p["seconds"] * 1e3 for p in rows], "o-", color=color, label=f"{rate} measured")
        ax.plot(sizes, [p["model_seconds"] * 1e3 for p in rows], "--", color=color, label=f"{rate} α–β model")
    ax.set_xscale("log", base=2); ax.set_yscale("log")
    ax.set_xlabel("all-reduce size (bytes), 2 hosts"); ax.set_ylabel("time (ms)"); ax.legend(fontsize=8)
    ax.set_title("all-reduce across 2 emulated hosts")
    ax = axes[1]
    for opt, color in zip(NAMES, ("tab:blue", "tab:purple", "tab:red", "tab:gray")):
        pts = [(RATES[rate] / 1e9, runs[(rate, "dp=2,tp=2", opt)]) for rate in RATES if (rate, "dp=2,tp=2", opt) in runs]
        if not pts:
            continue
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1]["step"] * 1e3 for p in pts], "o-", color=color, label=f"{NAMES[opt]} measured")
        ax.plot([p[0] for p in pts], [(p[1]["compute"] + p[1]["predicted_comm"]) * 1e3 for p in pts], "--", color=color,
                label=f"{NAMES[opt]} predicted")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("link bandwidth (Gbit/s)"); ax.set_ylabel("step time (ms)"); ax.legend(fontsize=8)
    ax.set_title("dion train, 2 hosts × 2 ranks, dp across hosts")
    fig.tight_layout()
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "img", "cluster.png")
    fig.savefig(path, dpi=110)
    print(f"\n(chart: docs/img/cluster.png)", file=sys.stderr)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "results/cluster"
    curves = collectives(out)
    runs = train(out)
    crossover(runs)
    time_to_target(out, runs)
    charts(curves, runs)


if __name__ == "__main__":
    main()
