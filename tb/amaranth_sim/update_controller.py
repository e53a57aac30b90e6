"""Amaranth-simulator drivers for hdl/controller/update_controller.py and the blocks that contain it (shared by tests
and bench/): a producer that sets the registers and streams updates, a monitor of the slot outputs, and
`run_amaranth`, which runs both. Updates are the dicts of tb/stimulus.py.
"""
from __future__ import annotations

import random

from tb.stimulus import bits, update_beats_of


def set_registers(ctx, dut, regs: dict) -> None:
    """Amaranth sim: drive the controller's register inputs (lr_mant, lr_exp, bl, mode) from an update dict."""
    ctx.set(dut.lr_mant, regs["lr_mant"])
    ctx.set(dut.lr_exp, regs["lr_exp"])
    ctx.set(dut.bl, regs["bl"])
    ctx.set(dut.mode, {"det": int(regs["det"]), "bl_mgmt": int(regs["bl_mgmt"]),
                       "two_phase": int(regs["two_phase"])})


def amaranth_producer(dut, updates: list[dict], *, rin: random.Random | None = None, p_gap: float = 0.0):
    """Amaranth-sim testbench coroutine: set each update's registers on its first beat and stream its
    beats to dut.i, with seeded idle cycles before beats when `rin` is given."""
    async def producer(ctx):
        for upd in updates:
            first = True
            for beat in update_beats_of(upd, dut.lanes):
                while rin is not None and rin.random() < p_gap:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                if first:
                    set_registers(ctx, dut, upd)
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
                slots.append((bits(rf, a), bits(rp, a), bits(cf, b), bits(cp, b)))
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
