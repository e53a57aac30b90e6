"""Seeded stimulus shared by the Amaranth-simulator tests, the cocotb benches and bench/, and the one
helper that turns a packed line vector back into booleans.

Engine samples (hdl/engine/sbe_engine.py): `engine_batch` draws one batch (xs, ds, x_exps, delta_exps) of a
named kind; `batch_beats` cuts it into sample-stream beats (contract.layouts.sample_beats).

Controller updates (hdl/controller/update_controller.py): an update is a dict u (a ints, Q1.F), v (b ints),
s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt, two_phase. `random_update` draws one;
`update_beats_of` gives its update-stream beats (contract.layouts.update_beats); `golden_kwargs` are its
register values as PulseScheme.plan/write take them, `scheme_params` the PulseScheme parameters of a
controller configuration.

Everything takes its generator from the caller, so a failure reproduces from the seed.
"""
from __future__ import annotations

import numpy as np

from contract.fixed_point import quantise_unit
from contract.layouts import sample_beats, update_beats

#: UpdateController keyword parameters that PulseScheme shares (the rest shape the ports only).
SCHEME_KEYS = ("a", "b", "elem_width", "mant_width", "exp_width", "lr_width", "lr_exp_width", "bl_width",
               "lfsr_width", "seed")

#: Kinds of engine batch (see `engine_batch`).
BATCH_KINDS = ("random", "full", "zero", "alt", "small", "npz:<path>:<k>")


def bits(value, n: int) -> np.ndarray:
    """Bit i of `value` (anything int() accepts: an int, a cocotb LogicArray) as element i of a bool array
    of length n: a packed row_fire/row_pol/col_fire/col_pol vector -> one flag per line."""
    v = int(value)
    return np.array([(v >> i) & 1 for i in range(n)], dtype=bool)


# -- SBE engine samples -------------------------------------------------------------------------------

def engine_batch(rng: np.random.Generator, a: int, b: int, n: int, kind: str = "random", *, width: int = 16,
                 exps=range(-3, 4), headroom: int = 0):
    """One batch of n engine samples: (xs (n, b), ds (n, a), x_exps (n,), delta_exps (n,)), ints.

    Elements by kind (signed `width`-bit words):
        random          uniform over the word range shifted right by `headroom` bits
        full            full-scale: each element -2**(width-1) or 2**(width-1)-1 at random
        zero            all 0
        alt             full-scale with alternating signs along the vector and from sample to sample
        small           -1, 0 or 1 (exercises the upward rescaling and tiny norms)
        npz:<path>:<k>  recorded batch k of an .npz file (xs (K, n, b), ds (K, n, a), optional xe/de (K, n));
                        its exponents are used, zero when absent
    Block exponents: drawn uniformly from the values `exps`, after the elements (None: all 0).
    """
    lo, hi = -(1 << (width - 1)), 1 << (width - 1)
    if kind.startswith("npz:"):
        _, path, k = kind.split(":")
        z, k = np.load(path), int(k)
        zero = np.zeros(n, int)
        return (z["xs"][k][:n], z["ds"][k][:n], z["xe"][k][:n] if "xe" in z else zero,
                z["de"][k][:n] if "de" in z else zero)
    if kind == "random":
        xs = rng.integers(lo >> headroom, hi >> headroom, (n, b))
        ds = rng.integers(lo >> headroom, hi >> headroom, (n, a))
    elif kind == "full":
        xs = np.where(rng.random((n, b)) < 0.5, lo, hi - 1)
        ds = np.where(rng.random((n, a)) < 0.5, lo, hi - 1)
    elif kind == "zero":
        xs, ds = np.zeros((n, b), int), np.zeros((n, a), int)
    elif kind == "alt":
        xs = np.array([[lo if (i + j) % 2 else hi - 1 for i in range(b)] for j in range(n)])
        ds = np.array([[hi - 1 if (i + j) % 2 else lo for i in range(a)] for j in range(n)])
    elif kind == "small":
        xs, ds = rng.integers(-1, 2, (n, b)), rng.integers(-1, 2, (n, a))
    else:
        raise ValueError(f"unknown batch kind {kind!r}; known: {', '.join(BATCH_KINDS)}")
    if exps is None:
        return xs, ds, np.zeros(n, int), np.zeros(n, int)
    values = np.asarray(exps)
    return xs, ds, rng.choice(values, n), rng.choice(values, n)


