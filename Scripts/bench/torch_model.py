#!/usr/bin/env python3
"""The default model of `dion train` in PyTorch (CPU), trained with the Dion reference's optimizer
or torch's AdamW: the PyTorch side of Scripts/bench-vs-pytorch.sh (issue #17's comparisons).

The same architecture, sizes and FLOPs as `dion train`'s defaults (Sources/Transformer,
Sources/DionCLI/TrainCommand.swift): byte vocabulary 256, learned token and position embeddings,
4 pre-norm blocks of d = 128 with 4 heads, T = 64, RMSNorm (ε = 1e-6, learned gain) → causal
multi-head attention (q, k, v, o without bias, scale 1/√d_h) → residual, RMSNorm → ReLU² MLP
(4d hidden) → residual, a final RMSNorm and an untied head; initialization N(0, 0.02²), with
wo and w2 at 0.02/√(2·layers), gains 1. q, k and v stay three d×d parameters (as ours: the
optimizer sees three matrices) and are multiplied as one stacked (3d)×d weight (as ours does).

Optimizers, with `dion train`'s hyperparameters:
  --optimizer dion   the reference's `dion.Dion` (ρ = --rank-fraction, lr 0.02, μ 0.95, weight decay
                     0.01) on the 24 block matrices, its own AdamW (lr 0.004, betas 0.9/0.95, no decay)
                     on embeddings, norms and head. With several processes: the reference's
                     data-parallel mode (the model wrapped in DDP, DDP's all-reduce off, the optimizer's
                     compressed sync, replicate_mesh_grad_sync=True), as in its train.py.
  --optimizer adamw  torch.optim.AdamW (lr 0.004, betas 0.9/0.95, weight decay 0.01 on the matrices,
                     0 on the rest); with several processes DDP's gradient all-reduce.

One thread per process (`torch.set_num_threads(1)`). Run it alone for one process, or under
`python3 -m torch.distributed.run --standalone --nproc-per-node 4` for gloo DDP. Every step is
timed on rank 0 (batch, forward, backward, optimizer, as `dion train`'s step_seconds); the
first --warmup steps (torch.compile of the reference's kernels happens there) are skipped. Prints
one JSON object on rank 0.

The reference is imported from --reference (a checkout of github.com/microsoft/dion), never copied
into this repository.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--optimizer", choices=["dion", "adamw"], required=True)
    p.add_argument("--rank-fraction", type=float, default=0.25)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=10, help="steps not counted in the steady state")
    p.add_argument("--batch-size", type=int, default=16, help="global batch in sequences")
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--data", default="data/shakespeare.txt")
    p.add_argument("--reference", default=os.environ.get("DION_REFERENCE", "/tmp/msdion"),
                   help="directory holding the reference's `dion` package")
    p.add_argument("--attention", choices=["sdpa", "matmul"], default="sdpa",
                   help="sdpa: F.scaled_dot_product_attention(is_causal=True); matmul: explicit "
                        "scores, mask, softmax (the same FLOPs as ours)")
    p.add_argument("--adamw-impl", choices=["default", "foreach", "fused"], default="default",
                   help="torch.optim.AdamW's implementation")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


args = parse_args()

try:
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the shell script checks first; this is for direct calls
    sys.exit(f"torch_model.py: PyTorch is not installed ({e}); see docs/benchmarks.md")

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class Block(nn.Module):
    def __init__(self, d, heads, hidden, layers, attention):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.attn_norm = nn.RMSNorm(d, eps=1e-6)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.mlp_norm = nn.RMSNorm(d, eps=1e-6)
        self.w1 = nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(hidden, d, bias=False)
        for w in (self.wq, self.wk, self.wv, self.w1):
            nn.init.normal_(w.weight, std=0.02)
        for w in (self.wo, self.w2):
            nn.init.normal_(w.weight, std=0.02 / math.sqrt(2 * layers))

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        a = self.attn_norm(x)
        qkv = F.linear(a, torch.cat([self.wq.weight, self.wk.weight, self.wv.weight]))
        q, k, v = qkv.view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if self.attention == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h))
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            o = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + self.wo(o.transpose(1, 2).reshape(b, t, d))
        return x + self.w2(F.relu(self.w1(self.mlp_norm(x))).square())


class ByteTransformer(nn.Module):
    def __init__(self, vocab, layers, d, heads, seq_len, attention):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos_embed = nn.Embedding(seq_len, d)
        self.blocks = nn.ModuleList(Block(d, heads, 4 * d, layers, attention) for _ in range(layers))
        self.final_norm = nn.RMSNorm(d, eps=1e-6)
        self.head = nn.Linear(d, vocab, bias=False)
        for w in (self.embed.weight, self.pos_embed.weight, self.head.weight):
            nn.init.normal_(w, std=0.02)

    def forward(self, inputs, targets):
        t = inputs.shape[1]
        x = self.embed(inputs) + self.pos_embed.weight[:t]
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.final_norm(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def model_flops_per_token(layers, d, seq_len, matmul_params):
    """PaLM's count, as `dion bench model`: 6·N + 12·layers·T·d per token (fwd + bwd)."""
    return 6 * matmul_params + 12 * layers * seq_len * d


