#!/usr/bin/python3
"""ref_fashion_mnist.py - the PyTorch reference of examples/fashion_mnist.lua.

The same model, views, epochs, optimiser and probes as one run of cwb's
recipe (docs/real-data.md, "The PyTorch reference"), written here in PyTorch
(Debian's python3-torch) so the two can be compared in one run:

  encoder   Linear 784-512, ReLU, Linear 512-128: the representation h;
            head ReLU, Linear 128-128, L2 norm: the loss's space.  PyTorch's
            default nn.Linear initialisation, U(-1/sqrt(fan_in), ..), which is
            cwb's (the draws differ)
  views     per image, in cwb's order and to its definitions
            (src/engine/data/image_augment.h): a random resized crop of area
            U(crop_scale, 1) and aspect log-uniform in [3/4, 4/3] (10 tries,
            then the whole image), resized bilinearly with align_corners=False
            and source coordinates clamped at 0; a horizontal flip with
            probability 0.5; brightness and contrast factors U(0.6, 1.4),
            x <- f_b f_c x + f_b (1 - f_c) mean(x), clamped to [0, 1].  All of
            it vectorised over the batch (index arithmetic and gathers), as
            cwb's is a loop without allocation
  order     a permutation each epoch (torch.randperm), the incomplete last
            batch dropped: epochs * (N // B) steps
  loss      ntxent (SimCLR's NT-Xent: 2B anchors, 2B-2 negatives) or infonce
            (CLIP's symmetric in-batch InfoNCE), tau fixed
  optimiser AdamW(lr, weight_decay), betas (0.9, 0.999), eps 1e-8, constant
  probes    on the un-augmented images' h: weighted kNN (k 20, cosine,
            exp(s / 0.07)) and the linear probe - standardised features,
            multinomial logistic regression (mean cross-entropy + l2/2 ||W||^2,
            bias free), l2 chosen among 1e-1 .. 1e-6 on 10% of the training
            rows held out, strongest first with warm starts, refitted on all;
            torch.optim.LBFGS (strong Wolfe, 20 corrections, up to 500
            iterations, gradient tolerance 1e-4)

Prints one line per quantity (read by the recipe):
  linear_acc A, knn_acc K, train_seconds S, eval_seconds E, threads T
Usage: ref_fashion_mnist.py [--train 0] [--test 0] [--epochs 10] [--batch 256]
       [--loss ntxent] [--lr 1e-3] [--wd 1e-4] [--tau 0.2] [--crop-scale 0.7]
       [--threads 1] [--seed 1] [--data-dir /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import math
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=int, default=0, help="training images (0: all 60000; else a random subset)")
    p.add_argument("--test", type=int, default=0, help="test images (the first N; 0: all 10000)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--loss", choices=["ntxent", "infonce"], default="ntxent")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--tau", type=float, default=0.2)
    p.add_argument("--crop-scale", type=float, default=0.7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=os.environ.get("CWB_DATA", "/usr/share/datasets/fashion-mnist"))
    return p.parse_args()


ARGS = parse()
# the thread count before torch starts its pools
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.exit("ref_fashion_mnist.py: %s (install Debian's python3-torch: scripts/install-deps --bench)" % e)
torch.set_num_threads(ARGS.threads)


def read_idx(path):
    """An IDX file (optionally .gz) as a numpy array: magic 0 0 type rank, big-endian sizes."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                raw = f.read()
            break
    else:
        sys.exit("ref_fashion_mnist.py: %s(.gz) not found (Debian's dataset-fashion-mnist)" % path)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        sys.exit("ref_fashion_mnist.py: %s: not an IDX file of unsigned bytes" % path)
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    return data.reshape(dims)


