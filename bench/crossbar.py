"""Throughput of the behavioural crossbar: the per-slot path against the batched path, same run.

Arrays ``Crossbar(100, 784)`` (the paper's 784-input, 100-output layer; a = rows = outputs) and
``Crossbar(32, 64)`` (the digits hidden layer), with GokmenVlasov devices (d2d + c2c noise) and ReRamES
(state-dependent ExpStep steps, c2c and write noise). Two slot workloads, generated once before timing:

* ``write``: the slots of pulse-scheme writes (golden/rtl/update_controller.py PulseScheme, the twin of
  the RTL controller, BL management on) of MNIST-like rank-1 updates: u heavy-tailed (cubed normals), v
  with 80 % zeros (pixels), |s| * lr ~ 40 device steps for the largest element. This is what the closed
  loops (golden/training/closed_loop.py, crossbar_training.py) apply, through
  update_controller.apply_write -> Crossbar.apply_slots;
* ``dense``: random slots in which every line fires with probability 0.5 (a quarter of the devices are
  coincident in every slot) and random polarities: the workload of the issue's 745 slots/s figure.

Per (array, workload, device): ``per_slot`` = slots/s through ``apply_slot`` one slot at a time (the
reference), ``fast`` = slots/s through ``apply_slots`` (the whole list of a write, vectorised across
slots), ``ratio`` = fast / per_slot; ``whole_array`` = slots/s of the former apply_slot, which ran the
device update over the whole array in every slot (re-implemented here as the baseline, same noise
draws), and ``ratio_whole`` = fast / whole_array. Rates are the best of ``repeats`` alternating measurements of at
least ``min_time`` seconds each (the machine is shared: the best rate is the least disturbed one). The
two paths are bit-identical (tests/golden_models/test_crossbar_batched.py), checked again here on the
timed arrays. Also the plain NumPy reference ``W += s * np.outer(u, v)`` (float64) in updates per second.
No assertions on time: ``run()`` returns numbers. Run ``python -m bench.crossbar`` to print them.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from bench.cli import run_alone
from contract.fixed_point import quantise_scale, quantise_unit
from golden.arrays.crossbar import Crossbar
from golden.arrays.devices import GokmenVlasov, ReRamES
from golden.rtl.update_controller import PulseScheme

SHAPES = ((100, 784), (32, 64))
DEVICES = (("gv", GokmenVlasov), ("reram_es", ReRamES))


def _rate(fn, n_items: int, min_time: float) -> float:
    """Items per second of fn() (which processes n_items), repeated until at least min_time seconds."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return calls * n_items / dt


