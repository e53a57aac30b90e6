"""hdl/sbe_layer.py in the Amaranth simulator: the engine's update reaches the controller unchanged and
the slots are the golden pulse scheme's; parameter checks of the layer and network tops."""
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.rtl.update_controller import PulseScheme
from golden.rtl.sbe_engine import SBEFixedEngine
from contract.layouts import sample_beats as input_beats
from hdl.sbe_layer import SBELayer, SBENetwork
from tb.amaranth_sim.streams import stream_put
from tb.amaranth_sim.update_controller import serial_slot_monitor, slot_monitor


def tap_into(taps: list):
    """slot_monitor on_cycle hook: append each update beat seen on the layer's tap port to `taps`."""
    def tap(valid, payload):
        if valid:
            taps.append({"s_mant": payload.s_mant, "s_exp": payload.s_exp, "elems": list(payload.elems),
                         "vec": payload.vec, "last": payload.last})
    return tap


def beats_of(batch, lanes: int) -> list:
    """The input beats of a batch of (x, delta, x_exp, delta_exp) samples, its last sample tagged."""
    return [bt for j, (x, d, ex, ed) in enumerate(batch)
            for bt in input_beats(x, d, lanes, j == len(batch) - 1, ex, ed)]


def set_layer_registers(ctx, dut, regs: dict) -> None:
    """The controller registers of the layer (stochastic mode, BL management on)."""
    ctx.set(dut.lr_mant, regs["lr_mant"])
    ctx.set(dut.lr_exp, regs["lr_exp"])
    ctx.set(dut.bl, regs["bl"])
    ctx.set(dut.mode, {"det": 0, "bl_mgmt": 1, "two_phase": 0})


@pytest.mark.parametrize("a,b,lanes,lr_exp,bl,ctrl", [
    (3, 5, 1, 6, 40, {}),   # two writes of 14 and 20 slots
    (4, 6, 2, 4, 12, {}),   # a write of 7 slots, then one flagged (scale overflow: status 4, no slot)
    # the serial slot stream (the ECP5 network build, flow/configs/sbe_network_digits.json): line state
    # in memory banks, 3 beats of 4 lines per slot (writes of 29 and 7 slots); register lines serialised
    # 8 at a time
    (5, 7, 2, 2, 40, {"ctrl_serial_width": 4, "ctrl_line_store": "ram"}),
    (3, 5, 1, 6, 40, {"ctrl_serial_width": 8, "ctrl_line_store": "regs"}),
])
def test_layer_writes_the_engine_update_as_the_golden_twin(a, b, lanes, lr_exp, bl, ctrl):
    rng = np.random.default_rng(a * 10 + b)
    regs = dict(lr_mant=200, lr_exp=lr_exp, bl=bl, det=False, bl_mgmt=True)
    dut = SBELayer(a=a, b=b, lanes=lanes, seed=5, **ctrl)
    scheme_params = {k[len("ctrl_"):]: v for k, v in ctrl.items()}
    eng, scheme = SBEFixedEngine(a=a, b=b, lanes=lanes), PulseScheme(a=a, b=b, seed=5, lanes=lanes, **scheme_params)
    beats, want_taps, want = [], [], []
    for n in (4, 3):                         # two batches: two rank-1 writes
        for j in range(n):
            x, d = rng.integers(-4000, 4000, b), rng.integers(-4000, 4000, a)
            ex, ed = int(rng.integers(-2, 3)), int(rng.integers(-2, 3))
            eng.sample(x, d, ex, ed)
            beats += input_beats(x, d, lanes, j == n - 1, ex, ed)
        up = eng.end_batch()
        want_taps += eng.beats(up)
        w = scheme.write(up["dhat"], up["xhat"], up["s_mant"], up["s_exp"], **regs)
        want.append((w.plan.status, [] if w.plan.status else w.slots))
    got, taps, rin = [], [], random.Random(1)

    async def producer(ctx):
        ctx.set(dut.lr_mant, regs["lr_mant"])
        ctx.set(dut.lr_exp, regs["lr_exp"])
        ctx.set(dut.bl, regs["bl"])
        ctx.set(dut.mode, {"det": 0, "bl_mgmt": 1, "two_phase": 0})
        for bt in beats:
            await stream_put(ctx, dut.i, dut.in_layout.const(bt), rng=rin, p_gap=0.2)

    tap = tap_into(taps)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    monitor = serial_slot_monitor if ctrl.get("ctrl_serial_width") else slot_monitor
    sim.add_testbench(monitor(dut, len(want), got, rout=random.Random(2), p_stall=0.2, max_cycles=100_000,
                              watch=(dut.tap_valid, dut.tap_payload), on_cycle=tap))
    sim.run()
    assert taps == want_taps
    assert [g["status"] for g in got] == [w[0] for w in want]
    for gs, (_, ws) in zip((g["slots"] for g in got), want):
        assert len(gs) == len(ws)
        assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(gs, ws))
    assert sum(len(w[1]) for w in want) > 0


@pytest.mark.parametrize("kwargs,exc,text", [
    ({"a": 0, "b": 3}, ValueError, "a must be between 1 and 4096, not 0"),
    ({"a": 3, "b": 3, "ctrl_elem_width": 8}, ValueError, "ctrl_elem_width is set by the layer"),
    ({"a": 3, "b": 3, "ctrl_line_store": "ram"}, ValueError, "line_store"),
    ({"a": 3, "b": 3, "ctrl_bl_width": 0}, ValueError, "bl_width must be between 1 and 20, not 0"),
    ({"a": 3, "b": 3, "seed": -1}, ValueError, "seed must be between 0 and"),
])
def test_layer_rejects_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        SBELayer(**kwargs)


