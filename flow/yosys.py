"""The one Yosys driver of the project: Verilog -> technology-mapped netlist and cell counts.

`synthesise(workdir, target)` runs YoWASP Yosys on `workdir/top.v` (cwd = workdir: YoWASP tools see their
working folder only) with the target's script (`synth_ice40 -dsp -device u`: without -dsp a 16x16 multiply goes to
LUTs; `synth_ecp5`), optionally writes the JSON netlist for nextpnr, and returns the cell counts by type.
`synth_cells(component, target, workdir)` does the same for an Amaranth component.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from flow.tools import tool
from flow.verilog_out import write_verilog

#: target -> Yosys synthesis command. Every iCE40 build here is for the UP5K: `-device u` gives abc9 the
#: UP5K's delays (a LUT4 about 1.2 ns, a route hop about 0.75 ns in its model) in place of the default HX
#: part's (0.45 ns, 0.25 ns), so the LUT mapping weighs logic depth as the part does. On the UP5K in8 engine
#: it maps 12 LUTs fewer and places at 47.4-47.5 MHz on nextpnr seeds 1-2 where the HX model's netlist placed
#: at 44.7-47.5 (seeds 1-3).
SYNTH = {"ice40": "synth_ice40 -dsp -device u", "ecp5": "synth_ecp5"}


def _cells(stat_json: Path) -> dict:
    stat = json.loads(stat_json.read_text())
    design = stat.get("design", {}).get("num_cells_by_type")
    if design:
        return design
    top = next(iter(stat["modules"].values())) if len(stat["modules"]) == 1 else stat["modules"]["\\top"]
    return top["num_cells_by_type"]


def synthesise(workdir: Path, target: str, *, top: str = "top", netlist: bool = False,
               timeout: float | None = None, log: Path | None = None) -> dict:
    """Synthesise workdir/<top>.v for `target`; return cell counts by type. With `netlist`, also write
    workdir/<target>.json for nextpnr. Yosys output goes to `log` (default workdir/<target>.yosys.log)."""
    if target not in SYNTH:
        raise ValueError(f"target must be one of {sorted(SYNTH)}, not {target!r}")
    out_json = f" -json {target}.json" if netlist else ""
    log = log or Path(workdir) / f"{target}.yosys.log"
    with open(log, "w") as f:
        subprocess.run([tool("yosys"), "-q", "-p",
                        f"read_verilog {top}.v; {SYNTH[target]} -top {top}{out_json}; "
                        f"tee -q -o {target}.stat.json stat -json"],
                       check=True, cwd=workdir, timeout=timeout, stdout=f, stderr=subprocess.STDOUT)
    return _cells(Path(workdir) / f"{target}.stat.json")


def synth_cells(component, target: str, workdir: Path, *, timeout: float | None = None) -> dict:
    """Yosys cell counts by type of `component` alone (no harness, no place and route)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_verilog(component, "top", workdir / "top.v")
    return synthesise(workdir, target, timeout=timeout)