def write_slots(a: int, b: int, n_writes: int, seed: int = 0) -> list[list]:
    """Slots of `n_writes` pulse-scheme writes of MNIST-like updates (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sch = PulseScheme(a=a, b=b, seed=seed + 1)
    lr_mant, lr_exp = quantise_scale(200.0, sch.lr_width + 1)      # eta / dw_min = 0.2 / 0.001 steps
    writes = []
    for _ in range(n_writes):
        u = rng.standard_normal(a) ** 3
        v = rng.random(b) * (rng.random(b) < 0.2)
        v[rng.integers(b)] = 1.0
        s_mant, s_exp = quantise_scale(-0.2, sch.mant_width)
        w = sch.write(quantise_unit(0.99 * u / np.abs(u).max(), sch.elem_width),
                      quantise_unit(0.99 * v / np.abs(v).max(), sch.elem_width), s_mant, s_exp,
                      lr_mant=int(lr_mant), lr_exp=int(lr_exp), bl=1023, bl_mgmt=True)
        writes.append(w.slots)
    return writes


def dense_slots(a: int, b: int, n_slots: int, p_fire: float = 0.5, seed: int = 0) -> list[list]:
    rng = np.random.default_rng(seed)
    pm = np.array([-1, 1], dtype=np.int8)
    return [[(rng.random(a) < p_fire, rng.choice(pm, a), rng.random(b) < p_fire, rng.choice(pm, b))
             for _ in range(n_slots)]]


def whole_array_slot(cb: Crossbar, rf, rp, cf, cp) -> None:
    """The former Crossbar.apply_slot (whole-array pass per slot), kept as the bench's baseline: same
    device steps and noise draws, counters left alone."""
    rp = np.where(rp, -1, 1) if rp.dtype == np.bool_ else rp
    cp = np.where(cp, -1, 1) if cp.dtype == np.bool_ else cp
    ri, ci = np.flatnonzero(rf), np.flatnonzero(cf)
    n = len(ri) * len(ci)
    if not n:
        return
    d = np.multiply.outer(np.where(rf, rp * 1.0, 0.0), np.where(cf, cp, 0.0))
    dev = cb._device
    flat = (ri[:, None] * cb.b + ci).ravel()
    xi = None
    if dev.dw_min_std > 0:
        xi = np.zeros(cb.shape)
        np.put(xi, flat, cb._noise_rng.standard_normal(n))
    cb._w = dev.update(cb._w, d, cb._pfull, xi)
    if cb._wa is not None:
        np.put(cb._wa, flat, np.take(cb._w, flat) + cb._wn * cb._noise_rng.standard_normal(n))


def _compare(a, b, dev_cls, writes, repeats, min_time) -> dict:
    n = sum(len(w) for w in writes)
    coinc = sum(int(rf.sum()) * int(cf.sum()) for w in writes for rf, _, cf, _ in w)
    ref = Crossbar(a, b, device=dev_cls(corrupt_devices_prob=0.01))
    fast = Crossbar(a, b, device=dev_cls(corrupt_devices_prob=0.01))

    def per_slot():
        for w in writes:
            for s in w:
                ref.apply_slot(*s)

    def batched():
        for w in writes:
            fast.apply_slots(w)

    old = Crossbar(a, b, device=dev_cls(corrupt_devices_prob=0.01))

    def whole():
        for w in writes:
            for s in w:
                whole_array_slot(old, *s)

    r_ref, r_fast, r_old = 0.0, 0.0, 0.0
    for _ in range(repeats):
        r_ref = max(r_ref, _rate(per_slot, n, min_time))
        r_fast = max(r_fast, _rate(batched, n, min_time))
        r_old = max(r_old, _rate(whole, n, min_time))
    # the same slots went through both arrays the same number of times only if the loops matched;
    # replay on fresh arrays for the bit-exact check
    c1, c2 = (Crossbar(a, b, device=dev_cls(corrupt_devices_prob=0.01)) for _ in range(2))
    per = [c1.apply_slot(*s) for w in writes for s in w]
    tot = sum(c2.apply_slots(w) for w in writes)
    exact = (sum(per) == tot and c1.weights.tobytes() == c2.weights.tobytes()
             and np.array_equal(c1.coincidences_up, c2.coincidences_up))
    return {"slots": n, "coincidences_per_slot": coinc / max(n, 1), "per_slot": r_ref, "fast": r_fast,
            "ratio": r_fast / r_ref, "whole_array": r_old, "ratio_whole": r_fast / r_old,
            "bit_exact": bool(exact)}


def run(*, n_writes: int = 8, n_dense: int = 64, repeats: int = 2, min_time: float = 0.25,
        seed: int = 0) -> dict:
    """Measure and return the throughput figures (see the module docstring)."""
    out = {}
    for a, b in SHAPES:
        loads = {"write": write_slots(a, b, n_writes, seed), "dense": dense_slots(a, b, n_dense, seed=seed)}
        for load, writes in loads.items():
            for name, cls in DEVICES:
                out[f"{a}x{b}_{load}_{name}"] = _compare(a, b, cls, writes, repeats, min_time)

    rng = np.random.default_rng(seed)
    A, B = SHAPES[0]
    W = np.zeros((A, B))
    us, vs = rng.standard_normal((16, A)), rng.standard_normal((16, B))

    def outer_update():
        for k in range(16):
            W[...] += 1e-3 * np.outer(us[k], vs[k])

    out["numpy_outer_updates_per_s_100x784"] = _rate(outer_update, 16, min_time)
    return out


def _show(r: dict) -> None:
    print(f"{'case':24s} {'slots':>5s} {'coinc/slot':>10s} {'whole-array/s':>13s} {'per-slot/s':>10s} "
          f"{'fast/s':>8s} {'fast/per-slot':>13s} {'fast/whole':>10s} bit-exact")
    for k, v in r.items():
        if isinstance(v, dict):
            print(f"{k:24s} {v['slots']:5d} {v['coincidences_per_slot']:10.0f} {v['whole_array']:13.0f} "
                  f"{v['per_slot']:10.0f} {v['fast']:8.0f} {v['ratio']:13.2f} {v['ratio_whole']:10.2f} "
                  f"{v['bit_exact']}")
        else:
            print(f"{k:28s} {v:.4g}")


def main(argv=None) -> dict:
    return run_alone("python -m bench.crossbar", __doc__, run, argv, _show)


if __name__ == "__main__":
    main(sys.argv[1:])
