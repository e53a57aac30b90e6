"""`make synth`: resource and Fmax figures from Yosys + nextpnr for the configurations in hdl/configs/.

Each configuration whose JSON lists "synth" targets is wrapped in the 4-pin SerialHarness
(hdl/harness.py), synthesised with YoWASP Yosys (synth_ice40 -dsp / synth_ecp5) and placed and routed
with YoWASP nextpnr using the board constraints in constraints/. Results land in
build/synth/<config>/<target>.* and are summarised in build/synth/summary.json.

Targets:  ice40 = iCE40UP5K-SG48 (iCEBreaker, constraints/icebreaker.pcf, 48 MHz goal)
          ecp5  = LFE5U-25F CABGA381 (ULX3S, constraints/ulx3s.lpf, 100 MHz goal)
nextpnr runs with --timing-allow-fail: a design that misses the goal still reports its Fmax.
YoWASP tools only see their working folder, so the constraints are copied next to the netlist.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .generate import build_component, default_configs
from .harness import SerialHarness
from .verilog_out import BUILD, write_verilog

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints"
TARGETS = {
    "ice40": dict(synth="synth_ice40 -dsp", pnr="nextpnr-ice40",
                  args=["--up5k", "--package", "sg48", "--freq", "48", "--pcf", "icebreaker.pcf"],
                  constraints="icebreaker.pcf"),
    "ecp5": dict(synth="synth_ecp5", pnr="nextpnr-ecp5",
                 args=["--25k", "--package", "CABGA381", "--freq", "100", "--lpf", "ulx3s.lpf"],
                 constraints="ulx3s.lpf"),
}


def _tool(name: str) -> str:
    """Prefer the YoWASP build (pinned, in the venv); fall back to a system tool of the same name."""
    for cand in (f"yowasp-{name}", name):
        path = shutil.which(cand) or (shutil.which(cand, path=str(Path(sys.executable).parent)))
        if path:
            return path
    raise SystemExit(f"{name} not found: run `make setup` (installs yowasp-{name} from the synth extra)")


def _cells(stat_json: Path) -> dict:
    stat = json.loads(stat_json.read_text())
    return stat.get("design", {}).get("num_cells_by_type") or stat["modules"]["\\top"]["num_cells_by_type"]


def synth_cells(component, target: str, workdir: Path) -> dict:
    """Yosys cell counts by type of `component` alone (no harness, no place and route)."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_verilog(component, "top", workdir / "top.v")
    subprocess.run([_tool("yosys"), "-q", "-p",
                    f"read_verilog top.v; {TARGETS[target]['synth']} -top top; "
                    f"tee -q -o {target}.stat.json stat -json"], check=True, cwd=workdir)
    return _cells(workdir / f"{target}.stat.json")


def run_target(cfg: dict, target: str) -> dict:
    t = TARGETS[target]
    d = BUILD / "synth" / cfg["name"]
    d.mkdir(parents=True, exist_ok=True)
    write_verilog(SerialHarness(build_component(cfg["block"], cfg["params"])), "top", d / "top.v")
    shutil.copy(CONSTRAINTS / t["constraints"], d / t["constraints"])
    subprocess.run([_tool("yosys"), "-q", "-p",
                    f"read_verilog top.v; {t['synth']} -top top -json {target}.json; "
                    f"tee -q -o {target}.stat.json stat -json"], check=True, cwd=d)
    pnr = subprocess.run([_tool(t["pnr"]), "--json", f"{target}.json", *t["args"], "--report",
                          f"{target}.rpt.json", "--seed", "1", "--timing-allow-fail", "--quiet",
                          "--log", f"{target}.pnr.log"], cwd=d, capture_output=True, text=True)
    if pnr.returncode != 0:
        # Typically "does not fit": report it with nextpnr's own words and go on with the next target.
        errors = [ln for ln in (d / f"{target}.pnr.log").read_text().splitlines() if "ERROR" in ln]
        return {"error": errors[-1] if errors else pnr.stderr.strip()[-300:], "yosys_cells": _cells(d / f"{target}.stat.json")}
    rpt = json.loads((d / f"{target}.rpt.json").read_text())
    cells = _cells(d / f"{target}.stat.json")
    return {
        "utilisation": {k: v["used"] for k, v in rpt["utilization"].items() if v["used"]},
        "available": {k: v["available"] for k, v in rpt["utilization"].items() if v["used"]},
        "fmax_mhz": {k: round(v["achieved"], 2) for k, v in rpt["fmax"].items()},
        "yosys_cells": cells,
    }


def main(argv: list[str]) -> int:
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    only = set(argv)
    out = BUILD / "synth" / "summary.json"
    summary = json.loads(out.read_text()) if only and out.exists() else {}   # a subset updates its entries
    for cfg in default_configs():
        if only and cfg["name"] not in only:
            continue
        for target in cfg.get("synth", []):
            print(f"synth {cfg['name']} on {target} ...", flush=True)
            r = run_target(cfg, target)
            summary.setdefault(cfg["name"], {})[target] = r
            if "error" in r:
                print(f"  place and route failed: {r['error']}")
            else:
                print(f"  used {r['utilisation']} of {r['available']}; Fmax MHz {r['fmax_mhz']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
