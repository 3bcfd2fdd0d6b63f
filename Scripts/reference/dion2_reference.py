#!/usr/bin/env python3
"""Independent float64 numpy reference of Dion2, NorMuon and NorDion2 (algorithm notes §4, §3).

Written from the equations in ../shared/docs/algorithms.md §4 (checked against the public
reference's equations, not its code), independently of the Swift code. It writes the fixtures in
Tests/OptimizersTests/Fixtures/Dion2Family/*.json:

    python3 Scripts/reference/dion2_reference.py Tests/OptimizersTests/Fixtures/Dion2Family

Each fixture is a `dion replay` input (optimizer, hyperparameters, X0, gradients) plus the state
after every step: "steps": [{"X", "momentum", "selected" (Dion2, NorDion2), "variance" (NorMuon,
NorDion2)}]. X0 and the gradients are float32 values (the Swift side reads them exactly); all
arithmetic here is float64, Polar Express included.

Rules fixed here (and in docs/optimizers.md):
- k = min(size, max(1, ceil(fraction * size))), with fraction * size evaluated in float64
  (so 0.28 * 25 = 7.000000000000001 gives k = 8, as the reference's math.ceil does).
- Selection dimension: Dion2 takes rows when m <= n, columns otherwise; NorDion2 always rows.
- Score = L1 norm of the slice; the top k by score, ties broken toward the LOWER index; the
  selected indices are reported sorted ascending.
"""
import json
import math
import os
import sys

import numpy as np

f64 = np.float64
f32 = np.float32

POLAR_EXPRESS = [(8.156554524902461, -22.48329292557795, 15.878769915207462),
                 (4.042929935166739, -2.808917465908714, 0.5000178451051316),
                 (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
                 (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
                 (2.3465413258596377, -1.7097828382687081, 0.42323551169305323)]

NORMALIZATION_EPS = 1e-8  # NorMuon's 1e-8 in sqrt(V) + 1e-8 and in max(||O_hat||_F, 1e-8)


def polar_express(U, eps):
    """Five Polar Express steps on U / (1.02 ||U||_F + eps); Gram on the smaller side."""
    X = U / (1.02 * np.linalg.norm(U) + eps)
    tall = X.shape[0] > X.shape[1]
    for a, b, c in POLAR_EXPRESS:
        if tall:
            A = X.T @ X
            X = a * X + X @ (b * A + c * (A @ A))
        else:
            A = X @ X.T
            X = a * X + (b * A + c * (A @ A)) @ X
    return X


def selected_count(fraction, size):
    return min(size, max(1, math.ceil(fraction * size)))


def top_k(scores, k):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:k])


def lr_factor(adjust, m, n):
    return {"spectral_norm": math.sqrt(m / n), "rms_norm": 0.2 * math.sqrt(max(m, n)), "none": 1.0}[adjust]


def neuron_normalize(O, V, beta2):
    """NorMuon (§4.2 steps 3-4) on the rows of O with their variances V (returned updated)."""
    V = V + (1 - beta2) * ((O * O).mean(axis=1) - V)
    O_hat = O / (np.sqrt(V)[:, None] + NORMALIZATION_EPS)
    O_hat = O_hat * (np.linalg.norm(O) / max(np.linalg.norm(O_hat), NORMALIZATION_EPS))
    return O_hat, V


def dion2(X0, grads, lr, fraction, ef_decay, wd, adjust, eps):
    X = X0.astype(f64)
    m, n = X.shape
    M = np.zeros((m, n))
    rows = m <= n
    steps = []
    for G in grads:
        M = M + G
        B = M if rows else M.T            # slices are the rows of B
        S = top_k(np.abs(B).sum(axis=1).tolist(), selected_count(fraction, B.shape[0]))
        U = B[S, :].copy()                # taken before the decay
        B[S, :] *= ef_decay               # B is a view: decays M in place
        O = polar_express(U if rows else U.T, eps)
        X = (1 - lr * wd) * X
        if rows:
            X[S, :] -= lr * lr_factor(adjust, m, n) * O
        else:
            X[:, S] -= lr * lr_factor(adjust, m, n) * O
        steps.append({"X": X.tolist(), "momentum": M.tolist(), "selected": S})
    return steps


def normuon(X0, grads, lr, mu, beta2, wd, nesterov, cautious, adjust, eps):
    X = X0.astype(f64)
    m, n = X.shape
    M = np.zeros((m, n))
    V = np.zeros(m)
    steps = []
    for G in grads:
        M = mu * M + G
        U = mu * M + G if nesterov else M
        O_hat, V = neuron_normalize(polar_express(U, eps), V, beta2)
        if cautious:
            X = X - lr * wd * X * (X * O_hat >= 0)
        else:
            X = (1 - lr * wd) * X
        X = X - lr * lr_factor(adjust, m, n) * O_hat
        steps.append({"X": X.tolist(), "momentum": M.tolist(), "variance": V.tolist()})
    return steps


def nordion2(X0, grads, lr, fraction, mu, beta2, wd, adjust, eps):
    X = X0.astype(f64)
    m, n = X.shape
    M = np.zeros((m, n))
    V = np.zeros(m)
    steps = []
    for G in grads:
        M = M + G
        S = top_k(np.abs(M).sum(axis=1).tolist(), selected_count(fraction, m))
        U = M[S, :].copy()
        M[S, :] *= mu
        O_hat, V_S = neuron_normalize(polar_express(U, eps), V[S], beta2)
        V[S] = V_S
        X = (1 - lr * wd) * X
        X[S, :] -= lr * lr_factor(adjust, m, n) * O_hat
        steps.append({"X": X.tolist(), "momentum": M.tolist(), "selected": S, "variance": V.tolist()})
    return steps


