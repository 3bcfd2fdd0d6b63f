#!/usr/bin/env python3
"""Issue #17's PyTorch comparisons, ours and theirs in turn in one run (called by
Scripts/bench-vs-pytorch.sh, which checks PyTorch, the reference and the build first).

Cases (ours = `dion`, theirs = PyTorch with the Dion reference's optimizers or torch's AdamW):
  train-1p-dion, train-1p-adamw   the default model, batch 16×64, one process, one thread
  train-4p-dion, train-4p-adamw   the same on 4 processes: dp=4 under mpirun / gloo DDP
  fsdp-dion-0.25, fsdp-dion-0.0625   one Dion step on 2048×2048 over 4 ranks (fsdp=4 / a 1-D
                                  DTensor mesh over gloo; one process per side times both ρ)
  fsdp-dion-…-ref-batch4          (no goal) the reference stepping four 2048×2048 matrices at
                                  once, per matrix, against our one-matrix step: the reference
                                  pads a batch to the mesh size, so one matrix costs it four
Each round runs every case as a pair, ours then theirs (A B A B …); a pair's ratio is our speed
over theirs (tokens/s ours ÷ theirs; step time theirs ÷ ours), so > 1 means ours is faster.
Training speed is the steady state: the median step time after --warmup steps, on rank 0, from
`dion train --metrics` (step_seconds) and from torch_model.py (the same span of work). The load
average is recorded before every pair. Prints a table per case and a summary against the goals;
writes every run to --json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DION = os.path.join(ROOT, ".build", "release", "dion")
TORCH_MODEL = os.path.join(ROOT, "Scripts", "bench", "torch_model.py")
TORCH_FSDP = os.path.join(ROOT, "Scripts", "bench", "torch_fsdp_dion_step.py")

# issue #17's goals: ours/theirs speed at least this.
GOALS = {"train-1p-dion": 1.2, "train-1p-adamw": 1.2, "train-4p-dion": 2.5, "train-4p-adamw": 1.5,
         "fsdp-dion-0.25": 2.0, "fsdp-dion-0.0625": 2.0}


def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(cmd, log):
    """Runs `cmd`, appending its output to `log`; returns its standard output."""
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n{p.stdout}\n(exit {p.returncode}, {time.time() - t0:.1f} s)\n")
    if p.returncode != 0:
        sys.exit(f"vs_pytorch: `{' '.join(cmd)}` failed (exit {p.returncode}); output in {log}")
    return p.stdout


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"impl"' in line:
            out.append(json.loads(line))
    return out


def ours_train(processes, optimizer, a, tmp, log):
    metrics = os.path.join(tmp, f"train-{processes}-{optimizer}.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    cmd = [DION, "train", "--optimizer", optimizer, "--batch-size", str(a.batch_size), "--steps", str(a.steps),
           "--eval-every", "0", "--eval-batches", "1", "--log-every", "100000", "--metrics", metrics]
    if optimizer == "dion":
        cmd += ["--rank-fraction", "0.25"]
    if processes > 1:
        cmd = ["mpirun", "-np", str(processes)] + cmd + ["--mesh", f"dp={processes}"]
    run(cmd, log)
    records = [json.loads(l) for l in open(metrics)]
    steps = [r for r in records if r.get("type") == "step" and r["step"] > a.warmup]
    summary = next(r for r in records if r.get("type") == "summary")
    med = statistics.median(r["step_seconds"] for r in steps)
    return dict(step_s=med, tokens_per_s=a.batch_size * 64 / med, loss=summary["final_train_loss"])


def theirs_train(processes, optimizer, a, log):
    cmd = [sys.executable, TORCH_MODEL, "--optimizer", optimizer, "--batch-size", str(a.batch_size),
           "--steps", str(a.steps), "--warmup", str(a.warmup), "--reference", a.reference]
    if processes > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
               str(processes)] + cmd[1:]
    r = json_lines(run(cmd, log))[-1]
    return dict(step_s=r["median_step_s"], tokens_per_s=r["tokens_per_s"], loss=r["last_loss"])


def ours_fsdp(a, tmp, log):
    out = os.path.join(tmp, "comm.json")
    if os.path.exists(out):
        os.remove(out)
    run(["mpirun", "-np", "4", DION, "bench", "comm", "--mesh", "fsdp=4", "--shapes", "2048x2048",
         "--optimizers", "dion:0.25,dion:0.0625", "--steps", str(a.fsdp_steps), "--json", out], log)
    return {f"fsdp-dion-{r['rank_fraction']}": dict(step_s=r["step_seconds"]) for r in json.load(open(out))}


def theirs_fsdp(a, log, matrices=1):
    """The reference's step time per matrix: with `matrices` = 4 its batch (the mesh size) holds
    four real matrices instead of one padded with three dummies."""
    text = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4", TORCH_FSDP,
                "--shape", "2048x2048", "--rank-fractions", "0.25,0.0625", "--steps", str(a.fsdp_steps),
                "--matrices", str(matrices), "--reference", a.reference], log)
    return {f"fsdp-dion-{r['rank_fraction']}": dict(step_s=r["per_matrix_seconds"]) for r in json_lines(text)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=40, help="training steps per run")
    p.add_argument("--warmup", type=int, default=10, help="training steps not counted")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--fsdp-steps", type=int, default=5)
    p.add_argument("--fsdp-batch4", type=int, default=1,
                   help="also time the reference stepping 4 matrices at once (per matrix; 0 = off)")
    p.add_argument("--cases", default="train-1p,train-4p,fsdp", help="comma-separated: train-1p, train-4p, fsdp")
    p.add_argument("--reference", default=os.environ.get("DION_REFERENCE", "/tmp/msdion"))
    p.add_argument("--json", default=os.path.join(ROOT, "results", "vs-pytorch.jsonl"))
    p.add_argument("--log", default=os.path.join(ROOT, "results", "vs-pytorch.log"))
    a = p.parse_args()
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    open(a.log, "w").close()
    groups = a.cases.split(",")
    rows = []  # dict(case, round, ours, theirs, ratio, load)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(1, a.rounds + 1):
            for group in groups:
                if group in ("train-1p", "train-4p"):
                    n = 1 if group == "train-1p" else 4
                    for opt in ("dion", "adamw"):
                        l0 = load()
                        ours = ours_train(n, opt, a, tmp, a.log)
                        theirs = theirs_train(n, opt, a, a.log)
                        case = f"{group}-{opt}"
                        rows.append(dict(case=case, round=rnd, load=l0, ours=ours, theirs=theirs,
                                         ratio=ours["tokens_per_s"] / theirs["tokens_per_s"]))
                        print(f"round {rnd} {case:18s} load {l0:5.2f}  ours {ours['tokens_per_s']:8.0f} tok/s "
                              f"({1000 * ours['step_s']:6.1f} ms)  pytorch {theirs['tokens_per_s']:8.0f} tok/s "
                              f"({1000 * theirs['step_s']:6.1f} ms)  ratio {rows[-1]['ratio']:.2f}", flush=True)
                elif group == "fsdp":
                    # ours, the reference on one matrix (the goal's case), the reference on four
                    # (per matrix; informational: ours steps one matrix in both comparisons)
                    l0 = load()
                    ours, theirs = ours_fsdp(a, tmp, a.log), theirs_fsdp(a, a.log)
                    theirs4 = theirs_fsdp(a, a.log, matrices=4) if a.fsdp_batch4 else {}
                    for case in sorted(ours, reverse=True):
                        for name, t in ((case, theirs), (case + "-ref-batch4", theirs4)):
                            if case not in t:
                                continue
                            rows.append(dict(case=name, round=rnd, load=l0, ours=ours[case], theirs=t[case],
                                             ratio=t[case]["step_s"] / ours[case]["step_s"]))
                            print(f"round {rnd} {name:18s} load {l0:5.2f}  ours {1000 * ours[case]['step_s']:7.1f} ms/step  "
                                  f"reference {1000 * t[case]['step_s']:7.1f} ms/matrix  ratio {rows[-1]['ratio']:.2f}",
                                  flush=True)
                else:
                    sys.exit(f"vs_pytorch: unknown case group {group}")
    with open(a.json, "w") as f:
        for r in rows:
            f.write(json.dumps(dict(r, started=started)) + "\n")

    loads = [r["load"] for r in rows]
    print(f"\nstarted {started}; {a.rounds} rounds; load average (1 min) before the pairs: "
          f"{min(loads):.2f}–{max(loads):.2f}; raw runs in {a.json}, output in {a.log}\n")
    print("| case | ours (median) | PyTorch (median) | ours/PyTorch speed: min / median / max | goal | met |")
    print("|---|---|---|---|---|---|")
    for case in dict.fromkeys(r["case"] for r in rows):
        rs = [r for r in rows if r["case"] == case]
        ratios = [r["ratio"] for r in rs]
        med = statistics.median(ratios)
        if case.startswith("train"):
            o = f"{statistics.median(r['ours']['tokens_per_s'] for r in rs):.0f} tok/s, " \
                f"{1000 * statistics.median(r['ours']['step_s'] for r in rs):.1f} ms"
            t = f"{statistics.median(r['theirs']['tokens_per_s'] for r in rs):.0f} tok/s, " \
                f"{1000 * statistics.median(r['theirs']['step_s'] for r in rs):.1f} ms"
        else:
            o = f"{1000 * statistics.median(r['ours']['step_s'] for r in rs):.1f} ms/step"
            t = f"{1000 * statistics.median(r['theirs']['step_s'] for r in rs):.1f} ms/step"
        goal = GOALS.get(case)
        verdict = f"≥ {goal} | {'yes' if med >= goal else 'no'}" if goal else "— | —"
        print(f"| {case} | {o} | {t} | {min(ratios):.2f} / {med:.2f} / {max(ratios):.2f} | {verdict} |")


main()
