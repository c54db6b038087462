#!/usr/bin/python3
"""bench_torch.py - the PyTorch side of scripts/bench (issue 2, "Benchmark").

Run with Debian's interpreter, /usr/bin/python3, which sees python3-torch.

The step is the same as cwb's trainer step (scripts/bench_step.c):
  data     a fixed N x d = 2048 x 64 float32 data set in memory (made once,
           outside the timing, like cwb's synthetic data set);
  sample   B indices uniformly without repeats (torch.randperm(N)[:B]; cwb
           draws them by rejection from the N samples), no pair noise, so
           both views start from the same rows; gathered once per view as
           cwb does (X[idx] twice, one 2B x d tensor);
  augment  per row: scale by 1 + 0.2 U(-1,1), add 0.1 N(0,1) jitter, zero
           each coordinate with probability 0.1 (cwb's defaults, same order);
  encoder  one shared tower on the 2B stacked views: Linear(64,256), ReLU,
           Linear(256,64), row-wise L2 normalisation (F.normalize);
  loss     one-way InfoNCE, logits = a b^T / 0.1, cross-entropy with the
           diagonal as targets (cwb's INFONCE with n_total = 0);
  update   torch.optim.SGD(lr=0.1, momentum=0.9), grads set to None between
           steps (PyTorch's fastest setting), and loss.item() so the step
           ends with the loss value in hand, as cwb_trainer_step returns it.
cwb additionally checks embeddings and gradients for NaN/Inf and computes the
gradient norm each step; PyTorch does neither.

"core" is the same step on fixed, pre-augmented views (encoder + loss +
backward + update only), to compare with bench_step's "phases ... core_ms".

Threads: torch.set_num_threads(T) sets the intra-op (OpenMP) pool used by
the elementwise kernels; PyTorch's matrix products go to the system BLAS
(Debian links OpenBLAS), whose pool follows OPENBLAS_NUM_THREADS, which
scripts/bench sets to the same T before starting this interpreter.

OpenMP's default wait policy spins between parallel regions; on a machine
whose cores are shared with other work, spinning threads can stall a step by
a whole scheduler slice, so scripts/bench also runs this script with
OMP_WAIT_POLICY=PASSIVE when T > 1 and reports PyTorch's better figure.

Output: one record per line, "kind key=value ...", medians over the timed
steps after warm-up, time.perf_counter (CLOCK_MONOTONIC on Linux), in ms.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

N, D, H, K = 2048, 64, 256, 64
TAU, LR, MOMENTUM = 0.1, 0.1, 0.9
JITTER, MASK, SCALE = 0.1, 0.1, 0.2


def augment(raw):
    """cwb_augment's order: scale, (flip off), jitter, mask."""
    f = 1.0 + SCALE * (2.0 * torch.rand(raw.shape[0], 1) - 1.0)
    v = raw * f
    v.add_(torch.randn_like(v), alpha=JITTER)
    v.masked_fill_(torch.rand_like(v) < MASK, 0.0)
    return v


def make_step(B, fixed_views=None):
    torch.manual_seed(1)
    X = torch.randn(N, D)
    enc = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, K))
    opt = torch.optim.SGD(enc.parameters(), lr=LR, momentum=MOMENTUM)
    labels = torch.arange(B)

    def step():
        if fixed_views is None:
            with torch.no_grad():
                idx = torch.randperm(N)[:B]
                raw = X[torch.cat((idx, idx))]
                views = augment(raw)
        else:
            views = fixed_views
        z = F.normalize(enc(views), dim=1)
        a, b = z[:B], z[B:]
        loss = F.cross_entropy(a @ b.t() / TAU, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def timed(step, warmup, steps):
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1e3)
    raw = list(ts)
    ts.sort()
    return statistics.median(ts), ts[len(ts) // 10], ts[(9 * len(ts)) // 10], raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--no-core", action="store_true")
    ap.add_argument("--samples", action="store_true",
                    help="also print every timed step, for pooling across runs")
    ap.add_argument("--label", default="torch",
                    help="the what= of the step records (scripts/bench tells runs apart)")
    args = ap.parse_args()
    batches = args.batch or [256, 1024]
    torch.set_num_threads(args.threads)
    print("torchconfig version=%s threads=%d interop=%d openblas_num_threads_env=%s omp_wait_policy=%s"
          % (torch.__version__, torch.get_num_threads(), torch.get_num_interop_threads(),
             os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
             os.environ.get("OMP_WAIT_POLICY", "default")))
    sys.stdout.flush()
    for B in batches:
        med, p10, p90, raw = timed(make_step(B), args.warmup, args.steps)
        if args.samples:
            print("samples what=%s loss=infonce B=%d ms=%s"
                  % (args.label, B, ",".join("%.4f" % t for t in raw)))
        print("torch loss=infonce B=%d what=step label=%s steps=%d median_ms=%.4f p10_ms=%.4f p90_ms=%.4f"
              % (B, args.label, args.steps, med, p10, p90))
        sys.stdout.flush()
        if not args.no_core:
            torch.manual_seed(2)
            views = augment(torch.randn(2 * B, D))
            med, p10, p90, _ = timed(make_step(B, views), args.warmup, args.steps)
            print("torch loss=infonce B=%d what=core steps=%d median_ms=%.4f p10_ms=%.4f p90_ms=%.4f"
                  % (B, args.steps, med, p10, p90))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
