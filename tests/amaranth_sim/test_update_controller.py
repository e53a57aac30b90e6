"""Amaranth-simulator tests of hdl/controller/update_controller.py against golden/rtl/update_controller.py, bit for bit,
with random gaps on the input stream and random stalls of slot_ready."""
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from contract.enums import Status
from golden.rtl.update_controller import PulseScheme
from hdl.controller.update_controller import UpdateController
from tb.amaranth_sim.update_controller import amaranth_producer, run_amaranth, set_registers, wait_ready
from tb.stimulus import bits, golden_kwargs, golden_write, random_update, scheme_params, update_beats_of

#: set-up cycles at P = 16 (and the default widths), counted from the documented pipeline: 9 registered plan
#: steps (1, 2, 3, 3b, 4b, 5 .. 8; the 8th also the first of the P + 1 steps of the radix-2 divider of the
#: gate threshold), the 16 cycles of step 4's shift by 4 per cycle (the largest hi, 15, plus one), P = 16
#: more divider steps, and one settle cycle (the gate threshold is a register when the slots start).
SETUP16 = 9 + 16 + 16 + 1
#: Cycle limit of the simulation loops written here (the drivers of tb/amaranth_sim have their own).
MAX_CYCLES = 100_000

CONFIGS = {
    "a5_b7_l1": dict(a=5, b=7, lanes=1, seed=3),
    "a13_b9_l2": dict(a=13, b=9, lanes=2, seed=11),
    "a4_b11_l3_e12": dict(a=4, b=11, lanes=3, elem_width=12, mant_width=10, bl_width=8, lfsr_width=17,
                          seed=5),
}


def golden_for(cfg):
    return PulseScheme(**scheme_params(cfg))


def golden_writes(g, updates):
    return [golden_write(g, up) for up in updates]


def same_slots(s1, s2):
    return len(s1) == len(s2) and all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(s1, s2))


@pytest.mark.parametrize("name", CONFIGS)
def test_matches_golden_bit_for_bit_with_stalls(name):
    cfg = CONFIGS[name]
    dut = UpdateController(**cfg)
    ew, mw = cfg.get("elem_width", 16), cfg.get("mant_width", 16)
    rng = np.random.default_rng(len(name))
    updates = [random_update(rng, cfg["a"], cfg["b"], elem_width=ew, mant_width=mw,
                             bl_width=cfg.get("bl_width", 12)) for _ in range(10)]
    res = run_amaranth(dut, updates, seed=2, p_gap=0.3, p_stall=0.3)
    want = golden_writes(golden_for(cfg), updates)
    written = 0
    for k, (r, w) in enumerate(zip(res, want)):
        assert r["status"] == w.plan.status, f"update {k}"
        assert same_slots(r["slots"], w.slots), f"update {k}: slots differ"
        written += w.plan.bl > 0
    assert written >= 6          # the stimulus must mostly write, not only exercise the flags


def test_lfsr_state_carries_across_updates():
    """Two identical updates give different slot patterns (the LFSRs are not reseeded), same as golden."""
    cfg = CONFIGS["a5_b7_l1"]
    rng = np.random.default_rng(4)
    up = random_update(rng, 5, 7, det=False, bl_mgmt=False, two_phase=False)
    up["bl"], up["lr_mant"], up["lr_exp"] = 20, 128, -2
    plan = golden_for(cfg).plan(up["u"], up["v"], up["s_mant"], up["s_exp"], **golden_kwargs(up))
    assert plan.status == 0 and plan.bl == 20 and plan.g > 2 ** 16 // 8     # the gate passes often
    res = run_amaranth(UpdateController(**cfg), [up, up], seed=1)
    want = golden_writes(golden_for(cfg), [up, up])
    assert all(same_slots(r["slots"], w.slots) for r, w in zip(res, want))
    assert all(any(f.any() for f, _, _, _ in w.slots) for w in want)       # both updates fire lines
    assert not same_slots(res[0]["slots"], res[1]["slots"])


