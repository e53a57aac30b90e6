"""The update controller with its line state in memory banks (ControllerConfig line_store="ram",
hdl/controller/line_banks.py): the same slots as the golden twin bit for bit, with input gaps and
o.ready stalls, for bank counts that divide a + b, do not, exceed it, or give one beat per slot; the
same cycles as the register store; and the configuration checks."""
import numpy as np
import pytest

from contract.controller_config import RAM_AUTO_LINES, ControllerConfig
from golden.rtl.update_controller import PulseScheme
from hdl.controller.update_controller import UpdateController
from tb.amaranth_sim.update_controller import run_amaranth_serial
from contract.enums import Status
from tb.stimulus import golden_write, random_update, scheme_params, update_beats_of

CASES = {
    "a13_b9_l2_s4": dict(a=13, b=9, lanes=2, seed=11, serial_width=4),           # 6 beats, 2 padded lines
    "a13_b9_l2_s5": dict(a=13, b=9, lanes=2, seed=4, serial_width=5),            # rows end mid-bank
    "a5_b7_l1_s1": dict(a=5, b=7, lanes=1, seed=3, serial_width=1),              # one bank
    "a4_b11_l3_s3_e12": dict(a=4, b=11, lanes=3, elem_width=12, mant_width=10, bl_width=8, lfsr_width=17,
                             seed=5, serial_width=3),
    "a6_b5_l3_s16": dict(a=6, b=5, lanes=3, seed=9, serial_width=16),            # one beat per slot
    "a5_b3_l2_s4": dict(a=5, b=3, lanes=2, seed=6, serial_width=4),              # two beats per slot: the
    # next slot's read of address 0 follows its leap write-back by one pipeline move
}


def _updates(cfg, n, seed):
    rng = np.random.default_rng(seed)
    ew, mw = cfg.get("elem_width", 16), cfg.get("mant_width", 16)
    return [random_update(rng, cfg["a"], cfg["b"], elem_width=ew, mant_width=mw, bl_width=cfg.get("bl_width", 12))
            for _ in range(n)]


def _same(s1, s2):
    return len(s1) == len(s2) and all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(s1, s2))


@pytest.mark.parametrize("name", CASES)
def test_ram_store_matches_golden_with_stalls(name):
    cfg = dict(CASES[name], line_store="ram")
    updates = _updates(cfg, 8, len(name))
    res = run_amaranth_serial(UpdateController(**cfg), updates, seed=3, p_gap=0.3, p_stall=0.3)
    g = PulseScheme(**scheme_params(cfg))
    written = 0
    for k, (up, r) in enumerate(zip(updates, res)):
        w = golden_write(g, up)
        assert r["status"] == w.plan.status, f"update {k}"
        assert _same(r["slots"], w.slots), f"update {k}: slots differ"
        written += w.plan.bl > 0
    assert written >= 4


@pytest.mark.parametrize("name", ["a13_b9_l2_s5", "a6_b5_l3_s16"])
def test_ram_store_costs_the_cycles_of_the_register_store(name):
    """Without stalls both stores take the documented cycles: load, set-up, (ceil((a+b)/S) + 1) per slot."""
    updates = _updates(CASES[name], 4, 7)
    for up in updates:
        up.update(lr_mant=1, lr_exp=-30, bl_mgmt=False)  # BL = bl, and it fits: every update is written
    got = {}
    for store in ("regs", "ram"):
        dut = UpdateController(**CASES[name], line_store=store)
        got[store] = [r["cycles"] for r in run_amaranth_serial(dut, updates, seed=0)]
    want = [UpdateController(**CASES[name]).cycles_per_update(up["bl"], 2 if up["two_phase"] else 1)
            for up in updates]
    assert got["regs"] == got["ram"] == want


@pytest.mark.parametrize("name", ["a13_b9_l2_s5", "a5_b3_l2_s4"])
def test_ram_store_writes_back_to_back_updates_exactly(name):
    """Each update's first beat is taken the cycle after the previous done (no input gaps, no stalls):
    the load positions rewind in time (the registered `rewind`), so every update is written exactly as
    the golden twin writes it."""
    cfg = dict(CASES[name], line_store="ram")
    updates = _updates(cfg, 4, 5)
    for up in updates:
        up.update(lr_mant=1, lr_exp=-30, bl_mgmt=False)
    res = run_amaranth_serial(UpdateController(**cfg), updates, seed=0)
    g = PulseScheme(**scheme_params(cfg))
    for k, (up, r) in enumerate(zip(updates, res)):
        w = golden_write(g, up)
        assert r["status"] == w.plan.status == 0 and _same(r["slots"], w.slots), f"update {k}"


def test_auto_store_picks_ram_for_large_serial_arrays():
    assert ControllerConfig(a=100, b=784, serial_width=32).ram
    assert not ControllerConfig(a=100, b=784).ram                        # parallel outputs: registers
    assert not ControllerConfig(a=8, b=8, serial_width=4).ram
    assert ControllerConfig(a=8, b=8, serial_width=4, line_store="ram").ram
    assert ControllerConfig(a=RAM_AUTO_LINES, b=1, serial_width=4).ram


@pytest.mark.parametrize("kwargs,text", [
    (dict(line_store="bram"), "line_store must be one of 'auto', 'regs', 'ram', not 'bram'"),
    (dict(line_store="ram"), "needs the serial output: set serial_width"),
    (dict(line_store="ram", serial_width=2, lanes=4), r"lanes \(4\) must be at most serial_width \(2\)"),
])
def test_rejects_bad_line_store(kwargs, text):
    with pytest.raises(ValueError, match=text):
        UpdateController(a=8, b=8, **kwargs)


@pytest.mark.parametrize("cut", ["row", "col", "extra_row"])
def test_ram_store_recovers_after_a_protocol_error(cut):
    """A stream against the contract (a row or column beat missing, or one row beat too many, which
    would write past the rows) is flagged and writes nothing; the load positions rewind, so the next
    updates are written exactly as the golden twin writes them."""
    cfg = dict(CASES["a13_b9_l2_s5"], line_store="ram")
    updates = _updates(cfg, 3, 11)
    for up in updates:
        up.update(lr_mant=1, lr_exp=-30, bl_mgmt=False)
    beats = update_beats_of(updates[0], cfg["lanes"])
    nrow = -(-cfg["a"] // cfg["lanes"])
    if cut == "row":
        beats = beats[1:]
    elif cut == "col":
        beats = beats[:-2] + [beats[-1]]
    else:
        beats = beats[:nrow] + [beats[nrow - 1]] + beats[nrow:]
    res = run_amaranth_serial(UpdateController(**cfg), updates, seed=1, p_gap=0.2, p_stall=0.2,
                              beat_lists=[beats, None, None])
    assert res[0]["status"] == Status.PROTOCOL and res[0]["slots"] == []
    g = PulseScheme(**scheme_params(cfg))
    for k in (1, 2):
        w = golden_write(g, updates[k])
        assert res[k]["status"] == w.plan.status == 0 and _same(res[k]["slots"], w.slots), f"update {k}"