def load(split, n, rng):
    d = ARGS.data_dir
    if os.path.isdir(os.path.join(d, "fashion-mnist")):
        d = os.path.join(d, "fashion-mnist")
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(d, pre + "-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, pre + "-labels-idx1-ubyte")).astype(np.int64)
    if n > 0:
        idx = np.sort(rng.choice(len(x), n, replace=False)) if split == "train" else np.arange(n)
        x, y = x[idx], y[idx]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


# ---- the views: cwb's image augmentations, vectorised ----------------------------------------

H = W = 28


def crop_params(B, gen):
    """torchvision RandomResizedCrop.get_params, ratio (3/4, 4/3), all B images at once."""
    area = float(H * W)
    scale = ARGS.crop_scale
    i = torch.zeros(B, dtype=torch.long)
    j = torch.zeros(B, dtype=torch.long)
    h = torch.full((B,), H, dtype=torch.long)
    w = torch.full((B,), W, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    lr0, lr1 = math.log(3 / 4), math.log(4 / 3)
    for _ in range(10):
        target = area * (scale + (1 - scale) * torch.rand(B, generator=gen, dtype=torch.float64))
        aspect = torch.exp(lr0 + (lr1 - lr0) * torch.rand(B, generator=gen, dtype=torch.float64))
        cw = torch.round(torch.sqrt(target * aspect)).long()
        ch = torch.round(torch.sqrt(target / aspect)).long()
        fits = (~done) & (cw > 0) & (cw <= W) & (ch > 0) & (ch <= H)
        ui = torch.rand(B, generator=gen, dtype=torch.float64)
        uj = torch.rand(B, generator=gen, dtype=torch.float64)
        ii = (ui * (H - ch + 1).double()).long()
        jj = (uj * (W - cw + 1).double()).long()
        i = torch.where(fits, ii, i)
        j = torch.where(fits, jj, j)
        h = torch.where(fits, ch, h)
        w = torch.where(fits, cw, w)
        done |= fits
    return i, j, h, w  # the fall-back (never fitted) is the whole square image


def source(n, m, span):
    """Bilinear source index pairs and weights of m outputs from spans of n (B,) pixels."""
    d = torch.arange(m, dtype=torch.float64)
    s = ((d[None, :] + 0.5) * span[:, None].double() / m - 0.5).clamp(min=0)
    k = s.floor().long()
    k = torch.minimum(k, span[:, None] - 1)
    k1 = torch.minimum(k + 1, span[:, None] - 1)
    return k, k1, (s - k.double()).float()


def augment(x, gen):
    """Two-view augmentation of a batch x (B x 784), cwb's definitions and order."""
    B = x.shape[0]
    img = x.view(B, H, W)
    i, j, h, w = crop_params(B, gen)
    y0, y1, wy = source(H, H, h)
    x0, x1, wx = source(W, W, w)
    y0, y1 = y0 + i[:, None], y1 + i[:, None]
    x0, x1 = x0 + j[:, None], x1 + j[:, None]
    b = torch.arange(B)[:, None, None]
    r0 = img[b, y0[:, :, None], x0[:, None, :]], img[b, y0[:, :, None], x1[:, None, :]]
    r1 = img[b, y1[:, :, None], x0[:, None, :]], img[b, y1[:, :, None], x1[:, None, :]]
    t0 = r0[0] + wx[:, None, :] * (r0[1] - r0[0])
    t1 = r1[0] + wx[:, None, :] * (r1[1] - r1[0])
    out = t0 + wy[:, :, None] * (t1 - t0)
    flip = torch.rand(B, generator=gen) < 0.5
    out = torch.where(flip[:, None, None], out.flip(-1), out)
    fb = 0.6 + 0.8 * torch.rand(B, generator=gen)
    fc = 0.6 + 0.8 * torch.rand(B, generator=gen)
    m = out.mean(dim=(1, 2))
    out = (fb * fc)[:, None, None] * out + (fb * (1 - fc) * m)[:, None, None]
    return out.clamp(0, 1).reshape(B, H * W)


# ---- the model and the losses ----------------------------------------------------------------

class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(784, 512)
        self.l2 = torch.nn.Linear(512, 128)
        self.head = torch.nn.Linear(128, 128)

    def represent(self, x):
        return self.l2(F.relu(self.l1(x)))

    def forward(self, x):
        return F.normalize(self.head(F.relu(self.represent(x))), dim=1)


def ntxent(z, B, tau):
    s = z @ z.t() / tau
    s = s.masked_fill(torch.eye(2 * B, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)])
    return F.cross_entropy(s, target)


def infonce_sym(z, B, tau):
    s = z[:B] @ z[B:].t() / tau
    t = torch.arange(B)
    return 0.5 * (F.cross_entropy(s, t) + F.cross_entropy(s.t(), t))


# ---- the probes ---------------------------------------------------------------------------------

def knn(tr, ytr, te, yte, k=20, temp=0.07, K=10):
    trn = F.normalize(tr, dim=1)
    ten = F.normalize(te, dim=1)
    correct = 0
    for s in range(0, len(te), 512):
        sim = ten[s:s + 512] @ trn.t()
        v, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(v), K).scatter_add_(1, ytr[idx], torch.exp(v / temp))
        correct += int((votes.argmax(1) == yte[s:s + 512]).sum())
    return correct / len(te)


