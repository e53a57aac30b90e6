"""`make synth`: resource and Fmax figures from Yosys + nextpnr for the configurations in flow/configs/.

Each configuration whose JSON lists "synth" targets is wrapped in the 4-pin SerialHarness
(flow/harness.py), synthesised with YoWASP Yosys (synth_ice40 -dsp / synth_ecp5) and placed and routed
with YoWASP nextpnr using the board constraints in constraints/. Results land in
build/synth/<config>/<target>.* and are summarised in build/synth/summary.json.

Targets:  ice40 = iCE40UP5K-SG48 (iCEBreaker, constraints/icebreaker.pcf, 48 MHz goal)
          ecp5  = LFE5U-25F CABGA381 (ULX3S, constraints/ulx3s.lpf, 100 MHz goal)
nextpnr runs with --timing-allow-fail: a design that misses the goal still reports its Fmax.
YoWASP tools only see their working folder, so the constraints are copied next to the netlist.

    python -m flow.synth [NAME ...]    only the named configurations (their entries of the summary are
                                       replaced, the others kept)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.generate import ConfigError, build_component, default_configs
from flow.harness import SerialHarness
from flow.tools import tool
from flow.verilog_out import BUILD, write_verilog
from flow.yosys import synthesise

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints"
TARGETS = {
    "ice40": dict(pnr="nextpnr-ice40",
                  args=["--up5k", "--package", "sg48", "--freq", "48", "--pcf", "icebreaker.pcf"],
                  constraints="icebreaker.pcf"),
    "ecp5": dict(pnr="nextpnr-ecp5",
                 args=["--25k", "--package", "CABGA381", "--freq", "100", "--lpf", "ulx3s.lpf"],
                 constraints="ulx3s.lpf"),
}


def run_target(cfg: dict, target: str) -> dict:
    t = TARGETS[target]
    d = BUILD / "synth" / cfg["name"]
    d.mkdir(parents=True, exist_ok=True)
    write_verilog(SerialHarness(build_component(cfg["block"], cfg["params"])), "top", d / "top.v")
    shutil.copy(CONSTRAINTS / t["constraints"], d / t["constraints"])
    cells = synthesise(d, target, netlist=True)
    pnr = subprocess.run([tool(t["pnr"]), "--json", f"{target}.json", *t["args"], "--report",
                          f"{target}.rpt.json", "--seed", "1", "--timing-allow-fail", "--quiet",
                          "--log", f"{target}.pnr.log"], cwd=d, capture_output=True, text=True)
    if pnr.returncode != 0:
        # Typically "does not fit": report it with nextpnr's own words and go on with the next target.
        errors = [ln for ln in (d / f"{target}.pnr.log").read_text().splitlines() if "ERROR" in ln]
        return {"error": errors[-1] if errors else pnr.stderr.strip()[-300:], "yosys_cells": cells}
    rpt = json.loads((d / f"{target}.rpt.json").read_text())
    return {
        "utilisation": {k: v["used"] for k, v in rpt["utilization"].items() if v["used"]},
        "available": {k: v["available"] for k, v in rpt["utilization"].items() if v["used"]},
        "fmax_mhz": {k: round(v["achieved"], 2) for k, v in rpt["fmax"].items()},
        "yosys_cells": cells,
    }


def synth_configs() -> list[dict]:
    """The configurations of flow/configs/ that list synthesis targets (ConfigError for an unknown target)."""
    cfgs = [cfg for cfg in default_configs() if cfg.get("synth")]
    for cfg in cfgs:
        bad = [t for t in cfg["synth"] if t not in TARGETS]
        if bad:
            raise ConfigError(f"{cfg['name']}: unknown synth target(s) {', '.join(map(repr, bad))}; "
                              f"targets: {', '.join(TARGETS)}")
    return cfgs


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.synth", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="configurations to synthesise (default: every one with synth targets)")
    args = ap.parse_args(argv)
    try:
        cfgs = synth_configs()
    except ConfigError as e:
        ap.error(str(e))
    known = [cfg["name"] for cfg in cfgs]
    bad = [n for n in args.names if n not in known]
    if bad:
        ap.error(f"unknown configuration(s) {', '.join(map(repr, bad))}; configurations with synth targets: "
                 f"{', '.join(known)}")
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    only = set(args.names)
    out = BUILD / "synth" / "summary.json"
    summary = json.loads(out.read_text()) if only and out.exists() else {}   # a subset updates its entries
    for cfg in cfgs:
        if only and cfg["name"] not in only:
            continue
        for target in cfg["synth"]:
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
