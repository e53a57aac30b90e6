"""Reset of a generated Amaranth design under cocotb, the same on Icarus and Verilator.

`reset(dut)` holds `rst` for a few clock cycles (the clock must already run). On Icarus it first makes
every combinational process evaluate once after time 0: Yosys' Verilog puts a dummy
`reg $auto$verilog_backend... = 0` in the sensitivity of each `always @*` so simulators run it at time 0,
but Icarus 11 (as cocotb-test invokes it) applies that initialiser without an event, so a process whose
real inputs keep their initial values (addresses, counters before the first input) stays X until one of
them changes. Writing the dummy reg of every module triggers them all. Verilator needs nothing.
"""
import cocotb
from cocotb.handle import HierarchyObject
from cocotb.triggers import ClockCycles, Timer


async def kick_icarus_comb(dut, max_depth: int = 6) -> None:
    """Icarus only: write every Yosys `auto$verilog_backend` dummy reg (see the module docstring)."""
    if "icarus" not in cocotb.SIM_NAME.lower():
        return
    await Timer(1, "ns")

    def walk(h, depth):
        for sub in h:
            if "auto$verilog_backend" in sub._name:
                sub.value = 1
            elif isinstance(sub, HierarchyObject) and depth < max_depth:
                walk(sub, depth + 1)
    walk(dut, 0)


async def reset(dut, cycles: int = 2) -> None:
    """Assert `rst` for `cycles` rising edges of `dut.clk`, then release it."""
    dut.rst.value = 1
    await kick_icarus_comb(dut)
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0
