"""Invariants of the update controller that do not lean on the golden twin, and the register contract.

tb/amaranth_sim/update_controller.py ControllerInvariants watches the RTL's own outputs (every run_amaranth
run checks it); here: the checker itself fails on the faults it is there for, the deterministic ramp
count is exact when the gate passes every slot, and changing lr_mant, lr_exp, bl and mode while an update
loads or writes changes nothing (they are sampled on the update's first beat, as documented in
hdl/controller/update_controller.py)."""
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from contract.enums import Status
from golden.rtl.update_controller import PulseScheme
from hdl.controller.update_controller import UpdateController
from tb.amaranth_sim.update_controller import (ControllerInvariants, formula_plan, ramp_count, run_amaranth,
                                               set_registers, slot_monitor, wait_ready)
from tb.stimulus import golden_write, random_update, scheme_params, update_beats_of

CFG = dict(a=5, b=7, lanes=2, elem_width=10, bl_width=8, lfsr_width=17, seed=9)


def _slot(a, b, rows=(), cols=()):
    rf, cf = np.zeros(a, bool), np.zeros(b, bool)
    rf[list(rows)], cf[list(cols)] = True, True
    return dict(slot=True, taken=True, row_fire=rf, col_fire=cf)


def _idle():
    return dict(slot=False, taken=False, row_fire=None, col_fire=None)


def _update(bl=4, det=False, s_mant=1 << 14):
    """A 2x2 update with ku = kv = 15 and Ghat = bl (G = 2**P: the gate passes every slot)."""
    u, v = np.array([1 << 14, 1 << 13]), np.array([1 << 14, 3])
    return dict(u=u, v=v, s_mant=s_mant, s_exp=-14, lr_mant=bl, lr_exp=0, bl=bl, det=det, bl_mgmt=False,
                two_phase=False)


def _feed(inv, cycles):
    for c in cycles:
        if c == "status0":
            inv.status(0)
        elif isinstance(c, tuple) and c[0] == "status":
            inv.status(c[1])
        else:
            inv.cycle(**{"beat": False, "done": False, **c})


@pytest.mark.parametrize("fault", ["extra_slot", "slot_after_done", "flagged_with_slots", "coincidences",
                                   "det_ramp"])
def test_invariant_checker_catches_faults(fault):
    """The checker is not vacuous: each fault it watches for, fed as a synthetic cycle trace, fails it."""
    up = _update(det=(fault == "det_ramp"))
    assert formula_plan(up).bl == 4 and formula_plan(up).g == 1 << 16
    trace = [dict(_idle(), beat=True)]
    if fault == "det_ramp":         # ramps allow rows 0, 1 in 2 and 1 of the 4 slots: both fire in all 4
        trace += [_slot(2, 2, rows=[0, 1], cols=[0])] * 4
    elif fault == "coincidences":   # 5 slots counted, the same device in each
        trace += [_slot(2, 2, rows=[0], cols=[0])] * 5
    else:
        trace += [_slot(2, 2, rows=[0], cols=[1])] * (5 if fault == "extra_slot" else 4)
    trace += [dict(_idle(), done=True)]
    if fault == "slot_after_done":
        trace += [_slot(2, 2)]
    trace += [("status", int(Status.OVERFLOW)) if fault == "flagged_with_slots" else "status0"]
    inv = ControllerInvariants([up], a=2, b=2)
    with pytest.raises(AssertionError):
        _feed(inv, trace)
        inv.finish()


def test_invariant_checker_accepts_a_correct_trace():
    up = _update(det=True)
    assert [ramp_count(4, int(x), 15) for x in up["u"]] == [2, 1]
    inv = ControllerInvariants([up], a=2, b=2)
    _feed(inv, [dict(_idle(), beat=True), _slot(2, 2, rows=[0, 1], cols=[0]), _slot(2, 2, rows=[0]),
                _slot(2, 2, cols=[0]), _slot(2, 2), dict(_idle(), done=True), "status0"])
    assert inv.finish() == 1


