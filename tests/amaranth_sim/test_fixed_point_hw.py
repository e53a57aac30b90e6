"""The split rounding and the chain-free clamps of hdl/fixed_point.py against contract/fixed_point.py,
exhaustively over small widths (the engine's lanes use them at full width; tests/amaranth_sim/
test_sbe_engine.py checks those bit for bit against the golden model)."""
from __future__ import annotations

import pytest
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from contract.fixed_point import rshift_round, saturate
from hdl.fixed_point import round_amt_hw, round_post, round_post_sat_hw, round_pre_hw, saturate_hw

LMAX, RMAX = 3, 6


def _run(m, bench):
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_round_pre_post_is_rshift_round():
    """round_post(round_pre_hw(v, round_amt_hw(s))) == rshift_round(v, s) for every 7-bit v and s."""
    m = Module()
    v, s = Signal(signed(7)), Signal(signed(5))
    amt = round_amt_hw(m, s, max_left=LMAX, max_right=RMAX, name="amt")
    pre = round_pre_hw(m, v, amt, max_left=LMAX, name="pre")
    out = Signal(signed(16))
    m.d.comb += out.eq(round_post(pre))

    async def bench(ctx):
        for sv in range(-LMAX, RMAX + 1):
            for vv in range(-64, 64):
                ctx.set(v, vv)
                ctx.set(s, sv)
                assert ctx.get(out) == rshift_round(vv, sv), (vv, sv)
    _run(m, bench)


@pytest.mark.parametrize("width", [2, 5, 8])
def test_round_post_sat_and_saturate_hw(width):
    """round_post_sat_hw(pre) == saturate(round_post(pre)) and saturate_hw == saturate (value and
    clamp bit), every 11-bit input."""
    m = Module()
    pre = Signal(signed(11))
    o1, h1 = round_post_sat_hw(m, pre, width, name="rps")
    o2, h2 = saturate_hw(m, pre, width, name="sat")

    async def bench(ctx):
        for v in range(-1024, 1024):
            ctx.set(pre, v)
            want_r, want_s = saturate((v >> 1) + (v & 1), width), saturate(v, width)
            assert (ctx.get(o1), ctx.get(h1)) == (want_r[0], int(want_r[1])), v
            assert (ctx.get(o2), ctx.get(h2)) == (want_s[0], int(want_s[1])), v
    _run(m, bench)
