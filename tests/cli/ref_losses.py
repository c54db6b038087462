#!/usr/bin/python3
"""ref_losses.py DIR - PyTorch re-implementations of the peers' conventions for
the losses cwb calls ntxent, dcl with both_views and symmetric infonce, written
for tests/cli/cli_loss_torch.sh (which compares cwb against them).

Writes into DIR, from fixed seeded inputs: a_<case>.npy, b_<case>.npy (float32
embeddings, not normalised: every reference normalises inside, as lightly
does) and, per loss and case, <loss>_<case>_value.npy, _ga.npy, _gb.npy (the
value and dL/da, dL/db from autograd in float64).  The conventions, re-written
from the peers' published code (not imported):

  ntxent       lightly.loss.NTXentLoss (memory_bank_size=0): logits of each
               view against the other view and against its own view without
               the diagonal, cross-entropy over the 2B rows, mean.
  dcl_authors  the DCL authors' DCL class (raminnakhli/Decoupled-Contrastive-
               Learning): -s_ii + logsumexp over [z1 z1^T, z1 z2^T] with both
               diagonals masked, mean over anchors, called both ways and
               SUMMED, on L2-normalised rows: twice cwb's dcl both_views.
  dcl_lightly  lightly.loss.DCLLoss as released: -s_ii + logsumexp(same view,
               off-diagonal) + logsumexp(other view, off-diagonal), two
               separate log-sums, mean, averaged over the two directions.
               Not the paper's Eq. 6 (lightly PRs #1826/#1827 propose the fix),
               so not what cwb computes; written out so the test can show the
               difference.
  clip         symmetric InfoNCE (CLIP): cross-entropy of a against b and of
               b against a, averaged: cwb's infonce with symmetric = true.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

CASES = {"b8": (8, 5, 0.5, 1), "b64": (64, 16, 0.1, 2), "b33": (33, 7, 0.2, 3)}


def ntxent(out0, out1, t):
    out0, out1 = F.normalize(out0, dim=1), F.normalize(out1, dim=1)
    n = out0.shape[0]
    diag = torch.eye(n, dtype=torch.bool)
    l00 = (out0 @ out0.T / t)[~diag].view(n, -1)
    l01 = out0 @ out1.T / t
    l10 = out1 @ out0.T / t
    l11 = (out1 @ out1.T / t)[~diag].view(n, -1)
    logits = torch.cat([torch.cat([l01, l00], 1), torch.cat([l10, l11], 1)], 0)
    labels = torch.arange(n).repeat(2)
    return F.cross_entropy(logits, labels)


def dcl_one_way(z1, z2, t):
    cross = z1 @ z2.T
    positive = -torch.diag(cross) / t
    neg = torch.cat([z1 @ z1.T, cross], 1) / t
    mask = torch.eye(z1.shape[0], dtype=torch.bool).repeat(1, 2)
    negative = torch.logsumexp(neg.masked_fill(mask, float("-inf")), 1)
    return (positive + negative).mean()


def dcl_authors(out0, out1, t):
    z1, z2 = F.normalize(out0, dim=1), F.normalize(out1, dim=1)
    return dcl_one_way(z1, z2, t) + dcl_one_way(z2, z1, t)


def dcl_lightly(out0, out1, t):
    out0, out1 = F.normalize(out0, dim=1), F.normalize(out1, dim=1)

    def one(a, b):
        n = a.shape[0]
        diag = torch.eye(n, dtype=torch.bool)
        s00, s01 = a @ a.T / t, a @ b.T / t
        pos = -s01[diag]
        return (pos + torch.logsumexp(s00[~diag].view(n, -1), 1)
                + torch.logsumexp(s01[~diag].view(n, -1), 1)).mean()

    return 0.5 * (one(out0, out1) + one(out1, out0))


def clip(out0, out1, t):
    a, b = F.normalize(out0, dim=1), F.normalize(out1, dim=1)
    logits = a @ b.T / t
    labels = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


LOSSES = {"ntxent": ntxent, "dcl_authors": dcl_authors, "dcl_lightly": dcl_lightly, "clip": clip}


def main(out):
    for name, (n, k, t, seed) in CASES.items():
        rng = np.random.default_rng(seed)
        a = rng.standard_normal((n, k)).astype(np.float32)
        b = (a + 0.7 * rng.standard_normal((n, k))).astype(np.float32)
        np.save(f"{out}/a_{name}.npy", a)
        np.save(f"{out}/b_{name}.npy", b)
        np.save(f"{out}/tau_{name}.npy", np.array([[t]], dtype=np.float32))
        for lname, fn in LOSSES.items():
            ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
            loss = fn(ta, tb, t)
            loss.backward()
            np.save(f"{out}/{lname}_{name}_value.npy", np.array([[loss.item()]]))
            np.save(f"{out}/{lname}_{name}_ga.npy", ta.grad.numpy())
            np.save(f"{out}/{lname}_{name}_gb.npy", tb.grad.numpy())
    print("torch", torch.__version__, "cases", " ".join(CASES))


if __name__ == "__main__":
    main(sys.argv[1])