def fit(x, y, l2, Wb, K=10):
    W_, b_ = Wb
    W_ = W_.clone().requires_grad_(True)
    b_ = b_.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([W_, b_], lr=1, max_iter=500, history_size=20, tolerance_grad=1e-4,
                            tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ W_ + b_, y) + 0.5 * l2 * (W_ * W_).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W_.detach(), b_.detach()


def linear_probe(tr, ytr, te, yte, K=10, seed=1):
    mean, std = tr.mean(0), tr.std(0, unbiased=False)
    std = torch.where(std * std > 1e-12, std, torch.ones_like(std))
    tr, te = (tr - mean) / std, (te - mean) / std
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(tr), generator=g)
    nval = int(round(0.1 * len(tr)))
    val, fitp = perm[:nval], perm[nval:]
    Wb = (torch.zeros(tr.shape[1], K), torch.zeros(K))
    best, best_l2 = -1.0, None
    for l2 in [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]:
        Wb = fit(tr[fitp], ytr[fitp], l2, Wb)
        acc = float(((tr[val] @ Wb[0] + Wb[1]).argmax(1) == ytr[val]).float().mean())
        if acc > best:
            best, best_l2 = acc, l2
    Wb = fit(tr, ytr, best_l2, Wb)
    return float(((te @ Wb[0] + Wb[1]).argmax(1) == yte).float().mean()), best_l2


def main():
    rng = np.random.default_rng(ARGS.seed)
    torch.manual_seed(ARGS.seed)
    gen = torch.Generator().manual_seed(ARGS.seed)
    xtr, ytr = load("train", ARGS.train, rng)
    xte, yte = load("test", ARGS.test, rng)
    N, B = len(xtr), ARGS.batch
    model = Encoder()
    opt = torch.optim.AdamW(model.parameters(), lr=ARGS.lr, weight_decay=ARGS.wd, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = ntxent if ARGS.loss == "ntxent" else infonce_sym
    steps = ARGS.epochs * (N // B)
    print("PyTorch %s: %d training images, %d test, %s loss, B %d, %d epochs (%d steps), %d thread(s)"
          % (torch.__version__, N, len(xte), ARGS.loss, B, ARGS.epochs, steps, torch.get_num_threads()),
          flush=True)
    t0 = time.monotonic()
    last = float("nan")
    for epoch in range(ARGS.epochs):
        perm = torch.randperm(N, generator=gen)
        for s in range(N // B):
            x = xtr[perm[s * B:(s + 1) * B]]
            views = torch.cat([augment(x, gen), augment(x, gen)])
            loss = loss_fn(model(views), B, ARGS.tau)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        last = float(loss)
        print("  epoch %d: loss %.4f (%.1f s)" % (epoch + 1, last, time.monotonic() - t0), flush=True)
    train_s = time.monotonic() - t0
    t1 = time.monotonic()
    with torch.no_grad():
        htr, hte = model.represent(xtr), model.represent(xte)
        knn_acc = knn(htr, ytr, hte, yte)
    lin_acc, l2 = linear_probe(htr, ytr, hte, yte)
    eval_s = time.monotonic() - t1
    print("final_loss %.4f" % last)
    print("knn_acc %.4f" % knn_acc)
    print("linear_acc %.4f" % lin_acc)
    print("linear_l2 %g" % l2)
    print("train_seconds %.1f" % train_s)
    print("eval_seconds %.1f" % eval_s)
    print("threads %d" % torch.get_num_threads())


if __name__ == "__main__":
    main()
