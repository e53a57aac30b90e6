"""Throughput of the behavioural crossbar on the paper's 784-input, 100-output layer.

The array is ``Crossbar(100, 784)`` (a = 100 rows = outputs, b = 784 columns = inputs). Measured in one
run, on the same machine state:

* pulse slots per second through ``apply_slot`` for GokmenVlasov (d2d + c2c noise) and for the noiseless
  ConstantStep, with random slots in which every row and column line fires with probability ``p_fire``
  (so a fraction p_fire**2 of the devices are coincident per slot) and random polarities;
* whole rank-1 writes per second through ``apply_coincidence_counts`` (GokmenVlasov, BL pulses);
* the plain NumPy reference ``W += s * np.outer(u, v)`` (float64) in updates per second.

``ratio_*`` = NumPy outer-product updates per second / crossbar operations per second, i.e. how many
dense NumPy rank-1 updates one slot (or one counts write) costs. No assertions: ``run()`` returns numbers.
Run ``python -m bench.crossbar`` to print them.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from bench.cli import run_alone
from golden.arrays.crossbar import Crossbar
from golden.arrays.devices import GokmenVlasov, Noiseless

A, B = 100, 784


def _rate(fn, n: int, min_time: float) -> float:
    """Calls per second of fn(k) for k = 0..n-1, repeated until at least min_time seconds."""
    calls, t0 = 0, time.perf_counter()
    while True:
        for k in range(n):
            fn(k)
        calls += n
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return calls / dt


def run(*, n_slots: int = 64, p_fire: float = 0.5, bl: int = 31, min_time: float = 0.5,
        seed: int = 0) -> dict:
    """Measure and return the throughput figures (see the module docstring)."""
    rng = np.random.default_rng(seed)
    slots = [(rng.random(A) < p_fire, rng.choice(np.array([-1, 1], dtype=np.int8), A),
              rng.random(B) < p_fire, rng.choice(np.array([-1, 1], dtype=np.int8), B))
             for _ in range(n_slots)]

    out = {"a": A, "b": B, "p_fire": p_fire, "coincident_fraction": p_fire ** 2, "bl": bl}
    for name, dev in (("noisy", GokmenVlasov()), ("noiseless", Noiseless())):
        cb = Crossbar(A, B, device=dev)
        out[f"slots_per_s_{name}"] = _rate(lambda k: cb.apply_slot(*slots[k]), n_slots, min_time)

    # one rank-1 write of BL slots as coincidence counts (single sign per device, as in one write)
    cb = Crossbar(A, B, device=GokmenVlasov())
    pu, pv = rng.random(A) * p_fire, rng.random(B) * p_fire
    counts = [rng.binomial(bl, np.outer(pu, pv)) for _ in range(8)]
    zeros = np.zeros((A, B), dtype=np.int64)
    out["count_writes_per_s_noisy"] = _rate(lambda k: cb.apply_coincidence_counts(counts[k % 8], zeros),
                                            8, min_time)

    W = np.zeros((A, B))
    us, vs = rng.standard_normal((16, A)), rng.standard_normal((16, B))

    def outer_update(k):
        nonlocal W
        W += 1e-3 * np.outer(us[k], vs[k])

    out["numpy_outer_updates_per_s"] = _rate(outer_update, 16, min_time)
    ref = out["numpy_outer_updates_per_s"]
    out["ratio_noisy"] = ref / out["slots_per_s_noisy"]
    out["ratio_noiseless"] = ref / out["slots_per_s_noiseless"]
    out["ratio_count_write"] = ref / out["count_writes_per_s_noisy"]
    return out


def _show(r: dict) -> None:
    for k, v in r.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")


def main(argv=None) -> dict:
    return run_alone("python -m bench.crossbar", __doc__, run, argv, _show)


if __name__ == "__main__":
    main(sys.argv[1:])
