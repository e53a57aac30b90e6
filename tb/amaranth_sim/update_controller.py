"""Stimulus and an Amaranth-simulator driver for hdl/update_controller.py (shared by tests and bench).

An update is a dict: u (a ints, Q1.F), v (b ints), s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt,
two_phase. `update_beats` cuts it into stream beats per contract/layouts.py; `random_update` draws one
from a seeded generator (unit vectors quantised to Q1.F, a signed scale, registers in a range that
mostly writes and sometimes overflows); `run_amaranth` streams updates with seeded input gaps and
seeded slot_ready stalls and returns, per update, the slots taken, the status and the cycles used.
"""
from __future__ import annotations

import random

import numpy as np

from contract.fixed_point import quantise_unit

REG_KEYS = ("s_mant", "s_exp", "lr_mant", "lr_exp", "bl", "det", "bl_mgmt", "two_phase")


def update_beats(upd: dict, lanes: int) -> list[dict]:
    """Beats (dicts for update_layout) of one update: Dhat beats, then Xhat beats."""
    beats = []
    for vec, x in ((0, upd["u"]), (1, upd["v"])):
        n = len(x)
        for k in range(0, n, lanes):
            elems = [int(e) for e in x[k:k + lanes]] + [0] * max(0, k + lanes - n)
            beats.append({"s_mant": int(upd["s_mant"]), "s_exp": int(upd["s_exp"]), "elems": elems,
                          "vec": vec, "last": int(k + lanes >= n)})
    return beats


def random_update(rng: np.random.Generator, a: int, b: int, *, elem_width: int = 16,
                  mant_width: int = 16, bl_width: int = 12, det: bool | None = None,
                  bl_mgmt: bool | None = None, two_phase: bool | None = None) -> dict:
    """A seeded random update whose scale mostly fits its BL (about 1 in 8 overflows it)."""
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


async def drive_updates(dut, src, model, updates: list[dict]) -> None:
    """cocotb: for each update, set the controller's registers, then send its beats through `src` (a
    tb.streams.StreamSource on port i). The registers are sampled on an update's first beat."""
    from contract.layouts import MODE_LAYOUT
    from tb.drivers.streams import pack

    for u in updates:
        dut.lr_mant.value = u["lr_mant"]
        dut.lr_exp.value = pack(model.lr_exp.shape(), u["lr_exp"])
        dut.bl.value = u["bl"]
        dut.mode.value = pack(MODE_LAYOUT, {"det": int(u["det"]), "bl_mgmt": int(u["bl_mgmt"]),
                                            "two_phase": int(u["two_phase"])})
        await src.send([pack(model.in_layout, beat) for beat in update_beats(u, model.lanes)])


def golden_kwargs(upd: dict) -> dict:
    return {k: upd[k] for k in ("lr_mant", "lr_exp", "bl", "det", "bl_mgmt", "two_phase")}


def _bits(x: int, n: int) -> np.ndarray:
    return np.array([(x >> i) & 1 for i in range(n)], dtype=bool)


def amaranth_producer(dut, updates: list[dict], *, rin: random.Random | None = None, p_gap: float = 0.0):
    """Amaranth-sim testbench coroutine: set each update's registers on its first beat and stream its
    beats to dut.i, with seeded idle cycles before beats when `rin` is given."""
    async def producer(ctx):
        for upd in updates:
            first = True
            for beat in update_beats(upd, dut.lanes):
                while rin is not None and rin.random() < p_gap:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                if first:
                    ctx.set(dut.lr_mant, upd["lr_mant"])
                    ctx.set(dut.lr_exp, upd["lr_exp"])
                    ctx.set(dut.bl, upd["bl"])
                    ctx.set(dut.mode, {"det": int(upd["det"]), "bl_mgmt": int(upd["bl_mgmt"]),
                                       "two_phase": int(upd["two_phase"])})
                    first = False
                ctx.set(dut.i.payload, dut.in_layout.const(beat))
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
    return producer


def slot_monitor(dut, count: int, results: list[dict], *, rout: random.Random, p_stall: float = 0.0,
                 max_cycles: int = 1_000_000, watch=(), on_cycle=None):
    """Amaranth-sim testbench coroutine for a block with the controller's slot outputs: drives slot_ready
    with seeded stalls and appends {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status",
    "cycles"} to `results` per finished update until `count` have finished. cycles counts from the first
    beat transferred on dut.i to the done strobe, both inclusive. The `watch` signals are sampled every
    cycle and passed to on_cycle(*values)."""
    a, b = dut.a, dut.b

    async def monitor(ctx):
        slots = []
        pending = None
        start = None
        for n in range(max_cycles):
            ready = not (rout.random() < p_stall)
            ctx.set(dut.slot_ready, int(ready))
            _, _, slot, rf, rp, cf, cp, done, status, iv, ir, *extra = await ctx.tick().sample(
                dut.slot, dut.row_fire, dut.row_pol, dut.col_fire, dut.col_pol, dut.done, dut.status,
                dut.i.valid, dut.i.ready, *watch)
            if on_cycle is not None:
                on_cycle(*extra)
            if iv and ir and start is None:
                start = n
            if pending is not None:            # status is registered at the done edge
                pending["status"] = int(status)
                results.append(pending)
                pending = None
                if len(results) == count:
                    return
            if slot and ready:
                slots.append((_bits(rf, a), _bits(rp, a), _bits(cf, b), _bits(cp, b)))
            if done:
                pending = {"slots": slots, "cycles": n - start + 1}
                slots, start = [], None
        raise TimeoutError(f"{len(results)} of {count} updates finished in {max_cycles} cycles")
    return monitor


def run_amaranth(dut, updates: list[dict], *, seed: int = 0, p_gap: float = 0.0, p_stall: float = 0.0,
                 max_cycles: int = 1_000_000) -> list[dict]:
    """Simulate `dut` (parallel outputs) on `updates`; per update return
    {"slots": [(row_fire, row_pol, col_fire, col_pol), ...], "status": int, "cycles": int}, where
    cycles counts from the cycle the first beat is transferred to the done strobe, both inclusive."""
    from amaranth.sim import Simulator

    rin, rout = random.Random(seed), random.Random(seed + 1)
    results: list[dict] = []
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(amaranth_producer(dut, updates, rin=rin, p_gap=p_gap), background=True)
    sim.add_testbench(slot_monitor(dut, len(updates), results, rout=rout, p_stall=p_stall, max_cycles=max_cycles))
    sim.run()
    return results