@pytest.mark.parametrize("two_phase", [False, True])
def test_cycle_cost_matches_formula(two_phase):
    """Load (a+b)/L + SETUP16 + 1 + BL*phases cycles, measured with no stalls; independent of a*b."""
    cfg = CONFIGS["a13_b9_l2"]
    dut = UpdateController(**cfg)
    rng = np.random.default_rng(9)
    updates = []
    for bl in (1, 7, 30):
        up = random_update(rng, 13, 9, det=False, bl_mgmt=False, two_phase=two_phase)
        up["bl"] = bl
        up["lr_mant"], up["lr_exp"] = 1, -30           # fits any BL: every update is written
        updates.append(up)
    res = run_amaranth(dut, updates, seed=0)
    phases = 2 if two_phase else 1
    for up, r in zip(updates, res):
        assert r["status"] == 0
        assert len(r["slots"]) == up["bl"] * phases
        load = 7 + 5                                   # ceil(13/2) + ceil(9/2) beats
        assert r["cycles"] == load + SETUP16 + 1 + up["bl"] * phases
        assert r["cycles"] == dut.cycles_per_update(up["bl"], phases)


@pytest.mark.parametrize("change,flag", [
    (dict(bl=0), Status.BL_ZERO),
    (dict(bl=12, det=True), Status.BL_POW2),
    (dict(bl=3, bl_mgmt=False, lr_mant=255, lr_exp=10), Status.OVERFLOW),
    (dict(bl=3, bl_mgmt=True, lr_mant=255, lr_exp=10), Status.OVERFLOW),
])
def test_invalid_registers_are_flagged_and_not_applied(change, flag):
    cfg = CONFIGS["a5_b7_l1"]
    rng = np.random.default_rng(1)
    good = random_update(rng, 5, 7, det=False, bl_mgmt=True)
    bad = {**random_update(rng, 5, 7, det=False, bl_mgmt=False), **change}
    res = run_amaranth(UpdateController(**cfg), [bad, good], seed=3, p_gap=0.2)
    assert res[0]["status"] == flag
    assert res[0]["slots"] == []
    want = golden_writes(golden_for(cfg), [bad, good])
    assert want[0].plan.status == flag
    assert res[1]["status"] == 0 and same_slots(res[1]["slots"], want[1].slots)


def test_zero_update_writes_nothing_without_flag():
    cfg = CONFIGS["a5_b7_l1"]
    up = random_update(np.random.default_rng(2), 5, 7)
    up["s_mant"] = 0
    res = run_amaranth(UpdateController(**cfg), [up], seed=0)
    assert res[0] == {"slots": [], "status": 0, "cycles": res[0]["cycles"]}


def test_protocol_error_is_flagged():
    """An Xhat vector one beat short: flagged, nothing written; the next update is written normally."""
    cfg = CONFIGS["a5_b7_l1"]
    dut = UpdateController(**cfg)
    rng = np.random.default_rng(3)
    bad, good = random_update(rng, 5, 7), random_update(rng, 5, 7)
    beats = update_beats_of(bad, 1)
    beats = beats[:-2] + [{**beats[-1]}]            # drop one Xhat beat, keep the final `last`
    statuses, done_slots = [], []

    async def producer(ctx):
        for beat_list, upd in ((beats, bad), (update_beats_of(good, 1), good)):
            set_registers(ctx, dut, upd)
            for beat in beat_list:
                ctx.set(dut.i.payload, dut.in_layout.const(beat))
                ctx.set(dut.i.valid, 1)
                await wait_ready(ctx, dut.i.ready, f"the controller to take a beat of update {len(statuses)}")
            ctx.set(dut.i.valid, 0)

    async def monitor(ctx):
        ctx.set(dut.slot_ready, 1)
        n = 0
        for _ in range(MAX_CYCLES):
            _, _, done, slot = await ctx.tick().sample(dut.done, dut.slot)
            n += slot
            if done:
                await ctx.tick()
                statuses.append(ctx.get(dut.status))
                done_slots.append(n)
                n = 0
                if len(statuses) == 2:
                    return
        raise TimeoutError(f"waited {MAX_CYCLES} cycles for the done strobe of update {len(statuses)} of 2")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(monitor)
    sim.run()
    g = golden_for(cfg)
    want = golden_writes(g, [good])[0]
    assert statuses == [Status.PROTOCOL, want.plan.status]
    assert done_slots[0] == 0 and done_slots[1] == len(want.slots)


