"""hdl/fixed_point.py gt_const_hw / lt_const_hw (constant compares as logic, no carry chain; the compact
scalar unit's and fnorm's range checks) against Python's compares: every value of small signed and
unsigned Values, every constant across and beyond their range, strict and not."""
import pytest
from amaranth import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hdl.fixed_point import gt_const_hw, lt_const_hw


@pytest.mark.parametrize("shape", [signed(4), unsigned(4), signed(5), unsigned(3)])
def test_const_compares_every_value(shape):
    x = Signal(shape)
    n = len(x)
    lo, hi = (-(1 << (n - 1)), (1 << (n - 1)) - 1) if shape.signed else (0, (1 << n) - 1)
    ks = range(lo - 2, hi + 3)
    m = Module()
    outs = {}
    for k in ks:
        for eq in (False, True):
            for fn, name in ((gt_const_hw, "gt"), (lt_const_hw, "lt")):
                o = Signal(name=f"{name}{'e' if eq else ''}_{k - lo}")
                m.d.comb += o.eq(fn(x, k, equal=eq))
                outs[(name, eq, k)] = o
    bad = []

    async def bench(ctx):
        for v in range(lo, hi + 1):
            ctx.set(x, v)
            for (name, eq, k), o in outs.items():
                want = (v > k or (eq and v == k)) if name == "gt" else (v < k or (eq and v == k))
                if ctx.get(o) != int(want):
                    bad.append((v, name, eq, k))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert not bad, bad[:10]
