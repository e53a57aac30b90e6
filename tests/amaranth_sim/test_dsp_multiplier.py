"""The lanes' registered signed multiplier (hdl/dsp_multiplier.py) and its use in the engine (Lane `dsp`):
the behavioural model is p = a * b of the operands two enabled edges earlier, bit for bit, with random
enables and full-range signed operands; the ECP5 primitive path, which no simulator here can run
(Yosys ships MULT18X18D as a blackbox only), is checked in the synth_ecp5 netlist: one MULT18X18D with
its input and output registers on the clock, enabled by `en`, no reset, signed, no fabric register or
LUT beside it, each operand bit (sign-extended) on its A/B pin and each product bit from its P pin; the
engine's generic Verilog never contains the primitive, dsp="ecp5" puts the lane's five products in
five; bad parameters are refused at construction."""
import json
import re
import types

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from contract.engine_config import EngineConfig
from flow.generate import block_parameters
from flow.synth import synth_params
from flow.verilog_out import BUILD
from tb.dsp_netlist import check_multiplier_parameters
from hdl.dsp_multiplier import LATENCY, RegisteredMultiplier
from hdl.engine.lane import Lane
from hdl.engine.sbe_engine import SBEEngine
from hdl.engine.vector_datapath import VectorDatapath


def _wrap(v, w):
    """v as a signed w-bit two's complement value."""
    v &= (1 << w) - 1
    return v - (1 << w) if v >> (w - 1) else v