def test_serial_output_carries_the_same_slots():
    cfg = dict(CONFIGS["a13_b9_l2"], serial_width=4)
    dut = UpdateController(**cfg)
    rng = np.random.default_rng(8)
    updates = [random_update(rng, 13, 9) for _ in range(4)]
    want = golden_writes(golden_for(cfg), updates)
    n = 13 + 9
    nch = -(-n // 4)
    got_slots, rng_s = [], random.Random(5)

    producer = amaranth_producer(dut, updates)

    total = sum(len(w.slots) for w in want)

    async def consumer(ctx):
        fire, pol, k, dones = 0, 0, 0, 0
        for _ in range(MAX_CYCLES):
            if len(got_slots) >= total and dones >= len(updates):
                return
            ready = rng_s.random() > 0.3
            ctx.set(dut.o.ready, int(ready))
            _, _, valid, payload, done = await ctx.tick().sample(dut.o.valid, dut.o.payload, dut.done)
            dones += done
            if valid and ready:
                fire |= payload.fire << (4 * k)
                pol |= payload.pol << (4 * k)
                k += 1
                assert bool(payload.last) == (k == nch)
                if payload.last:
                    f, p = bits(fire, n), bits(pol, n)
                    got_slots.append((f[:13], p[:13], f[13:], p[13:]))
                    fire, pol, k = 0, 0, 0
        raise TimeoutError(f"waited {MAX_CYCLES} cycles for {total} serial slots ({len(got_slots)} seen) and "
                           f"{len(updates)} done strobes ({dones} seen)")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(consumer)
    sim.run()
    assert total > 0
    assert same_slots(got_slots, [s for w in want for s in w.slots])


@pytest.mark.parametrize("kwargs,exc,text", [
    ({"a": 0, "b": 3}, ValueError, "a must be between 1 and 4096, not 0"),
    ({"a": 3, "b": 3, "lanes": 9}, ValueError, "lanes must be between 1 and 8, not 9"),
    ({"a": 3, "b": 3.0}, TypeError, "b must be an integer, not 3.0"),
    ({"a": 3, "b": 3, "lfsr_width": 32}, ValueError, "lfsr_width must be one of"),
    ({"a": 3, "b": 3, "elem_width": 20, "lfsr_width": 17}, ValueError, "lfsr_width must be at least"),
    ({"a": 3, "b": 3, "bl_width": 0}, ValueError, "bl_width must be between 1 and 20, not 0"),
    ({"a": 3, "b": 3, "serial_width": -1}, ValueError, "serial_width must be between 0 and 1024"),
])
def test_rejects_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        UpdateController(**kwargs)


def test_bench_formula_view_claims_no_measurement():
    """Without simulation the bench reports the formula only: nothing labelled measured, no match claimed;
    the formula cycles are the documented cost, counted here from its parts."""
    from bench.controller import run
    out = run(simulate=False)
    assert out["formula_matches_simulation"] is None and "simulation_seconds" not in out
    assert not any(k.startswith("measured") for r in out["writes"] for k in r)
    load = 100 // 4 + 784 // 4
    assert [r["formula_cycles"] for r in out["writes"]] == [load + SETUP16 + 1 + 8, load + SETUP16 + 1 + 32,
                                                           load + SETUP16 + 1 + 64]
    assert out["by_lanes_bl32"] == {L: -(-100 // L) + -(-784 // L) + SETUP16 + 1 + 32 for L in (1, 2, 4, 8)}


def test_bench_simulated_view_measures():
    """With simulation (a small layer) the measured fields are the simulated cycles and slots."""
    from bench.controller import run
    out = run(a=3, b=5, lanes=2, simulate=True)
    assert out["formula_matches_simulation"] is True
    for r in out["writes"]:
        assert r["measured_cycles"] == r["formula_cycles"] == 2 + 3 + SETUP16 + 1 + r["bl"] * r["phases"]
        assert r["measured_slots"] == r["bl"] * r["phases"]


def test_serial_cycle_cost_matches_formula():
    """Serialised: each slot costs ceil((a+b)/S) beats plus one capture cycle."""
    cfg = dict(CONFIGS["a13_b9_l2"], serial_width=5)
    dut = UpdateController(**cfg)
    up = random_update(np.random.default_rng(1), 13, 9, det=False, bl_mgmt=False, two_phase=True)
    up.update(bl=6, lr_mant=1, lr_exp=-30)
    cycles = []
    producer = amaranth_producer(dut, [up])

    async def monitor(ctx):
        ctx.set(dut.o.ready, 1)
        start = None
        for n in range(10_000):
            _, _, iv, ir, done = await ctx.tick().sample(dut.i.valid, dut.i.ready, dut.done)
            if iv and ir and start is None:
                start = n
            if done:
                cycles.append(n - start + 1)
                return
        raise TimeoutError("waited 10000 cycles for the done strobe of the serialised update")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(monitor)
    sim.run()
    load, per_slot = 7 + 5, -(-22 // 5) + 1
    assert cycles == [load + SETUP16 + 1 + 6 * 2 * per_slot] == [dut.cycles_per_update(6, 2)]


@pytest.mark.parametrize("name", ["a5_b7_l1", "a4_b11_l3_e12"])
def test_deterministic_ramps_match_golden_over_ku_kv_and_bl(name):
    """Deterministic mode, bit for bit, with the largest magnitudes of Dhat and Xhat spread over every bit
    length (unit vectors keep ku, kv near P) and BL over every power of two the slot count allows: the
    row and column ramps ((2t+1) << ku) >> (m+1) and ((2 rev_m(t) + 1) << kv) >> (m+1) at each shift."""
    cfg = CONFIGS[name]
    ew, mw, bw = cfg.get("elem_width", 16), cfg.get("mant_width", 16), cfg.get("bl_width", 12)
    F = ew - 1
    rng = np.random.default_rng(7)
    updates = []
    for k in range(12):
        ku, kv = 1 + k % F, 1 + (5 * k + 3) % F
        u = rng.integers(-(1 << ku) + 1, 1 << ku, cfg["a"])
        v = rng.integers(-(1 << kv) + 1, 1 << kv, cfg["b"])
        u[rng.integers(cfg["a"])] = (1 << (ku - 1)) * (1 if rng.integers(2) else -1)   # bit length exactly ku
        v[rng.integers(cfg["b"])] = (1 << (kv - 1)) * (1 if rng.integers(2) else -1)
        ku, kv = int(np.abs(u).max()).bit_length(), int(np.abs(v).max()).bit_length()
        bl = 1 << int(rng.integers(0, min(bw, 7)))
        mgmt = bool(rng.integers(2))
        s_mant, s_exp = int(rng.integers(1 << (mw - 3), 1 << (mw - 1))) * (1 if rng.integers(2) else -1), -mw
        target = bl * rng.uniform(0.3, 1.0) if not mgmt else rng.uniform(0.2, bl)
        lr = target / (abs(s_mant) * 2.0 ** (s_exp + ku + kv - 2 * F))
        lr_exp = int(np.floor(np.log2(lr))) - 7
        updates.append(dict(u=u, v=v, s_mant=s_mant, s_exp=s_exp, lr_mant=int(np.clip(round(lr / 2.0 ** lr_exp), 1, 255)),
                            lr_exp=lr_exp, bl=bl, det=True, bl_mgmt=mgmt, two_phase=bool(rng.integers(2))))
    res = run_amaranth(UpdateController(**cfg), updates, seed=5, p_gap=0.2, p_stall=0.2)
    want = golden_writes(golden_for(cfg), updates)
    for k, (r, w) in enumerate(zip(res, want)):
        assert r["status"] == w.plan.status, f"update {k}"
        assert same_slots(r["slots"], w.slots), f"update {k}: slots differ"
    assert sum(w.plan.bl > 1 for w in want) >= 8           # ramps of several slots, not only flags