def tie_gradients(rng, slices, width, k, count):
    """Gradients (slices x width, in the selection orientation) whose L1 scores tie at the top-k
    boundary: slices k-1, k, k+1 hold the same absolute values at step 1 (sign flips only, so the
    sums are bit-identical in any precision), the first k-1 slices are large, the rest small;
    afterwards slices k and k+1 keep sign-flipped copies, so they tie again at step 2."""
    assert slices >= k + 2
    base = rng.standard_normal(width).astype(f32)
    flips = [rng.choice([-1, 1], size=width).astype(f32) for _ in range(3)]
    grads = []
    for step in range(count):
        G = (0.1 * rng.standard_normal((slices, width))).astype(f32)
        G[:k - 1] = (10 * rng.standard_normal((k - 1, width))).astype(f32)
        if step == 0:
            for j in range(3):
                G[k - 1 + j] = flips[j] * base
        else:
            G[k] = flips[1] * (f32(0.5) * base)
            G[k + 1] = flips[2] * (f32(0.5) * base)
        grads.append(G)
    return grads


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20261216)
    cases = []

    def randn(*shape):
        return rng.standard_normal(shape).astype(f32)

    def case(optimizer, hp, X0, grads):
        return {"optimizer": optimizer, "hyperparameters": hp, "X0": X0.tolist(), "gradients": [g.tolist() for g in grads]}

    eps = 1e-8
    for name, (m, n), fraction, ef, adjust in [("wide", (6, 10), 0.5, 0.95, "spectral_norm"),
                                               ("tall", (10, 6), 0.34, 0.95, "spectral_norm"),
                                               ("square-rms", (8, 8), 0.25, 0.9, "rms_norm"),
                                               ("full", (5, 7), 1.0, 0.95, "none"),
                                               ("ceil", (25, 30), 0.28, 0.95, "spectral_norm"),
                                               ("tiny", (3, 2), 0.5, 0.95, "spectral_norm"),
                                               ("one-row", (1, 5), 0.25, 0.95, "spectral_norm")]:
        X0, grads = randn(m, n), [randn(m, n) for _ in range(4)]
        hp = {"lr": 0.02, "weight_decay": 0.01, "fraction": fraction, "ef_decay": ef, "adjust_lr": adjust,
              "selection": "exact"}
        cases.append(("dion2-" + name, case("dion2", hp, X0, grads), dion2(X0, grads, 0.02, fraction, ef, 0.01, adjust, eps)))
    for name, (m, n), transpose in [("ties-rows", (6, 8), False), ("ties-columns", (8, 6), True)]:
        slices, width = (n, m) if transpose else (m, n)
        grads = tie_gradients(rng, slices, width, 3, 4)
        grads = [g.T.copy() for g in grads] if transpose else grads
        X0 = randn(m, n)
        hp = {"lr": 0.02, "weight_decay": 0.01, "fraction": 0.5, "ef_decay": 0.9, "adjust_lr": "spectral_norm"}
        cases.append(("dion2-" + name, case("dion2", hp, X0, grads), dion2(X0, grads, 0.02, 0.5, 0.9, 0.01, "spectral_norm", eps)))

    for name, (m, n), nesterov, cautious, adjust in [("tall", (10, 6), False, False, "spectral_norm"),
                                                     ("wide-nesterov", (6, 10), True, False, "spectral_norm"),
                                                     ("square-cautious", (8, 8), False, True, "rms_norm"),
                                                     ("tiny", (3, 2), True, True, "none")]:
        X0, grads = randn(m, n), [randn(m, n) for _ in range(4)]
        hp = {"lr": 0.02, "weight_decay": 0.1, "mu": 0.95, "muon_beta2": 0.95, "nesterov": nesterov,
              "cautious_wd": cautious, "adjust_lr": adjust}
        cases.append(("normuon-" + name, case("normuon", hp, X0, grads),
                      normuon(X0, grads, 0.02, 0.95, 0.95, 0.1, nesterov, cautious, adjust, eps)))

    for name, (m, n), fraction, adjust in [("wide", (6, 10), 0.5, "spectral_norm"),
                                           ("tall", (10, 6), 0.3, "spectral_norm"),
                                           ("square-rms", (8, 8), 0.25, "rms_norm"),
                                           ("tiny", (2, 3), 0.5, "none")]:
        X0, grads = randn(m, n), [randn(m, n) for _ in range(4)]
        hp = {"lr": 0.02, "weight_decay": 0.01, "fraction": fraction, "mu": 0.95, "muon_beta2": 0.9, "adjust_lr": adjust,
              "selection": "exact"}
        cases.append(("nordion2-" + name, case("nordion2", hp, X0, grads),
                      nordion2(X0, grads, 0.02, fraction, 0.95, 0.9, 0.01, adjust, eps)))
    X0, grads = randn(8, 8), tie_gradients(rng, 8, 8, 4, 4)
    hp = {"lr": 0.02, "weight_decay": 0.01, "fraction": 0.5, "mu": 0.9, "muon_beta2": 0.95}
    cases.append(("nordion2-ties", case("nordion2", hp, X0, grads), nordion2(X0, grads, 0.02, 0.5, 0.9, 0.95, 0.01,
                                                                             "spectral_norm", eps)))

    for name, body, steps in cases:
        body = dict(body)
        body["steps"] = steps
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(body, f)
    print(f"wrote {len(cases)} fixtures to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/OptimizersTests/Fixtures/Dion2Family")
