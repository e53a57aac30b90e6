"""The controller's pipelined set-up (hdl/controller/controller_setup.py) against the golden plan
(golden/rtl/update_controller.py PulseScheme.plan) scalar by scalar: flags, BL and the gate
threshold G, over the whole register range (every clamp of the shift, the window overflow, the sticky
bits below it) and near the overflow boundary; and its priority encoder (a tree) on every input."""
import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from contract.controller_config import ControllerConfig
from golden.rtl.update_controller import PulseScheme
from hdl.controller.controller_setup import ControllerSetup, _bit_length, _two_or_more, setup_cycles

CFGS = {
    "default": ControllerConfig(a=1, b=1),
    "small": ControllerConfig(a=1, b=1, elem_width=7, mant_width=6, exp_width=5, lr_width=9, lr_exp_width=6,
                              bl_width=5, lfsr_width=17),
}


def _cases(c: ControllerConfig, n: int, rng):
    F = c.elem_width - 1
    out = []
    for k in range(n):
        mu, mv = (int(rng.integers(0, 1 << F)) >> int(rng.integers(0, F + 1)) for _ in range(2))
        s = int(rng.integers(-(1 << (c.mant_width - 1)), 1 << (c.mant_width - 1)))
        lr = int(rng.integers(0, 1 << c.lr_width)) >> int(rng.integers(0, c.lr_width))
        bl = int(rng.integers(0, 1 << c.bl_width))
        det, mgmt = bool(rng.integers(2)), bool(rng.integers(2))
        if det and rng.random() < 0.8:
            bl = 1 << int(rng.integers(0, c.bl_width))
        lo_s, hi_s = -(1 << (c.exp_width - 1)), (1 << (c.exp_width - 1)) - 1
        lo_l, hi_l = -(1 << (c.lr_exp_width - 1)), (1 << (c.lr_exp_width - 1)) - 1
        s_exp = int(rng.integers(lo_s, hi_s + 1))
        if k % 2 and mu and mv and s and lr:          # aim ceil(Ghat) near bl: the overflow boundary
            want = max(bl, 1) * rng.uniform(0.3, 2.0)
            e = int(np.round(np.log2(want / (lr * abs(s))))) - (mu.bit_length() + mv.bit_length() - 2 * F)
            lr_exp = int(np.clip(e - s_exp, lo_l, hi_l))
        else:
            lr_exp = int(rng.integers(lo_l, hi_l + 1))
        out.append(dict(mu=mu, mv=mv, s_mant=s, s_exp=s_exp, lr_mant=lr, lr_exp=lr_exp, bl=bl, det=det, bl_mgmt=mgmt))
    return out


def _d(lr, s, e, bl, mgmt=False, det=False):
    """A directed default-width case with ku = kv = 15 (E = lr_exp + s_exp)."""
    return dict(mu=1 << 14, mv=(1 << 15) - 1, s_mant=s, s_exp=0, lr_mant=lr, lr_exp=e, bl=bl, det=det, bl_mgmt=mgmt)


#: Cases random draws rarely reach: prod = 2**17 + 1 one bit below the window with Y's fraction zero
#: (only the sticky bit rounds ceil(Ghat) up: BL 2 with BL management, OVERFLOW at bl 1); prod = 2**30
#: one bit past the 30-bit window (E = -16: ceil(Ghat) = 2**14, an overflow the truncated window
#: would miss); prod = 2**30 at the low clamp's edge (E = -45: G = 2 with BL 1).
DIRECTED = [_d(43691, 3, -17, 40, mgmt=True), _d(43691, 3, -17, 1), _d(43691, -3, -17, 2),
            _d(1 << 15, -(1 << 15), -16, 4000), _d(1 << 15, -(1 << 15), -16, 4000, mgmt=True),
            _d(1 << 15, -(1 << 15), -45, 1), _d(1 << 15, -(1 << 15), -46, 1), _d(1 << 15, -(1 << 15), -47, 1)]


@pytest.mark.parametrize("name", CFGS)
def test_setup_matches_golden_plan(name):
    c = CFGS[name]
    cases = _cases(c, 300, np.random.default_rng(len(name))) + (DIRECTED if name == "default" else [])
    golden = PulseScheme(c)
    dut = ControllerSetup(c)
    got = []

    async def bench(ctx):
        for x in cases:
            for port in ("mu", "mv", "lr_mant", "det", "bl_mgmt"):
                ctx.set(getattr(dut, port), int(x[port]))
            ctx.set(dut.bl_n, ~x["bl"] & ((1 << c.bl_width) - 1))
            ctx.set(dut.esum, x["lr_exp"] + x["s_exp"])
            ctx.set(dut.s_abs, abs(x["s_mant"]))
            ctx.set(dut.protocol, 0)
            ctx.set(dut.start, 1)
            ctx.set(dut.latch, 1)                    # at the latest with `start` (the controller: first beat)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.latch, 0)
            for cyc in range(2, 100):
                if ctx.get(dut.last):
                    break
                await ctx.tick()
            assert cyc == setup_cycles(c.elem_width, bl_width=c.bl_width, lr_width=c.lr_width, mant_width=c.mant_width)
            go = ctx.get(dut.go)                     # the slot train's start: `last` of a written update
            await ctx.tick()
            got.append(dict(status=ctx.get(dut.status.as_value()), skip=ctx.get(dut.skip), bl=ctx.get(dut.n_bl),
                            g=ctx.get(dut.g), go=go))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    kinds = set()
    for k, (x, r) in enumerate(zip(cases, got)):
        p = golden.plan(np.array([x["mu"]]), np.array([x["mv"]]), x["s_mant"], x["s_exp"], lr_mant=x["lr_mant"],
                        lr_exp=x["lr_exp"], bl=x["bl"], det=x["det"], bl_mgmt=x["bl_mgmt"])
        assert r["status"] == p.status, f"case {k} {x}: status {r['status']} != {p.status}"
        assert r["skip"] == (p.bl == 0), f"case {k} {x}"
        assert r["go"] == (p.bl > 0), f"case {k} {x}: go {r['go']}"
        if p.bl:
            assert (r["bl"], r["g"]) == (p.bl, p.g), f"case {k} {x}: {r} vs {p}"
        kinds.add("written" if p.bl else "overflow" if p.status else "zero/flag")
    assert kinds == {"written", "overflow", "zero/flag"}


def _every_input(width, build):
    """The combinational output `build(m, x)` for every value of a `width`-bit input x."""
    m = Module()
    x = Signal(width)
    out = build(m, x)
    got = []

    async def bench(ctx):
        for v in range(1 << width):
            ctx.set(x, v)
            got.append(ctx.get(out))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return got


@pytest.mark.parametrize("width", [1, 3, 5, 7, 8, 12, 16])   # around powers of two: the padding
def test_bit_length_tree_on_every_input(width):
    got = _every_input(width, lambda m, x: _bit_length(m, x, "n"))
    assert got == [v.bit_length() for v in range(1 << width)]


def _two_or_more_signal(m, x):
    many = Signal()
    m.d.comb += many.eq(_two_or_more(x))
    return many


@pytest.mark.parametrize("width", [1, 2, 4, 5, 8, 12])      # around the groups of 4
def test_two_or_more_on_every_input(width):
    got = _every_input(width, _two_or_more_signal)
    assert got == [int(bin(v).count("1") >= 2) for v in range(1 << width)]
