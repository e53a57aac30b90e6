"""cocotb (2.x) bench of the generated update-controller Verilog with behavioural crossbars attached.

The pulse outputs drive golden/arrays/crossbar.py arrays as a Python model of the line drivers and devices:
every cycle where `slot & slot_ready`, the bench reads row_fire/row_pol/col_fire/col_pol and applies
that slot (`Crossbar.apply_slot`) to two arrays: a noiseless ConstantStep one and a Gokmen-Vlasov one
(d2d spread and c2c noise). The golden run feeds the slots of golden/rtl/update_controller.py to two more
arrays built with the same construction and noise seeds. After a sequence of seeded random updates
(stochastic and deterministic, BL management on and off, one and two phases, some with an overflowing
scale) every device must equal its golden twin exactly (array_equal on float64), the slot sequences
and status flags must match, and so must the coincidence and line-pulse counters. Independently of the
golden twin, tb/amaranth_sim/update_controller.py ControllerInvariants asserts on the RTL's own outputs
every cycle (slot counts against the direct formula, no slot after done, no slot of a flagged update,
coincidences per device <= BL, the deterministic row ramp), also for TAIL_CYCLES cycles after the last
update.
Random gaps on the input stream and random stalls of slot_ready (serial output, serial_width > 0: of
o.ready; a slot is collected from its ceil((a+b)/S) beats and counts in the cycle of its last beat). Configuration from bench_params():
the UpdateController keyword parameters plus n_updates and tb_seed.
"""
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from golden.arrays.crossbar import Crossbar, ReadParams
from golden.arrays.devices import GokmenVlasov, Noiseless
from golden.rtl.update_controller import PulseScheme, apply_write
from hdl.controller.update_controller import UpdateController
from tb.drivers.reset import reset
from tb.drivers.streams import StreamSource, random_pauses
from tb.amaranth_sim.update_controller import ControllerInvariants
from tb.drivers.updates import drive_updates
from tb.runner import bench_params
from tb.stimulus import bits, golden_write, random_update, scheme_params


#: Cycles the bench waits for all updates to finish; then cycles watched after the last one.
MAX_CYCLES = 200_000
TAIL_CYCLES = 16


def arrays(a, b):
    io = ReadParams.perfect()
    return [Crossbar(a, b, device=Noiseless(), construction_seed=5, noise_seed=6, forward_io=io),
            Crossbar(a, b, device=GokmenVlasov(), construction_seed=5, noise_seed=6, forward_io=io)]


def high(v) -> bool:
    """A 1-bit output is 1 (an X before the first change of an Amaranth comb block counts as 0: Icarus
    does not run `always @*` blocks at time 0)."""
    return str(v) == "1"


@cocotb.test()
async def controller_writes_array_like_golden(dut):
    p = bench_params()
    n_updates, tb_seed = p.pop("n_updates", 8), p.pop("tb_seed", 1)
    model = UpdateController(**p)                      # for layouts and widths only
    a, b = model.a, model.b
    rng = np.random.default_rng(tb_seed)
    updates = [random_update(rng, a, b, elem_width=model.elem_width, mant_width=model.mant_width,
                             bl_width=model.bl_width) for _ in range(n_updates)]

    golden = PulseScheme(**scheme_params(p))
    writes = [golden_write(golden, u) for u in updates]
    gold_arrays = arrays(a, b)
    for w in writes:
        for x in gold_arrays:
            apply_write(x, w)

    hw_arrays = arrays(a, b)
    slots, statuses = [], []
    stall = random.Random(tb_seed + 7)

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = StreamSource(dut, "i", dut.clk, random_pauses(0.3, tb_seed))
    S = model.serial_width
    ready_port = dut.o__ready if S else dut.slot_ready
    ready_port.value = 0
    await reset(dut)
    nch, acc = -(-(a + b) // S) if S else 0, [0, 0, 0]          # serial: beats per slot; fire, pol, beats

    cocotb.start_soon(drive_updates(dut, src, model, updates))
    inv = ControllerInvariants(updates, a=a, b=b, elem_width=model.elem_width)
    pending = False
    for _ in range(MAX_CYCLES):
        await RisingEdge(dut.clk)
        ready = stall.random() > 0.3
        ready_port.value = int(ready)
        await ReadOnly()
        if pending:
            statuses.append(int(dut.status.value))
            inv.status(statuses[-1])
            pending = False
            if len(statuses) == n_updates:
                break
        done = high(dut.done.value)
        rf = cf = s = None
        if S:                                          # a slot counts when its last beat is transferred
            slot = False
            if ready and high(dut.o__valid.value):
                beat = int(dut.o__payload.value)
                acc[0] |= (beat & ((1 << S) - 1)) << (S * acc[2])
                acc[1] |= ((beat >> S) & ((1 << S) - 1)) << (S * acc[2])
                acc[2] += 1
                last = bool(beat >> (2 * S) & 1)
                assert last == (acc[2] == nch), f"beat {acc[2]} of {nch}: last = {last}"
                if last:
                    f, q = bits(acc[0], a + b), bits(acc[1], a + b)
                    slot, rf, cf, s = True, f[:a], f[a:], (f[:a], q[:a], f[a:], q[a:])
                    acc[:] = [0, 0, 0]
        else:
            slot = high(dut.slot.value)
            if slot:
                rf, cf = bits(dut.row_fire.value, a), bits(dut.col_fire.value, b)
                s = (rf, bits(dut.row_pol.value, a), cf, bits(dut.col_pol.value, b))
        inv.cycle(beat=high(dut.i__valid.value) and high(dut.i__ready.value), slot=slot, taken=slot and ready,
                  row_fire=rf, col_fire=cf, done=done)
        if ready and slot:
            slots.append(s)
            for x in hw_arrays:
                x.apply_slot(*s)
        if done:
            pending = True
    else:
        raise TimeoutError(f"waited {MAX_CYCLES} cycles for the done strobe (and status) of update "
                           f"{len(statuses)} of {n_updates}")
    for _ in range(TAIL_CYCLES):                       # nothing is presented after the last update
        await RisingEdge(dut.clk)
        await ReadOnly()
        inv.cycle(beat=False, slot=high(dut.o__valid.value if S else dut.slot.value), taken=False,
                  row_fire=None, col_fire=None, done=high(dut.done.value))
    assert inv.finish() == n_updates

    want_slots = [s for w in writes for s in w.slots]
    assert statuses == [w.plan.status for w in writes]
    assert len(slots) == len(want_slots)
    for k, (got, want) in enumerate(zip(slots, want_slots)):
        assert all(np.array_equal(x, y) for x, y in zip(got, want)), f"slot {k} differs"
    assert sum(w.plan.bl > 0 for w in writes) >= n_updates // 2
    for hw, gd in zip(hw_arrays, gold_arrays):
        assert np.array_equal(hw.weights, gd.weights), f"{type(hw.device).__name__}: weights differ"
        assert np.array_equal(hw.coincidences_up, gd.coincidences_up)
        assert np.array_equal(hw.coincidences_down, gd.coincidences_down)
        assert np.array_equal(hw.row_pulses, gd.row_pulses)
        assert np.array_equal(hw.col_pulses, gd.col_pulses)
    moved = int(np.count_nonzero(hw_arrays[0].weights))
    assert moved > 0
    dut._log.info("%d updates, %d slots, %d coincidences, %d devices moved: arrays equal the golden run",
                  n_updates, len(slots), int(hw_arrays[0].coincidences.sum()), moved)