@pytest.mark.parametrize("wa,wb,wp", [(18, 16, 34), (16, 16, 31), (9, 6, 15), (18, 18, 36), (2, 3, 5), (12, 1, 13)])
def test_model_is_the_product_two_enabled_edges_later(wa, wb, wp):
    dut = RegisteredMultiplier(wa, wb, wp)
    rng = np.random.default_rng(wa * 100 + wb)
    n = 400
    lo_a, hi_a, lo_b, hi_b = -(1 << (wa - 1)), (1 << (wa - 1)) - 1, -(1 << (wb - 1)), (1 << (wb - 1)) - 1
    av = [int(x) for x in rng.integers(lo_a, hi_a + 1, n)]
    bv = [int(x) for x in rng.integers(lo_b, hi_b + 1, n)]
    # the extremes (most negative squared, the sign mixes) while enabled
    av[2:8], bv[2:8] = [lo_a, lo_a, hi_a, lo_a, -1, 0], [lo_b, hi_b, lo_b, -1, -1, hi_b]
    en = [int(x) for x in rng.random(n) < 0.6]
    en[2:8] = [1] * 6
    got = []

    async def bench(ctx):
        for t in range(n):
            ctx.set(dut.en, en[t])
            ctx.set(dut.a, av[t])
            ctx.set(dut.b, bv[t])
            await ctx.tick()
            got.append(ctx.get(dut.p))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # after edge t: the operands of the (k - LATENCY + 1)-th of the k enabled edges so far, else 0 (init)
    loaded, want = [], []
    for t in range(n):
        if en[t]:
            loaded.append((av[t], bv[t]))
        k = len(loaded)
        want.append(_wrap(loaded[k - LATENCY][0] * loaded[k - LATENCY][1], wp) if k >= LATENCY else 0)
    assert got == want
    # the stimulus exercised it: mostly enabled, many distinct products (all of them at 2 x 3 bits)
    assert sum(en) > n // 2
    assert len(set(got)) >= min(n // 4, len({x * y for x in range(lo_a, hi_a + 1) for y in (lo_b, hi_b)}))


def test_parameters_are_checked():
    check_multiplier_parameters(RegisteredMultiplier)
    with pytest.raises(ValueError, match="fabric must be one of"):
        RegisteredMultiplier(16, 16, dsp="ecp5", fabric="both")
    RegisteredMultiplier(19, 16, dsp="auto")                    # auto falls back where it does not fit
    cfg = EngineConfig(a=4, b=4)
    for make in (lambda d: Lane(cfg, dsp=d), lambda d: VectorDatapath(cfg, acc_width=48, dsp=d),
                 lambda d: SBEEngine(a=4, b=4, dsp=d)):
        with pytest.raises(ValueError, match="dsp must be one of"):
            make("ice40")
        with pytest.raises(ValueError, match="dsp must be one of"):
            make(None)
    wide = EngineConfig(a=4, b=4, coef_width=20, mant_width=24)
    with pytest.raises(ValueError, match=r"operands within 18 bits .* coef_width=20.* give 20"):
        SBEEngine(wide, dsp="ecp5")
    SBEEngine(wide, dsp="auto")


def test_auto_follows_the_platform():
    ecp5, ice40 = types.SimpleNamespace(family="ecp5"), types.SimpleNamespace(family="ice40")
    assert RegisteredMultiplier(16, 16, dsp="auto").kind(None) == "generic"
    assert RegisteredMultiplier(16, 16, dsp="auto").kind(ice40) == "generic"
    assert RegisteredMultiplier(16, 16, dsp="auto").kind(ecp5) == "ecp5"
    assert RegisteredMultiplier(19, 16, dsp="auto").kind(ecp5) == "generic"
    assert RegisteredMultiplier(16, 16).kind(ecp5) == "generic"          # the default is "generic"
    assert RegisteredMultiplier(16, 16, dsp="ecp5").kind(None) == "ecp5"


def test_engine_dsp_reaches_the_lanes():
    """Default Verilog (the simulators', the iCE40's) is behavioural; dsp='ecp5' puts each lane's five
    products in five MULT18X18D; flow/synth.py passes the target's `dsp` to the engine."""
    params = dict(a=6, b=10, lanes=2)
    text = verilog.convert(SBEEngine(**params), name="top", emit_src=False)
    assert "MULT18X18D" not in text
    assert verilog.convert(SBEEngine(**params, dsp="generic"), name="top", emit_src=False) == text
    assert "MULT18X18D" not in verilog.convert(SBEEngine(**params, dsp="auto"), name="top", emit_src=False)
    ecp5 = verilog.convert(SBEEngine(**params, dsp="ecp5"), name="top", emit_src=False)
    assert len(re.findall(r"\bMULT18X18D\b", ecp5)) == 5 * params["lanes"]
    assert "dsp" in block_parameters("sbe_engine")
    cfg = {"block": "sbe_engine", "params": dict(params)}
    assert synth_params(cfg, "ecp5")["dsp"] == "ecp5" and synth_params(cfg, "ice40")["dsp"] == "generic"


def test_ecp5_netlist_uses_the_dsp_registers():
    """synth_ecp5 of the primitive path: the registers are the DSP's (enabled, no reset), signed, every
    bit on its pin, the operands sign-extended."""
    from tb.dsp_netlist import mult18x18d_netlist
    wa, wb, wp = 16, 13, 27
    _, conn, port = mult18x18d_netlist(RegisteredMultiplier(wa, wb, wp, dsp="ecp5"), BUILD / "test_dsp_multiplier")
    assert conn["CLK0"] == port["clk"] and conn["CE0"] == port["en"] and conn["RST0"] == ["0"]
    assert [conn[f"SIGNED{x}"] + conn[f"SOURCE{x}"] for x in "AB"] == [["1", "0"], ["1", "0"]]
    assert [conn[f"A{i}"][0] for i in range(18)] == port["a"] + port["a"][-1:] * (18 - wa)
    assert [conn[f"B{i}"][0] for i in range(18)] == port["b"] + port["b"][-1:] * (18 - wb)
    assert [conn[f"P{i}"][0] for i in range(wp)] == port["p"]


@pytest.mark.parametrize("fabric", ["in", "out"])
def test_ecp5_netlist_fabric_registers(fabric):
    """fabric='in'/'out': the operand or the product registers are enabled fabric flip-flops (one per bit,
    no reset) and the DSP's own are bypassed; the rest as above."""
    from tb.dsp_netlist import mult18x18d_netlist
    wa, wb, wp = 16, 13, 27
    ffs = wa + wb if fabric == "in" else wp
    _, conn, port = mult18x18d_netlist(RegisteredMultiplier(wa, wb, wp, dsp="ecp5", fabric=fabric),
                                       BUILD / f"test_dsp_multiplier_{fabric}", fabric=fabric, fabric_ffs=ffs)
    assert conn["CLK0"] == port["clk"] and conn["CE0"] == port["en"]
    top = json.loads((BUILD / f"test_dsp_multiplier_{fabric}" / "ecp5.json").read_text())["modules"]["top"]
    ffs = [c for c in top["cells"].values() if c["type"] == "TRELLIS_FF"]
    assert all(c["connections"]["CE"] == port["en"] for c in ffs)
    if fabric == "in":      # the operands reach the DSP through the flip-flops only
        assert not set(port["a"] + port["b"]) & {conn[f"{x}{i}"][0] for x in "AB" for i in range(18)}
    else:                   # the product leaves through the flip-flops only
        assert not set(port["p"]) & {conn[f"P{i}"][0] for i in range(wp)}


@pytest.mark.parametrize("a,b,lanes,sizes,p_gap,narrow", [
    (9, 17, 1, [2, 3], 0.0, False),     # back to back: the read-out's last beats beside the next sample's
    (5, 7, 2, [3, 2], 0.3, False),      # several lanes: the lane sums of the DSP outputs
    (8, 12, 1, [3, 2], 0.3, True),      # narrow formats with bram_delays (a delay line in front of pV's DSP)
])
def test_engine_dsp_structure_matches_golden(monkeypatch, a, b, lanes, sizes, p_gap, narrow):
    """The lanes' dsp='ecp5' wiring (each product from its own RegisteredMultiplier, the operands taken
    before the registers the generic form has) bit-exact against the golden model: the primitive cannot
    be simulated, so its block elaborates its behavioural model here (same latency and enable), which the
    test above checks against Python products."""
    from tests.amaranth_sim.test_sbe_engine import check, make_batches
    monkeypatch.setattr(RegisteredMultiplier, "kind", lambda self, platform: "generic")
    rng = np.random.default_rng(a * 13 + b + lanes)
    if narrow:
        cfg = dict(a=a, b=b, lanes=lanes, in_width=8, state_width=12, coef_width=12, elem_width=8,
                   s_mant_width=8, exp_width=4, mant_width=16, fexp_width=8)
        batches, hdl = make_batches(rng, a, b, sizes, width=8, exps=(-3, 3)), {"dsp": "ecp5", "bram_delays": True}
    else:
        cfg = dict(a=a, b=b, lanes=lanes)
        batches, hdl = make_batches(rng, a, b, sizes), {"dsp": "ecp5"}
    check(cfg, batches, seed=a + lanes, p_gap=p_gap, hdl=hdl)
