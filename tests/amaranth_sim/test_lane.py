"""hdl/engine/lane.py: its own shift-amount registers per lane, which survive Yosys's merging of equal
flip-flops (the arithmetic is tested through the engine, tests/amaranth_sim/test_sbe_engine.py)."""
import subprocess

import pytest
from amaranth import Elaboratable, Module, Shape, Signal, signed
from amaranth.back import verilog

from contract.engine_config import LMAX, EngineConfig
from flow.tools import tool
from hdl.engine.lane import Lane

#: the lanes' shift-amount registers
AMOUNTS = ("kA1", "shA2", "shB3", "kB4", "osh9", "osh_lo10")


class FourLanes(Elaboratable):
    """Four lanes on the same pass-word fields (as in the datapath: every lane computes the same amounts)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.osh, self.kA, self.shA, self.shB, self.kB = (Signal(signed(8), name=n) for n in
                                                           ("osh", "kA", "shA", "shB", "kB"))
        self.x = Signal(signed(cfg.in_width))
        self.out = Signal(4 * cfg.elem_width)

    def elaborate(self, platform):
        m = Module()
        for k in range(4):
            m.submodules[f"lane{k}"] = lane = Lane(self.cfg, index=k)
            m.d.comb += [lane.adv.eq(1), lane.x.eq(self.x), lane.m.eq(self.x), lane.xa.eq(self.x),
                         lane.xb.eq(self.x), lane.osh.eq(self.osh), lane.kA.eq(self.kA), lane.shA.eq(self.shA),
                         lane.shB.eq(self.shB), lane.kB.eq(self.kB), lane.cmA.eq(self.x), lane.cmB.eq(self.x),
                         lane.om.eq(self.x), lane.ro0.eq(self.kA[0]), lane.ro4.eq(self.kA[1]),
                         lane.ro6v.eq(self.kA[2]),
                         self.out[k * self.cfg.elem_width:(k + 1) * self.cfg.elem_width].eq(lane.elem)]
        return m


def test_each_lane_keeps_its_own_shift_amount_registers(tmp_path):
    """After Yosys splits the registers into bits and merges equal flip-flops (what synth_ecp5 and
    synth_ice40 do), four lanes still have four amount registers each: every bit of kA1, shA2, shB3, kB4,
    osh9, osh_lo10 survives in every lane. With lane-indexed initial values alone, two copies per bit
    survived and one flip-flop drove the shifters of several lanes (the L=4 ECP5 engine's worst paths)."""
    cfg = EngineConfig(a=8, b=8, lanes=4)
    top = FourLanes(cfg)
    ports = [top.osh, top.kA, top.shA, top.shB, top.kB, top.x, top.out]
    (tmp_path / "top.v").write_text(verilog.convert(top, name="top", ports=ports, emit_src=False))
    sel = " ".join(f"tee -o {n}.txt select -list w:*.{n} %ci1:+[Q] t:*DFF* %i;" for n in AMOUNTS)
    subprocess.run([tool("yosys"), "-q", "-p", "read_verilog top.v; hierarchy -top top; proc; flatten; "
                    f"opt_clean; techmap; opt_merge; opt_clean; {sel}"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=600)
    right = {"kA1": cfg.kmax, "shA2": cfg.rmax, "shB3": cfg.rmax, "kB4": cfg.kmax, "osh9": cfg.rmax_out}
    for n in AMOUNTS:
        # round_amt_hw's amount: 0 .. LMAX + max_right, max_right = the field's largest right shift + 1
        width = 3 if n == "osh_lo10" else Shape.cast(range(LMAX + right[n] + 2)).width
        got = len((tmp_path / f"{n}.txt").read_text().split())
        assert got == 4 * width, f"{n}: {got} flip-flops for 4 lanes of {width} bits"


@pytest.mark.parametrize("index", [-1, 8])
def test_lane_rejects_an_index_out_of_range(index):
    with pytest.raises(ValueError, match="index must be between 0 and 7"):
        Lane(EngineConfig(a=3, b=4, lanes=2), index=index)