def batch_beats(batch, lanes: int, *, complete: bool = True) -> list[dict]:
    """Sample-stream beats (contract.layouts.sample_layout values) of a batch (xs, ds, x_exps, delta_exps);
    the last sample carries last_of_batch unless `complete` is False (a batch abandoned with `clear`)."""
    xs, ds, xe, de = batch
    n = len(xs)
    beats = []
    for j, (x, d, ex, ed) in enumerate(zip(xs, ds, xe, de)):
        beats += sample_beats(x, d, lanes, complete and j == n - 1, ex, ed)
    return beats


# -- update controller ----------------------------------------------------------------------------------

def random_update(rng: np.random.Generator, a: int, b: int, *, elem_width: int = 16,
                  mant_width: int = 16, bl_width: int = 12, det: bool | None = None,
                  bl_mgmt: bool | None = None, two_phase: bool | None = None) -> dict:
    """A random update: unit vectors quantised to Q1.(elem_width-1), a signed scale, and registers in a
    range where the scale mostly fits BL and about 1 in 8 overflows it. det, bl_mgmt and two_phase are
    drawn unless given."""
    u = rng.standard_normal(a)
    v = rng.standard_normal(b)
    u /= np.linalg.norm(u)
    v /= np.linalg.norm(v)
    det = bool(rng.integers(2)) if det is None else det
    bl_mgmt = bool(rng.integers(2)) if bl_mgmt is None else bl_mgmt
    two_phase = bool(rng.integers(2)) if two_phase is None else two_phase
    hi = 1 << (mant_width - 1)
    s_mant = int(rng.integers(hi // 4, hi)) * (1 if rng.integers(2) else -1)
    s_exp = int(rng.integers(-mant_width - 1, -mant_width + 3))
    bl = int(rng.integers(1, 40))
    if det:
        bl = 1 << int(rng.integers(0, 6))
    bl = min(bl, (1 << bl_width) - 1)
    uq, vq = quantise_unit(u, elem_width), quantise_unit(v, elem_width)
    # Pick lr so that Ghat (pulses of the gate-free scheme) is mostly inside BL, sometimes over it.
    F = elem_width - 1
    ku, kv = int(np.abs(uq).max()).bit_length(), int(np.abs(vq).max()).bit_length()
    target = bl * rng.uniform(0.05, 1.15) if not bl_mgmt else rng.uniform(0.2, 1.2 * bl)
    lr = target / (abs(s_mant) * 2.0 ** (s_exp + ku + kv - 2 * F))
    lr_e = int(np.floor(np.log2(lr))) - 7
    lr_m = int(np.clip(round(lr / 2.0 ** lr_e), 1, 255))
    return dict(u=uq, v=vq, s_mant=s_mant, s_exp=s_exp, lr_mant=lr_m, lr_exp=lr_e,
                bl=bl, det=det, bl_mgmt=bl_mgmt, two_phase=two_phase)


def update_beats_of(upd: dict, lanes: int) -> list[dict]:
    """The update-stream beats (contract.layouts.update_layout values) of an update dict."""
    return update_beats(upd["u"], upd["v"], upd["s_mant"], upd["s_exp"], lanes)


def golden_kwargs(upd: dict) -> dict:
    """The update's register values, as PulseScheme.plan/write take them after (u, v, s_mant, s_exp)."""
    return {k: upd[k] for k in ("lr_mant", "lr_exp", "bl", "det", "bl_mgmt", "two_phase")}


def golden_write(scheme, upd: dict):
    """PulseScheme.write of one update dict."""
    return scheme.write(upd["u"], upd["v"], upd["s_mant"], upd["s_exp"], **golden_kwargs(upd))


def scheme_params(cfg: dict) -> dict:
    """The PulseScheme keyword parameters of an UpdateController configuration (a dict of its keywords)."""
    return {k: cfg[k] for k in SCHEME_KEYS if k in cfg}
