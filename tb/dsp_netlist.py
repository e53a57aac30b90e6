"""Shared checks of the two multipliers (hdl/dsp_multiplier.py, hdl/controller/setup_multiplier.py): their
common parameter errors, and the MULT18X18D of a one-multiplier block after synth_ecp5 (tests of hdl/dsp_multiplier.py and
hdl/controller/setup_multiplier.py): the block must map to exactly that one cell, with the DSP's own input
and output registers on CLK0/CE0 and the internal pipeline register and C input unused."""
from __future__ import annotations

import json
from pathlib import Path


def mult18x18d_netlist(component, build_dir: Path, *, fabric: str = "", fabric_ffs: int = 0,
                       out_ce: str = "CE0") -> tuple[dict, dict, dict]:
    """Synthesise `component` for the ECP5 into `build_dir`; assert it is one MULT18X18D and nothing else,
    its registers as described above; return (parameters, connections, the top's port bits by name).
    With `fabric` "in" or "out" (RegisteredMultiplier's): that register of the DSP is bypassed instead
    and the block has `fabric_ffs` fabric flip-flops (TRELLIS_FF) besides. `out_ce`: the output register's
    clock enable ("CE1": one of its own, the set-up multiplier's)."""
    from flow.verilog_out import write_verilog
    from flow.yosys import synthesise
    build_dir.mkdir(parents=True, exist_ok=True)
    write_verilog(component, "top", build_dir / "top.v")
    cells = synthesise(build_dir, "ecp5", netlist=True)
    # no LUT; no TRELLIS_FF unless `fabric` moved a register out of the DSP
    assert cells == {"MULT18X18D": 1, **({"TRELLIS_FF": fabric_ffs} if fabric else {})}
    top = json.loads((build_dir / "ecp5.json").read_text())["modules"]["top"]
    (cell,) = [c for c in top["cells"].values() if c["type"] == "MULT18X18D"]
    prm = {k: v.strip() for k, v in cell["parameters"].items()}       # strings (Yosys may pad one)
    clk_in, clk_out = ("NONE" if fabric == "in" else "CLK0"), ("NONE" if fabric == "out" else "CLK0")
    assert prm["REG_INPUTA_CLK"] == prm["REG_INPUTB_CLK"] == clk_in and prm["REG_OUTPUT_CLK"] == clk_out
    assert prm["REG_PIPELINE_CLK"] == prm["REG_INPUTC_CLK"] == "NONE"
    assert prm["REG_INPUTA_CE"] == prm["REG_INPUTB_CE"] == "CE0" and prm["REG_OUTPUT_CE"] == out_ce
    assert prm["GSR"] == "DISABLED"
    port = {name: p["bits"] for name, p in top["ports"].items()}
    return prm, cell["connections"], port


def check_multiplier_parameters(make) -> None:
    """The parameter checks both multipliers share (hdl/dsp_multiplier.py check_dsp/check_widths):
    `make(a_width, b_width, p_width=None, dsp=...)` must reject each bad value with its message."""
    import pytest
    with pytest.raises(ValueError, match="dsp must be one of"):
        make(16, 16, dsp="ECP5")
    with pytest.raises(ValueError, match="at most 18 bits"):
        make(19, 16, dsp="ecp5")
    with pytest.raises(ValueError, match="a_width must be a positive int"):
        make(0, 16)
    with pytest.raises(ValueError, match="b_width must be a positive int"):
        make(16, True)
    with pytest.raises(ValueError, match=r"p_width must be an int in 1 \.\. a_width \+ b_width = 32"):
        make(16, 16, 33)
