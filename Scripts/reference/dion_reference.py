#!/usr/bin/env python3
"""Independent numpy reference of the single-process optimizers (algorithm notes §1, §1.2, §3).

Written from the equations, not from the Swift code, and used to regenerate the committed test
fixtures in Tests/OptimizersTests/Fixtures/*.json:

    python3 Scripts/reference/dion_reference.py Tests/OptimizersTests/Fixtures

Each fixture has the `dion replay` input format (optimizer, hyperparameters, X0, optional Q0,
gradients) plus the expected state after each step ("steps": [{"X", "momentum", "Q"}]).
Computation is in float32 like the Swift code. Dion orthonormalizes with Householder QR
(numpy.linalg.qr): RCQR gives the same P up to column signs, which cancel in P·Qᵀ and P·Rᵀ, so
X and the buffer must match exactly while Q is compared up to the sign of each column.
"""
import json
import os
import sys

import numpy as np

f32 = np.float32


def dion(X0, grads, Q0, lr, mu, wd, eps):
    X = X0.astype(f32).copy()
    m, n = X.shape
    M = np.zeros_like(X)
    Q = Q0.astype(f32).copy()
    transposed = m < n
    scale = f32(np.sqrt(m / n))
    steps = []
    for G in grads:
        M = (M + G).astype(f32)
        B = M.T if transposed else M
        if not B.any():
            P = np.zeros((B.shape[0], Q.shape[1]), dtype=f32)
            R = Q.copy()
        else:
            P0 = (B @ Q).astype(f32)
            P, _ = np.linalg.qr(P0)
            P = P.astype(f32)
            R = (B.T @ P).astype(f32)
            P = np.nan_to_num(P)
            R = np.nan_to_num(R)
        B = (B - f32(1 - mu) * (P @ R.T)).astype(f32)
        M = B.T.copy() if transposed else B
        Q = (R / (np.linalg.norm(R, axis=0, keepdims=True) + f32(eps))).astype(f32)
        update = P @ Q.T
        if transposed:
            update = update.T
        X = (f32(1 - lr * wd) * X - f32(lr) * scale * update).astype(f32)
        steps.append({"X": X.tolist(), "momentum": M.tolist(), "Q": Q.tolist()})
    return steps


