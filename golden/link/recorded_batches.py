"""Recorded engine batches for the link tests and benches: real back-propagation gradients of the golden
digits trainer (golden/training/mlp.py, float SBE updates), as a board's integer input words.

The trainer runs a 64-H-H-10 ReLU MLP (H = max(a, b - 1, 8)) on scikit-learn's digits and records its
middle layer (an H x (H+1) array, bias folded); each batch's x (n, H+1) and delta (n, H) are cut to the
board's first b and a elements and quantised with per-sample block exponents
(golden/rtl/sbe_engine.py quantise_sample): (xs (n, b), ds (n, a), x_exps (n,), delta_exps (n,)) ints.
Deterministic for a given (a, b, count, batch_size, seed).
"""
from __future__ import annotations

import numpy as np

from contract.engine_config import EngineConfig
from golden.rtl.sbe_engine import quantise_sample
from golden.training.data import load_digits
from golden.training.mlp import train


class _Enough(Exception):
    pass


def recorded_batches(cfg: EngineConfig, count: int, *, batch_size: int = 8, seed: int = 0) -> list[tuple]:
    """`count` recorded batches of `batch_size` samples for an engine of configuration `cfg` (see above)."""
    if count < 1 or batch_size < 1:
        raise ValueError(f"count and batch_size must be >= 1, not {count}, {batch_size}")
    if batch_size > cfg.max_batch:
        raise ValueError(f"batch_size {batch_size} exceeds the engine's max_batch {cfg.max_batch}")
    h = max(cfg.a, cfg.b - 1, 8)
    out: list[tuple] = []

    def on_batch(r):
        if r.layer != 1:
            return
        xs, ds, xe, de = [], [], [], []
        for j in range(len(r.xs)):
            xi, di, ex, ed = quantise_sample(cfg, r.xs[j][:cfg.b], r.deltas[j][:cfg.a], sample=j)
            xs.append(xi), ds.append(di), xe.append(ex), de.append(ed)
        out.append((np.array(xs), np.array(ds), np.array(xe), np.array(de)))
        if len(out) == count:
            raise _Enough

    data = load_digits(seed=seed)
    epochs = -(-count * batch_size // len(data.x_train)) + 1
    try:
        train(data, sizes=(data.n_features, h, h, data.n_classes), method="sbe", batch_size=batch_size,
              epochs=epochs, seed=seed, on_batch=on_batch, evaluate_test=False)
    except _Enough:
        pass
    return out
