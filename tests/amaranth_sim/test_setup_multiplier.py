"""The set-up multiplier (hdl/controller/setup_multiplier.py): the behavioural model is p(t+2) = a(t) *
b(t) bit for bit with operands changing every cycle and taken on random `en` cycles (p holds the product
of the operands last taken); the ECP5 primitive path, which no simulator here
can run (Yosys ships MULT18X18D as a blackbox only), is checked in the synth_ecp5 netlist: one
MULT18X18D with its input and output registers on the clock (the inputs enabled by `en`, the output on
every edge), no fabric register or LUT beside it, each
operand bit on its A/B pin and each product bit from its P pin; the Verilog of the simulators never
contains the primitive; the implementation is chosen as documented and bad parameters are refused."""
import re
import types

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from contract.controller_config import ControllerConfig
from flow.verilog_out import BUILD
from tb.dsp_netlist import check_multiplier_parameters
from hdl.controller.controller_setup import ControllerSetup
from hdl.controller.setup_multiplier import LATENCY, SetupMultiplier
from hdl.controller.update_controller import UpdateController


@pytest.mark.parametrize("wa,wb,wp", [(16, 16, 32), (16, 16, 31), (9, 6, 14), (18, 18, 36), (1, 3, 4)])
def test_model_is_the_product_of_the_operands_taken_two_cycles_later(wa, wb, wp):
    dut = SetupMultiplier(wa, wb, wp, dsp="generic")
    rng = np.random.default_rng(wa * 100 + wb)
    n = 300
    # full-range operands, with the extremes forced in
    av = [int(x) for x in rng.integers(0, 1 << wa, n)]
    bv = [int(x) for x in rng.integers(0, 1 << wb, n)]
    av[:4], bv[:4] = [(1 << wa) - 1, 0, (1 << wa) - 1, 1], [(1 << wb) - 1, (1 << wb) - 1, 0, 1]
    en = [int(x) for x in rng.integers(0, 4, n) > 0]
    en[:4] = [1, 1, 1, 1]
    got = []

    async def bench(ctx):
        for t in range(n + LATENCY):
            ctx.set(dut.a, av[t] if t < n else 0)
            ctx.set(dut.b, bv[t] if t < n else 0)
            ctx.set(dut.en, en[t] if t < n else 0)
            await ctx.tick()
            got.append(ctx.get(dut.p))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    # got[t] is p after edge t + 1: the product of the operands last taken at or before cycle t + 1 - LATENCY
    want, held = [], 0
    for x, y, e in zip(av, bv, en):
        held = x * y % (1 << wp) if e else held
        want.append(held)
    assert got[LATENCY - 1:LATENCY - 1 + n] == want
    assert 0 < sum(en) < n


def test_parameters_are_checked():
    check_multiplier_parameters(SetupMultiplier)
    with pytest.raises(ValueError, match="dsp must be one of"):
        ControllerSetup(ControllerConfig(a=1, b=1), dsp="ice40")
    with pytest.raises(ValueError, match="dsp must be one of"):
        UpdateController(a=2, b=2, dsp=None)


def test_auto_follows_the_platform():
    ecp5, ice40 = types.SimpleNamespace(family="ecp5"), types.SimpleNamespace(family="ice40")
    assert SetupMultiplier(16, 16).kind(None) == "generic"
    assert SetupMultiplier(16, 16).kind(ice40) == "generic"
    assert SetupMultiplier(16, 16).kind(ecp5) == "ecp5"
    assert SetupMultiplier(19, 16).kind(ecp5) == "generic"           # does not fit one MULT18X18D
    assert SetupMultiplier(16, 16, dsp="generic").kind(ecp5) == "generic"
    assert SetupMultiplier(16, 16, dsp="ecp5").kind(None) == "ecp5"


def test_simulation_verilog_has_no_primitive():
    """The default (the simulators' Verilog) is behavioural; dsp='ecp5' reaches the set-up's multiplier."""
    assert "MULT18X18D" not in verilog.convert(UpdateController(a=2, b=2), name="top", emit_src=False)
    text = verilog.convert(UpdateController(a=2, b=2, dsp="ecp5"), name="top", emit_src=False)
    assert len(re.findall(r"\bMULT18X18D\b", text)) == 1


def test_ecp5_netlist_uses_the_dsp_registers():
    """synth_ecp5 of the primitive path: the registers are the DSP's, every bit on its pin."""
    from tb.dsp_netlist import mult18x18d_netlist
    wa, wb, wp = 16, 13, 28
    _, conn, port = mult18x18d_netlist(SetupMultiplier(wa, wb, wp, dsp="ecp5"), BUILD / "test_setup_multiplier",
                                       out_ce="CE1")
    assert conn["CLK0"] == port["clk"] and conn["CE0"] == port["en"] and conn["CE1"] == ["1"]
    assert conn["RST0"] == ["0"]
    assert [conn[f"SIGNED{x}"] + conn[f"SOURCE{x}"] for x in "AB"] == [["0", "0"], ["0", "0"]]
    assert [conn[f"A{i}"][0] for i in range(18)] == port["a"] + ["0"] * (18 - wa)
    assert [conn[f"B{i}"][0] for i in range(18)] == port["b"] + ["0"] * (18 - wb)
    assert [conn[f"P{i}"][0] for i in range(wp)] == port["p"]
