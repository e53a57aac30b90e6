"""Learning-rate tuning as the paper does it: per (method, batch size), the rate of a log grid that
minimises the training loss after 5 epochs, from the shared seeded initialisation.

Grid (ours; the paper gives no values): half-decades 1e-3 .. 10 (`GRID`). The scan runs in increasing
order and stops once the loss has risen for two consecutive rates past the best one (or a run
diverged), assuming the usual U-shaped loss-vs-rate curve, so the rates far past the best are not run. A
diverged run counts as loss +inf.

Results are cached in a JSON file (default build/lr_cache/<dataset>.json), keyed by everything that
changes the answer (dataset and its sizes, network, activation, method, batch size, epochs, grid, seed),
so a re-run or a resumed sweep does not repeat them.
"""
from __future__ import annotations

import json
import math
import os

from golden.training.mlp import train

GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
DEFAULT_CACHE_DIR = os.path.join("build", "lr_cache")


def cache_key(data, method: str, batch_size: int, sizes, activation: str, epochs: int, grid, seed: int) -> str:
    return json.dumps([data.name, len(data.x_train), list(sizes), activation, method, int(batch_size),
                       int(epochs), list(grid), int(seed)])


def _load(path):
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def _save(path, cache):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cache, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def tune_lr(data, method: str, batch_size: int, *, sizes, activation: str = "relu", epochs: int = 5,
            grid=GRID, seed: int = 0, cache_path: str | None = "", method_factory=None) -> dict:
    """Return {"lr": best rate, "losses": {rate: loss after `epochs`}} (cached).

    cache_path: "" = build/lr_cache/<dataset>.json, None = no cache. A custom method_factory is
    not part of the cache key: pass cache_path=None (or a separate file) when using one."""
    if cache_path == "":
        cache_path = os.path.join(DEFAULT_CACHE_DIR, f"{data.name}.json")
    key = cache_key(data, method, batch_size, sizes, activation, epochs, grid, seed)
    cache = _load(cache_path)
    if key in cache:
        return cache[key]
    losses, best, rising = {}, math.inf, 0
    for lr in sorted(grid):
        _, h = train(data, sizes=sizes, activation=activation, method=method, lr=lr, batch_size=batch_size,
                     epochs=epochs, seed=seed, method_factory=method_factory, evaluate_test=False)
        loss = math.inf if h.diverged or not math.isfinite(h.train_loss[-1]) else h.train_loss[-1]
        losses[repr(lr)] = loss
        if loss < best:
            best, rising = loss, 0
        else:
            rising += 1
        if math.isfinite(best) and (rising >= 2 or loss == math.inf):
            break
    best_lr = min(losses, key=lambda k: losses[k])
    result = {"lr": float(best_lr), "losses": {k: (v if math.isfinite(v) else None) for k, v in losses.items()}}
    if cache_path:
        cache = _load(cache_path)          # re-read: another process may have added keys
        cache[key] = result
        _save(cache_path, cache)
    return result