@pytest.mark.parametrize("two_phase", [False, True])
def test_deterministic_row_ramp_fires_round_bl_u_over_2_ku(two_phase):
    """det with Ghat == BL (G = 2**P): row i fires exactly round(BL*|u_i|/2**ku) times per phase; the
    expected counts are computed here, not by the checker or the golden twin."""
    cfg = dict(a=6, b=3, lanes=1, elem_width=8, bl_width=8, seed=2)
    u = np.array([127, -96, 64, 33, -1, 0])            # ku = 7
    v = np.array([100, -50, 7])
    ups = [dict(u=u, v=v, s_mant=-bl if k else bl, s_exp=0, lr_mant=1, lr_exp=0, bl=bl, det=True,
                bl_mgmt=bool(k), two_phase=two_phase) for k, bl in enumerate((8, 32))]
    res = run_amaranth(UpdateController(**cfg), ups, seed=3, p_gap=0.2, p_stall=0.2)
    phases = 2 if two_phase else 1
    for up, r in zip(ups, res):
        bl = up["bl"]
        assert r["status"] == 0 and len(r["slots"]) == bl * phases
        fires = np.sum([s[0] for s in r["slots"]], axis=0)
        want = [phases * int(np.floor(bl * abs(x) / 128 + 0.5 - 1e-9)) for x in u]   # ties round down
        assert fires.tolist() == want


def test_registers_changing_mid_update_change_nothing():
    """lr_mant, lr_exp, bl and mode are scrambled on every cycle but the first beat of each update
    (during the load, set-up and slots): the statuses and slots equal those of a run that holds them,
    and the golden twin's."""
    dut = UpdateController(**CFG)
    rng = np.random.default_rng(12)
    updates = [random_update(rng, CFG["a"], CFG["b"], elem_width=10, bl_width=8) for _ in range(8)]
    updates.append({**updates[0], "det": True, "bl": 8, "bl_mgmt": True})
    want = run_amaranth(UpdateController(**CFG), updates, seed=5)
    golden = PulseScheme(**scheme_params(CFG))
    gw = [golden_write(golden, u) for u in updates]
    assert sum(w.plan.bl > 0 for w in gw) >= 5
    scr = random.Random(7)

    def scramble(ctx):
        ctx.set(dut.lr_mant, scr.randrange(1 << CFG.get("lr_width", 16)))
        ctx.set(dut.lr_exp, scr.randrange(-128, 128))
        ctx.set(dut.bl, scr.randrange(1 << CFG["bl_width"]))
        ctx.set(dut.mode, {"det": scr.randrange(2), "bl_mgmt": scr.randrange(2), "two_phase": scr.randrange(2)})

    async def producer(ctx):
        for k, upd in enumerate(updates):
            for n, beat in enumerate(update_beats_of(upd, dut.lanes)):
                if n == 0:
                    set_registers(ctx, dut, upd)
                else:
                    scramble(ctx)
                ctx.set(dut.i.payload, dut.in_layout.const(beat))
                ctx.set(dut.i.valid, 1)
                if n == 0:
                    await wait_ready(ctx, dut.i.ready, f"the first beat of update {k}")
                else:
                    for _ in range(10_000):
                        _, _, r = await ctx.tick().sample(dut.i.ready)
                        if r:
                            break
                        scramble(ctx)
                    else:
                        raise TimeoutError(f"waited 10000 cycles for beat {n} of update {k}")
            ctx.set(dut.i.valid, 0)
            for _ in range(10_000):                    # set-up and slots: scramble every cycle
                scramble(ctx)
                _, _, busy = await ctx.tick().sample(dut.busy)
                if not busy and scr.random() < 0.5:
                    break
            else:
                raise TimeoutError(f"waited 10000 cycles for update {k} to finish")

    got = []
    inv = ControllerInvariants(updates, a=CFG["a"], b=CFG["b"], elem_width=CFG["elem_width"])
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(slot_monitor(dut, len(updates), got, rout=random.Random(6), p_stall=0.3,
                                   max_cycles=50_000, invariants=inv))
    sim.run()
    for k, (g, w, gd) in enumerate(zip(got, want, gw)):
        assert g["status"] == w["status"] == gd.plan.status, f"update {k}"
        assert len(g["slots"]) == len(w["slots"]) == len(gd.slots), f"update {k}"
        assert all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(g["slots"], gd.slots)), \
            f"update {k}: slots differ"
