#!/usr/bin/env python3
"""One FSDP Dion optimizer step of the Dion reference (github.com/microsoft/dion) over gloo: the
PyTorch side of `dion bench comm --mesh fsdp=N --shapes MxN --optimizers dion:ρ`
(Scripts/bench-vs-pytorch.sh, issue #17's goal).

Run under `python3 -m torch.distributed.run --standalone --nproc-per-node 4`. Every rank holds its
Shard(0) row block of one (or --matrices) M×N fp32 DTensor parameter on a 1-D CPU device mesh (the reference's
outer_shard_mesh, the FS axis of its paper; no replicate mesh), built as the reference's tests
build theirs (init_device_mesh + distribute_tensor). The reference's `dion.Dion` (its default RCQR,
one power iteration, torch.compile'd kernels) steps it at each rank fraction.

Timing follows `dion bench comm`: gradients are drawn before the clock (three, cycled), warm-up
steps are not timed (the first compiles), then a barrier and --steps steps back to back; the time
per step is each rank's mean, the maximum over ranks. One thread per process. Prints one JSON
object per rank fraction on rank 0. The reference is imported from --reference, never copied.
"""
import argparse
import contextlib
import json
import os
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--shape", default="2048x2048")
p.add_argument("--rank-fractions", default="0.25,0.0625")
p.add_argument("--matrices", type=int, default=1,
               help="step this many matrices of --shape together (the reference pads a batch to the mesh "
                    "size with dummy matrices, so with 1 matrix on 4 ranks it computes 4)")
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--reference", default=os.environ.get("DION_REFERENCE", "/tmp/msdion"))
args = p.parse_args()

try:
    import torch
    import torch.distributed as dist
    from torch.distributed.tensor import Shard, distribute_tensor, init_device_mesh
    from torch.distributed.tensor import _random as dtensor_random
except ImportError as e:
    sys.exit(f"torch_fsdp_dion_step.py: PyTorch is not installed ({e}); see docs/benchmarks.md")
sys.path.insert(0, args.reference)
try:
    from dion import Dion
except ImportError as e:
    sys.exit(f"torch_fsdp_dion_step.py: cannot import the Dion reference from {args.reference}: {e}")

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class LocalShardRNG:
    """DTensor's random ops (the reference draws Q₀ and every step's sketch S with
    `torch.distributed.tensor.randn`) support only CUDA-like meshes: on a CPU mesh they fail
    (`_dtensor_init_helper` asserts an RNG tracker). This stand-in tracker lets each rank draw
    its local shard from its own CPU generator, seeded per rank — the same amount of drawing as
    DTensor's offset-based tracker does on GPUs (each rank draws only its block), different
    numbers. Installed by this harness; the reference's code is unchanged."""

    distribute_region_enabled = True

    @contextlib.contextmanager
    def _distribute_region(self, spec, generator=None):
        yield


def main():
    dist.init_process_group(backend="gloo")
    world, rank = dist.get_world_size(), dist.get_rank()
    mesh = init_device_mesh("cpu", (world,))
    dtensor_random._rng_tracker = LocalShardRNG()
    m, n = (int(s) for s in args.shape.lower().split("x"))
    for fraction in (float(f) for f in args.rank_fractions.split(",")):
        # A fresh compile per rank fraction: recompiling the reference's kernels for a second r
        # turns on dynamic shapes, and dynamo then fails on DTensor ("sources must not be empty
        # for symbol"); each case compiles as a separate run would.
        torch._dynamo.reset()
        torch.manual_seed(0)
        params = [torch.nn.Parameter(distribute_tensor(torch.randn(m, n) * 0.02, mesh, [Shard(0)]))
                  for _ in range(args.matrices)]
        grads = []
        for k in range(3):
            torch.manual_seed(k + 1)
            grads.append([distribute_tensor(torch.randn(m, n), mesh, [Shard(0)]) for _ in params])
        torch.manual_seed(1000 + rank)  # each rank's shards of Q₀ and of the sketches
        opt = Dion(params, outer_shard_mesh=mesh, rank_fraction=fraction, lr=0.01,
                   mu=0.95, weight_decay=0.01)
        for k in range(args.warmup):
            for param, grad in zip(params, grads[k % 3]):
                param.grad = grad
            opt.step()
        dist.barrier()
        start = time.perf_counter()
        for k in range(args.steps):
            for param, grad in zip(params, grads[k % 3]):
                param.grad = grad
            opt.step()
        mine = torch.tensor([(time.perf_counter() - start) / args.steps])
        dist.all_reduce(mine, op=dist.ReduceOp.MAX)
        if not all(torch.isfinite(param.to_local()).all() for param in params):
            sys.exit(f"rank {rank}: non-finite parameter after the steps")
        if rank == 0:
            r = max(1, round(fraction * min(m, n)))
            print(json.dumps(dict(impl="pytorch", torch=torch.__version__, optimizer="dion",
                                  shape=f"{m}x{n}", rank_fraction=fraction, rank=r, processes=world,
                                  mesh=f"fsdp={world}", matrices=args.matrices, steps=args.steps,
                                  warmup=args.warmup, step_seconds=mine.item(),
                                  per_matrix_seconds=mine.item() / args.matrices)), flush=True)
        del opt
    dist.destroy_process_group()


main()