def main():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group(backend="gloo")
    if args.batch_size % world:
        sys.exit(f"--batch-size {args.batch_size} must be divisible by {world} processes")
    torch.manual_seed(args.seed)  # same initial weights on every rank (DDP broadcasts anyway)

    model = ByteTransformer(256, args.layers, args.d_model, args.heads, args.seq_len, args.attention)
    matrices = [p for blk in model.blocks for p in (blk.wq.weight, blk.wk.weight, blk.wv.weight,
                                                   blk.wo.weight, blk.w1.weight, blk.w2.weight)]
    ids = {id(p) for p in matrices}
    others = [p for p in model.parameters() if id(p) not in ids]
    n_params = sum(p.numel() for p in model.parameters())
    matmul_params = sum(p.numel() for p in matrices) + model.head.weight.numel()

    ddp = None
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(model)

    if args.optimizer == "dion":
        sys.path.insert(0, args.reference)
        try:
            from dion import Dion
        except ImportError as e:
            sys.exit(f"torch_model.py: cannot import the Dion reference from {args.reference}: {e}")
        groups = [dict(params=matrices),
                  dict(params=others, algorithm="adamw", lr=0.004, betas=(0.9, 0.95), weight_decay=0.0)]
        opt = Dion(groups, replicate_mesh=ddp.process_group if ddp else None,
                   replicate_mesh_grad_sync=True, rank_fraction=args.rank_fraction,
                   lr=0.02, mu=0.95, weight_decay=0.01)
    else:
        kw = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[args.adamw_impl]
        opt = torch.optim.AdamW([dict(params=matrices, weight_decay=0.01),
                                 dict(params=others, weight_decay=0.0)],
                                lr=0.004, betas=(0.9, 0.95), eps=1e-8, **kw)

    # Data: the training part (first 90%) of the corpus, random windows; rank r takes sequences
    # [r·B/R, (r+1)·B/R) of each global batch.
    raw = np.fromfile(args.data, dtype=np.uint8)
    train = torch.from_numpy(raw[: len(raw) - round(len(raw) * 0.1)].astype(np.int64))
    per_rank = args.batch_size // world
    gen = torch.Generator().manual_seed(args.seed + 1)
    window = torch.arange(args.seq_len + 1)

    def batch():
        starts = torch.randint(0, len(train) - args.seq_len - 1, (args.batch_size,), generator=gen)
        starts = starts[rank * per_rank:(rank + 1) * per_rank]
        w = train[starts[:, None] + window]
        return w[:, :-1], w[:, 1:]

    net = ddp if ddp else model
    times, losses = [], []
    for step in range(args.steps):
        t0 = time.perf_counter()
        x, y = batch()
        if ddp is not None and args.optimizer == "dion":
            with ddp.no_sync():  # the optimizer syncs (compressed), as the reference's train.py
                loss = net(x, y)
                loss.backward()
        else:
            loss = net(x, y)
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())

    steady = times[args.warmup:]
    med = statistics.median(steady)
    tokens = args.batch_size * args.seq_len
    if rank == 0:
        out = dict(impl="pytorch", torch=torch.__version__, optimizer=args.optimizer,
                   rank_fraction=args.rank_fraction if args.optimizer == "dion" else None,
                   processes=world, batch=args.batch_size, seq_len=args.seq_len, parameters=n_params,
                   attention=args.attention, steps=args.steps, warmup=args.warmup,
                   median_step_s=med, min_step_s=min(steady), max_step_s=max(steady),
                   mean_step_s=sum(steady) / len(steady), tokens_per_s=tokens / med,
                   model_gflop_per_step=model_flops_per_token(args.layers, args.d_model, args.seq_len,
                                                              matmul_params) * tokens / 1e9,
                   first_loss=losses[0], last_loss=losses[-1],
                   threads=torch.get_num_threads())
        print(json.dumps(out), flush=True)
    if world > 1:
        dist.destroy_process_group()


main()
