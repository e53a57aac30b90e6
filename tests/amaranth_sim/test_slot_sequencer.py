"""The slot sequencer's deterministic ramps (hdl/controller/slot_sequencer.py) in both forms, "shift" (barrel
shifters by ku, kv) and "multiply" (products with the masks' leading ones, the iCE40 form), against the
ramps of the golden scheme, ((2t+1) << ku) >> (m+1) for the rows and ((2 rev_m(t) + 1) << kv) >> (m+1) for
the columns, in every slot of trains of every power-of-two length BL = 2**m and at every bit length
k = 0 .. P (k = 0: a zero vector, whose update is skipped; both forms give 0 there too)."""
import pytest
from amaranth.sim import Simulator

from contract.controller_config import ControllerConfig
from golden.rtl.update_controller import bit_reverse
from hdl.controller.slot_sequencer import SlotSequencer

CONFIGS = {
    "p8_bl8": (dict(a=8, b=8, elem_width=8, mant_width=8, exp_width=6, lr_width=8, lr_exp_width=6, bl_width=8), 7),
    "p16_bl12": (dict(a=5, b=7), 5),       # the default widths; trains up to 2**5 slots (the ramps' shifts
}                                          # are all reached: col_one covers every m from the top down)


def _ramp(t, k, m):
    return ((2 * t + 1) << k) >> (m + 1)


@pytest.mark.parametrize("ramps", ["shift", "multiply"])
@pytest.mark.parametrize("name", CONFIGS)
def test_ramps_match_the_golden_ramps_for_every_bit_length_and_bl(name, ramps):
    params, max_m = CONFIGS[name]
    cfg = ControllerConfig(**params)
    P, BLW = cfg.elem_width, cfg.bl_width
    dut = SlotSequencer(cfg, ramps=ramps)
    cases = [(ku, (3 * ku + 1) % (P + 1), m) for ku in range(P + 1) for m in range(max_m + 1)]
    bad = []

    async def bench(ctx):
        ctx.set(dut.det, 1)
        ctx.set(dut.g, 1 << P)
        for ku, kv, m in cases:
            ctx.set(dut.ku, ku)
            ctx.set(dut.kv, kv)
            ctx.set(dut.mu, (1 << ku) - 1)
            ctx.set(dut.mv, (1 << kv) - 1)
            ctx.set(dut.n_bl, 1 << m)
            ctx.set(dut.col_one, 1 << (BLW - 1 - m))
            ctx.set(dut.active, 0)
            ctx.set(dut.take, 0)
            await ctx.tick().repeat(2)                 # idle: slot 0's ramps are loaded
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.active, 1)
            ctx.set(dut.take, 1)
            for t in range(1 << m):
                got = (ctx.get(dut.det_row), ctx.get(dut.det_col))
                want = (_ramp(t, ku, m), _ramp(bit_reverse(t, m), kv, m))
                if got != want:
                    bad.append((ku, kv, m, t, got, want))
                last = ctx.get(dut.last)
                await ctx.tick()
            assert last, f"the train of BL = {1 << m} did not end on its last slot"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert not bad, f"{len(bad)} slots differ, first (ku, kv, m, t, got, want): {bad[:3]}"


def test_rejects_an_unknown_ramp_form():
    with pytest.raises(ValueError, match="ramps must be one of"):
        SlotSequencer(ControllerConfig(a=2, b=2), ramps="lut")