@pytest.mark.parametrize("shapes", [[], [(3, 4, 5)], [(3,)]])
def test_network_rejects_bad_shapes(shapes):
    with pytest.raises(ValueError, match="shapes must be a non-empty list of"):
        SBENetwork(shapes=shapes)


def test_layer_clear_during_readout_resets_engine_and_controller():
    """`clear` while the engine reads an update out (the controller half-loaded with it) resets both: the
    dropped update leaves no trace, and the next good batch is written unflagged, slot for slot as the
    golden layer's after reset() (= clear)."""
    from golden.rtl.sbe_layer import SBELayer as GoldenLayer

    a, b, lanes = 3, 5, 1
    rng = np.random.default_rng(77)
    regs = dict(lr_mant=200, lr_exp=3, bl=40, det=False, bl_mgmt=True)      # a write of 12 slots
    batches = []
    for n in (3, 4):
        batches.append([(rng.integers(-4000, 4000, b), rng.integers(-4000, 4000, a),
                         int(rng.integers(-2, 3)), int(rng.integers(-2, 3))) for _ in range(n)])
    gl = GoldenLayer(a, b, lanes=lanes, seed=5)
    gl.update(batches[0])                # read out, then dropped by the clear
    gl.clear()
    up, w = gl.batch(batches[1], **regs)
    assert w.plan.status == 0 and w.slots
    dut = SBELayer(a=a, b=b, lanes=lanes, seed=5)
    got, taps, seen = [], [], {}

    async def producer(ctx):
        set_layer_registers(ctx, dut, regs)
        for bt in beats_of(batches[0], lanes):
            await stream_put(ctx, dut.i, dut.in_layout.const(bt))
        for n in range(2_000):           # the controller takes 2 of the 8 update beats, then clear
            if len(taps) >= 2:
                break
            await ctx.tick()
        else:
            raise AssertionError("timeout: 2 update beats of the first batch not seen in 2000 cycles")
        seen["taps_at_clear"] = len(taps)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        del taps[:]
        for bt in beats_of(batches[1], lanes):
            await stream_put(ctx, dut.i, dut.in_layout.const(bt))

    record = tap_into(taps)

    def tap(valid, payload, clear):
        # a beat on the clear edge is dropped at both ends (engine and controller reset together); with
        # the read-out back to back, one can coincide with the clear
        record(valid & ~clear, payload)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(slot_monitor(dut, 1, got, rout=random.Random(3), max_cycles=20_000,
                                   watch=(dut.tap_valid, dut.tap_payload, dut.clear), on_cycle=tap))
    sim.run()
    assert seen["taps_at_clear"] == 2
    assert taps == gl.beats(up)
    assert got[0]["status"] == 0, f"the write after clear was flagged: status {got[0]['status']}"
    assert len(got[0]["slots"]) == len(w.slots)
    assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(got[0]["slots"], w.slots))


@pytest.mark.parametrize("ctrl", [{}, {"ctrl_serial_width": 4, "ctrl_line_store": "ram"},
                                  {"ctrl_serial_width": 16, "ctrl_line_store": "ram"}],
                         ids=["parallel_regs", "serial_ram", "serial_ram_one_beat"])
def test_layer_clear_after_a_write_reseeds_the_line_lfsrs(ctrl):
    """`clear` between two writes returns every line LFSR to its seed, also with the line state in memory
    banks (hdl/controller/line_banks.py re-seeds its LFSR memory after a reset): the second write is slot
    for slot the golden layer's after clear(), and differs from the write without the clear."""
    from golden.rtl.sbe_layer import SBELayer as GoldenLayer

    a, b, lanes = 5, 7, 2
    rng = np.random.default_rng(78)
    regs = dict(lr_mant=200, lr_exp=2, bl=40, det=False, bl_mgmt=True)
    batches = [[(rng.integers(-4000, 4000, b), rng.integers(-4000, 4000, a),
                 int(rng.integers(-2, 3)), int(rng.integers(-2, 3))) for _ in range(n)] for n in (4, 3)]
    want = []
    for clear in (True, False):
        gl = GoldenLayer(a, b, lanes=lanes, seed=5, **ctrl)
        gl.batch(batches[0], **regs)
        if clear:
            gl.clear()
        want.append(gl.batch(batches[1], **regs)[1])
    assert want[0].plan.status == 0 and want[0].slots
    assert any(not all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(want[0].slots, want[1].slots)), \
        "the test needs a second write that the clear changes"
    dut = SBELayer(a=a, b=b, lanes=lanes, seed=5, **ctrl)
    got = []

    async def producer(ctx):
        set_layer_registers(ctx, dut, regs)
        for bt in beats_of(batches[0], lanes):
            await stream_put(ctx, dut.i, dut.in_layout.const(bt))
        for _ in range(20_000):          # the first write's done strobe, then clear
            _, _, done = await ctx.tick().sample(dut.done)
            if done:
                break
        else:
            raise AssertionError("timeout: the first write did not finish in 20000 cycles")
        await ctx.tick()                 # its status is registered at the done edge
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for bt in beats_of(batches[1], lanes):
            await stream_put(ctx, dut.i, dut.in_layout.const(bt))

    monitor = serial_slot_monitor if ctrl else slot_monitor
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(monitor(dut, 2, got, rout=random.Random(4), p_stall=0.1, max_cycles=40_000))
    sim.run()
    assert got[1]["status"] == 0
    assert len(got[1]["slots"]) == len(want[0].slots)
    assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(got[1]["slots"], want[0].slots))
