"""flow/area.py: a mapped netlist's cells by design block, on a small two-block design synthesised by
Yosys for both targets (no place and route): the totals equal Yosys's own cell counts, the adder's carry
chain lands in the block that holds it, and the iCE40 flip-flops of a pure delay line count as FF_ALONE."""

import pytest
from amaranth import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from flow.area import area_by_block, render_area
from flow.harness import SerialHarness
from flow.verilog_out import write_verilog
from flow.yosys import synthesise


class Adder(wiring.Component):
    a: In(24)
    b: In(24)
    s: Out(25)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.s.eq(self.a + self.b)
        return m


class Delay(wiring.Component):
    """A 4-stage delay line of 8 bits: registers fed by registers, no logic."""
    i: In(8)
    o: Out(8)

    def elaborate(self, platform):
        m = Module()
        v = self.i
        for k in range(4):
            nxt = Signal(unsigned(8), name=f"d{k}")
            m.d.sync += nxt.eq(v)
            v = nxt
        m.d.comb += self.o.eq(v)
        return m


class Pair(wiring.Component):
    a: In(24)
    b: In(24)
    i: In(8)
    s: Out(25)
    o: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.submodules.add = add = Adder()
        m.submodules.dly = dly = Delay()
        m.d.comb += [add.a.eq(self.a), add.b.eq(self.b), self.s.eq(add.s), dly.i.eq(self.i), self.o.eq(dly.o)]
        return m


@pytest.mark.parametrize("target,lut,carry,ff", [("ice40", "SB_LUT4", "SB_CARRY", "SB_DFF"),
                                                 ("ecp5", "LUT4", "CCU2C", "TRELLIS_FF")])
def test_area_by_block(tmp_path, target, lut, carry, ff):
    write_verilog(Pair(), "top", tmp_path / "top.v")
    cells = synthesise(tmp_path, target, netlist=True)
    rows = area_by_block(tmp_path / f"{target}.json", depth=1)
    count = lambda prefix: sum(n for c, n in cells.items() if c.startswith(prefix))   # noqa: E731
    assert sum(r["LUT"] for r in rows.values()) == count(lut)
    assert sum(r["CARRY"] for r in rows.values()) == count(carry) > 0
    assert sum(r["FF"] for r in rows.values()) == count(ff) == 25 + 32
    assert rows["add"]["CARRY"] == count(carry)                    # the whole carry chain is the adder's
    assert rows["add"]["FF"] == 25 and rows["dly"]["FF"] == 32     # its sum register; 4 x 8 delay bits
    assert rows["dly"]["LUT"] == 0 and rows["dly"]["CARRY"] == 0
    if target == "ice40":                                          # fed by registers (or pins), not LUTs
        assert rows["dly"]["FF_ALONE"] == 32 and rows["add"]["FF_ALONE"] < 25
    table = render_area(rows, title="pair")
    assert "| add |" in table and "| dly |" in table and "**total**" in table


def test_harness_is_the_top_level(tmp_path):
    """Behind the synthesis harness (flow/harness.py) the block's own cells are "(dut)" (the stripped
    prefix), the harness's shift registers "(top level)"."""
    write_verilog(SerialHarness(Adder()), "top", tmp_path / "top.v")
    cells = synthesise(tmp_path, "ecp5", netlist=True)
    rows = area_by_block(tmp_path / "ecp5.json", depth=1, strip="dut")
    assert rows["(top level)"]["FF"] >= 48 and rows["(top level)"]["CARRY"] == 0   # the shift registers
    assert rows["(dut)"]["CARRY"] == cells["CCU2C"] and rows["(dut)"]["FF"] == 25    # the adder's own


def test_hand_placed_logic_cells_count_as_lut_and_ff():
    """An ICESTORM_LC instantiated by the design (hdl/controller/line_cell.py fabric="ice40") is a LUT, and
    a FF only when its DFF_ENABLE parameter is set (a JSON netlist as Yosys writes it)."""
    def lc(out_bit, dff):
        return {"type": "ICESTORM_LC", "parameters": {"DFF_ENABLE": format(dff, "032b"), "LUT_INIT": "0" * 16},
                "attributes": {}, "port_directions": {"O": "output"}, "connections": {"O": [out_bit]}}
    netlist = {"modules": {"top": {"cells": {"dut.row0.bit0": lc(23, 1), "dut.row0.bit1": lc(24, 0)},
                                   "netnames": {"dut.row0.q0": {"bits": [23]}, "dut.row0.q1": {"bits": [24]}}}}}
    rows = area_by_block(netlist, strip="dut")
    assert sum(r["LUT"] for r in rows.values()) == 2
    assert sum(r["FF"] for r in rows.values()) == 1