POLAR_EXPRESS = [(8.156554524902461, -22.48329292557795, 15.878769915207462),
                 (4.042929935166739, -2.808917465908714, 0.5000178451051316),
                 (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
                 (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
                 (2.3465413258596377, -1.7097828382687081, 0.42323551169305323)]
KELLER_JORDAN = [(3.4445, -4.7750, 2.0315)] * 5


def newton_schulz(G, coefficients, eps=1e-7):
    schedule, norm = (POLAR_EXPRESS, 1.02) if coefficients == "polar-express" else (KELLER_JORDAN, 1.0)
    X = (G / (f32(norm) * np.linalg.norm(G) + f32(eps))).astype(f32)
    wide = X.shape[0] <= X.shape[1]
    for a, b, c in schedule:
        A = X @ X.T if wide else X.T @ X
        Bm = f32(b) * A + f32(c) * (A @ A)
        X = (f32(a) * X + (Bm @ X if wide else X @ Bm)).astype(f32)
    return X


def muon(X0, grads, lr, mu, wd, nesterov, coefficients, adjust):
    X = X0.astype(f32).copy()
    out, inp = X.shape
    M = np.zeros_like(X)
    scale = {"spectral_norm": np.sqrt(out / inp), "rms_norm": 0.2 * np.sqrt(max(out, inp)), "none": 1.0}[adjust]
    steps = []
    for G in grads:
        M = (f32(mu) * M + G).astype(f32)
        U = (G + f32(mu) * M).astype(f32) if nesterov else M
        O = newton_schulz(U, coefficients)
        X = (f32(1 - lr * wd) * X - f32(lr * scale) * O).astype(f32)
        steps.append({"X": X.tolist(), "momentum": M.tolist()})
    return steps


def adamw(X0, grads, lr, betas, wd, eps):
    X = X0.astype(f32).copy()
    m = np.zeros_like(X)
    v = np.zeros_like(X)
    b1, b2 = betas
    steps = []
    for t, G in enumerate(grads, start=1):
        m = f32(b1) * m + f32(1 - b1) * G
        v = f32(b2) * v + f32(1 - b2) * G * G
        X = f32(1 - lr * wd) * X
        X = (X - f32(lr / (1 - b1 ** t)) * m / (np.sqrt(v) / f32(np.sqrt(1 - b2 ** t)) + f32(eps))).astype(f32)
        steps.append({"X": X.tolist(), "momentum": m.tolist()})
    return steps


def lion(X0, grads, lr, betas, wd):
    X = X0.astype(f32).copy()
    m = np.zeros_like(X)
    b1, b2 = betas
    steps = []
    for G in grads:
        u = np.sign(f32(b1) * m + f32(1 - b1) * G)
        m = (f32(b2) * m + f32(1 - b2) * G).astype(f32)
        X = (f32(1 - lr * wd) * X - f32(lr) * u).astype(f32)
        steps.append({"X": X.tolist(), "momentum": m.tolist()})
    return steps


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20261124)
    cases = []

    def randn(*shape):
        return rng.standard_normal(shape).astype(f32)

    for name, (m, n), rank, method in [("tall-full", (12, 6), 6, "rcqr"), ("tall-half", (12, 6), 3, "rcqr"),
                                       ("wide", (6, 12), 2, "rcqr"), ("square-full", (8, 8), 8, "rcqr"),
                                       ("square-r3-qr", (8, 8), 3, "qr"), ("square-r3-cqr", (8, 8), 3, "cqr"),
                                       ("tiny", (3, 2), 1, "rcqr"), ("large-rcqr", (130, 24), 6, "rcqr")]:
        X0, grads, Q0 = randn(m, n), [randn(m, n) for _ in range(4)], randn(min(m, n), rank)
        hp = {"lr": 0.02, "mu": 0.95, "weight_decay": 0.01, "epsilon": 1e-8, "rank": rank, "orthonormalization": method}
        cases.append(("dion-" + name, {"optimizer": "dion", "hyperparameters": hp, "X0": X0.tolist(),
                                       "Q0": Q0.tolist(), "gradients": [g.tolist() for g in grads]},
                      dion(X0, grads, Q0, 0.02, 0.95, 0.01, 1e-8)))
    for name, (m, n), nesterov, coeff, adjust in [("tall-pe", (8, 5), False, "polar-express", "spectral_norm"),
                                                  ("wide-kj-nesterov", (5, 8), True, "keller-jordan", "rms_norm"),
                                                  ("square-none", (6, 6), False, "polar-express", "none")]:
        X0, grads = randn(m, n), [randn(m, n) for _ in range(3)]
        hp = {"lr": 0.02, "mu": 0.95, "weight_decay": 0.01, "nesterov": nesterov, "coefficients": coeff, "adjust_lr": adjust}
        cases.append(("muon-" + name, {"optimizer": "muon", "hyperparameters": hp, "X0": X0.tolist(),
                                       "gradients": [g.tolist() for g in grads]},
                      muon(X0, grads, 0.02, 0.95, 0.01, nesterov, coeff, adjust)))
    X0, grads = randn(4, 3), [randn(4, 3) for _ in range(5)]
    cases.append(("adamw", {"optimizer": "adamw", "hyperparameters": {"lr": 0.01, "betas": [0.9, 0.95],
                                                                      "weight_decay": 0.1, "epsilon": 1e-8},
                            "X0": X0.tolist(), "gradients": [g.tolist() for g in grads]},
                  adamw(X0, grads, 0.01, (0.9, 0.95), 0.1, 1e-8)))
    cases.append(("lion", {"optimizer": "lion", "hyperparameters": {"lr": 0.01, "betas": [0.9, 0.99], "weight_decay": 0.1},
                           "X0": X0.tolist(), "gradients": [g.tolist() for g in grads]},
                  lion(X0, grads, 0.01, (0.9, 0.99), 0.1)))
    # Mesh-sized Dion cases (a square, a tall and a wide matrix large enough to shard over 4 ranks on
    # each side), drawn from their own generator so the cases above stay byte-identical.
    rng_mesh = np.random.default_rng(20261219)
    for name, (m, n), rank, method in [("square-32", (32, 32), 8, "rcqr"), ("tall-48x32", (48, 32), 8, "rcqr"),
                                       ("wide-32x48", (32, 48), 12, "qr")]:
        X0 = rng_mesh.standard_normal((m, n)).astype(f32)
        grads = [rng_mesh.standard_normal((m, n)).astype(f32) for _ in range(3)]
        Q0 = rng_mesh.standard_normal((min(m, n), rank)).astype(f32)
        hp = {"lr": 0.02, "mu": 0.95, "weight_decay": 0.01, "epsilon": 1e-8, "rank": rank, "orthonormalization": method}
        cases.append(("dion-" + name, {"optimizer": "dion", "hyperparameters": hp, "X0": X0.tolist(),
                                       "Q0": Q0.tolist(), "gradients": [g.tolist() for g in grads]},
                      dion(X0, grads, Q0, 0.02, 0.95, 0.01, 1e-8)))
    for name, case, steps in cases:
        case = dict(case)
        case["steps"] = steps
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(case, f)
    print(f"wrote {len(cases)} fixtures to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/OptimizersTests/Fixtures")
