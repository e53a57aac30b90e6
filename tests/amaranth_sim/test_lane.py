"""hdl/engine/lane.py: its own shift-amount registers per lane (the arithmetic is tested through the engine,
tests/amaranth_sim/test_sbe_engine.py)."""
import re

import pytest
from amaranth.back import verilog

from contract.engine_config import EngineConfig
from hdl.engine.lane import Lane
from hdl.engine.sbe_engine import SBEEngine


def test_each_lane_keeps_its_own_shift_amount_registers():
    """The lanes' shift-amount registers (kA1, shA2, shB3, kB4, osh9) differ in their initial value, the
    lane's index, and have no reset: Yosys merges flip-flops of equal inputs and initial value, which put
    one register in front of every lane's shifter (the L=4 ECP5 engine's worst path)."""
    text = verilog.convert(SBEEngine(a=3, b=4, lanes=3), name="top", emit_src=False)
    for name in ("kA1", "shA2", "shB3", "kB4", "osh9"):
        inits = re.findall(rf"reg \[\d+:0\] {name} = \d+'h([0-9a-f]+);", text)
        assert sorted(int(v, 16) for v in inits) == [0, 1, 2], f"{name}: {inits}"
        assert not re.search(rf"{name} <= \d+'h0+;", text), f"{name} has a reset"


@pytest.mark.parametrize("index", [-1, 8])
def test_lane_rejects_an_index_out_of_range(index):
    with pytest.raises(ValueError, match="index must be between 0 and 7"):
        Lane(EngineConfig(a=3, b=4, lanes=2), index=index)
