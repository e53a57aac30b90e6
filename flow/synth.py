"""`make synth`: resource and Fmax figures from Yosys + nextpnr for the configurations in flow/configs/.

Each configuration whose JSON lists "synth" targets is wrapped in the 4-pin SerialHarness
(flow/harness.py), synthesised with YoWASP Yosys (synth_ice40 -dsp -device u / synth_ecp5) and placed and routed
with YoWASP nextpnr using the board constraints in constraints/. Tool output goes to the logs
build/synth/<config>/<target>.{yosys,pnr}.log; the results are summarised in build/synth/summary.json
and, as a Markdown table, build/synth/summary.md: per configuration and target the LUT/LC, FF, DSP,
block RAM and SPRAM used and available, the achieved Fmax against the goal, a verdict ("meets",
"misses timing", "does not fit") and the start and end of the critical path. Where the area goes:
build/synth/<config>/<target>.area.md and the summary's "Area by block" section (flow/area.py: LUT,
carry, FF, block RAM, DSP per design block).

Targets:  ice40 = iCE40UP5K-SG48 (iCEBreaker, constraints/icebreaker.pcf, 48 MHz goal)
          ecp5  = LFE5U-25F CABGA381 (ULX3S, constraints/ulx3s.lpf, 100 MHz goal)
A configuration may set its own goals in MHz: "goals": {"ice40": 48, "ecp5": 125} (passed as --freq).
A block with a `dsp` parameter is built with the target's (synth_params: "ecp5" instantiates the
MULT18X18D with its own registers, hdl/controller/setup_multiplier.py), unless its configuration sets it.
nextpnr runs with --timing-allow-fail: a design that misses the goal still reports its Fmax. A place and
route that has not finished after --pnr-timeout minutes (default 60; a router that does not converge on
a nearly full part can run for hours) is stopped and reported as "does not fit" with the utilisation and
the placer's Fmax estimate from its log.
YoWASP tools only see their working folder, so the constraints are copied next to the netlist.

    python -m flow.synth [NAME ...]    only the named configurations (their entries of the summary are
                                       replaced, the others kept)
    python -m flow.synth --target T    only target T (ice40 or ecp5) of the (named) configurations
    python -m flow.synth --pnr-timeout MIN   stop a place and route after MIN minutes (default 60)
    python -m flow.synth --seed N      nextpnr's placement seed N (default 1; the entry records it)
    python -m flow.synth --spread K    also place and route the same netlist at the K - 1 seeds after N
                                       (two at a time): the entry's "fmax_by_seed" and "fmax_median", the
                                       summary's "Seed spread"; the figure and verdict stay seed N's. nextpnr's
                                       placement moves Fmax by a few percent between seeds, which on a
                                       nearly full part is more than a design change moves it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.generate import ConfigError, block_parameters, build_component, default_configs
from flow.area import render_area, write_area
from flow.harness import SerialHarness
from flow.tools import tool
from flow.verilog_out import BUILD, write_verilog
from flow.yosys import synthesise

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints"
TARGETS = {
    "ice40": dict(pnr="nextpnr-ice40", goal=48, dsp="generic", fabric="ice40",
                  args=["--up5k", "--package", "sg48", "--pcf", "icebreaker.pcf"],
                  constraints="icebreaker.pcf"),
    "ecp5": dict(pnr="nextpnr-ecp5", goal=100, dsp="ecp5", fabric="generic",
                 args=["--25k", "--package", "CABGA381", "--lpf", "ulx3s.lpf"],
                 constraints="ulx3s.lpf"),
}

#: target -> resource of the summary -> nextpnr utilisation classes (summed). iCE40 FFs live inside
#: the logic cells: nextpnr has no class for them, they are counted from Yosys's SB_DFF* cells.
RESOURCES = {
    "ice40": {"LUT": ["ICESTORM_LC"], "FF": [], "DSP": ["ICESTORM_DSP"], "BRAM": ["ICESTORM_RAM"],
              "SPRAM": ["ICESTORM_SPRAM"]},
    "ecp5": {"LUT": ["TRELLIS_COMB"], "FF": ["TRELLIS_FF"], "DSP": ["MULT18X18D"], "BRAM": ["DP16KD"],
             "SPRAM": []},
}
VERDICTS = ("meets", "misses timing", "does not fit")


def _resource(util: dict, classes: list[str]) -> dict | None:
    present = [util[c] for c in classes if c in util]
    if not present:
        return None
    return {"used": sum(v["used"] for v in present), "available": sum(v["available"] for v in present)}


def _critical_path(rpt: dict) -> dict | None:
    """The longest clocked (register to register) path of the report: clocks, start and end cell/port."""
    paths = [p for p in rpt.get("critical_paths") or [] if p.get("path")]
    clocked = [p for p in paths if "<async>" not in (p.get("from"), p.get("to"))]
    if not clocked:
        return None
    worst = max(clocked, key=lambda p: sum(step.get("delay", 0) for step in p["path"]))
    start, end = worst["path"][0].get("from", {}), worst["path"][-1].get("to", {})
    return {"from_clock": worst.get("from"), "to_clock": worst.get("to"),
            "from": start.get("cell"), "from_port": start.get("port"),
            "to": end.get("cell"), "to_port": end.get("port"),
            "delay_ns": round(sum(step.get("delay", 0) for step in worst["path"]), 3)}


def entry_from_report(rpt: dict, goal_mhz: float, target: str, *, yosys_cells: dict | None = None,
                      error: str | None = None) -> dict:
    """One summary entry from a nextpnr --report dict ("utilization", "fmax", "critical_paths"; any may
    be missing, e.g. after a failed place and route). Pure: no files, no tools."""
    util = rpt.get("utilization") or {}
    res = {name: _resource(util, classes) for name, classes in RESOURCES[target].items()}
    if target == "ice40" and yosys_cells is not None and res["LUT"]:
        res["FF"] = {"used": sum(n for c, n in yosys_cells.items() if c.startswith("SB_DFF")),
                     "available": res["LUT"]["available"]}
    over = sorted(k for k, v in util.items() if v["used"] > v["available"])
    fmax = {k: round(v["achieved"], 2) for k, v in (rpt.get("fmax") or {}).items()}
    worst = min(fmax.values()) if fmax else None
    if error or over:
        verdict = "does not fit"
    elif worst is None or worst < goal_mhz:
        verdict = "misses timing"
    else:
        verdict = "meets"
    entry = {
        "verdict": verdict,
        "fmax_mhz": worst,
        "goal_mhz": goal_mhz,
        "resources": res,
        "critical_path": _critical_path(rpt),
        "fmax_by_clock_mhz": fmax,
        "utilisation": {k: v["used"] for k, v in util.items() if v["used"]},
        "available": {k: v["available"] for k, v in util.items() if v["used"]},
    }
    if over:
        entry["over"] = over
    if error:
        entry["error"] = error
    if yosys_cells is not None:
        entry["yosys_cells"] = yosys_cells
    return entry


def utilisation_from_log(text: str) -> dict:
    """The "Device utilisation" block of a nextpnr log as a report's "utilization" (also printed when
    place and route then fails, when no report is written)."""
    return {m[1]: {"used": int(m[2]), "available": int(m[3])}
            for m in re.finditer(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", text, re.M)}


def _short(cell: str | None, width: int = 40) -> str:
    """A cell name as its RTL signal (Yosys/nextpnr suffixes cut), at most `width` characters."""
    if not cell:
        return "?"
    name = re.split(r"_(?:SB|TRELLIS|CCU2C|LUT4|MULT18X18D|DP16KD|ALU54B)_|\$(?:sb|tr)_io", cell)[0] or cell
    name = name.lstrip("\\")
    return name if len(name) <= width else name[:width - 1] + "…"


def _ratio(r: dict | None) -> str:
    return "–" if r is None else f"{r['used']}/{r['available']}"


COLUMNS = ("config", "target", "LUT/LC", "FF", "DSP", "BRAM", "SPRAM", "Fmax MHz", "goal MHz", "verdict",
           "critical path")


def render_markdown(summary: dict) -> str:
    """summary.json ({config: {target: entry}}) as a Markdown table. Pure."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for name, targets in summary.items():
        for target, e in targets.items():
            res = e.get("resources") or {}
            cp = e.get("critical_path")
            path = f"{_short(cp['from'])} -> {_short(cp['to'])}" if cp else "–"
            verdict = e.get("verdict", "?")
            verdict = f"**{verdict}**" if verdict != "meets" else verdict
            fmax = e.get("fmax_mhz")
            row = [name, target] + [_ratio(res.get(k)) for k in ("LUT", "FF", "DSP", "BRAM", "SPRAM")] + \
                  ["–" if fmax is None else f"{fmax:.2f}", str(e.get("goal_mhz", "?")), verdict, path]
            lines.append("| " + " | ".join(s.replace("|", "\\|") for s in row) + " |")
    return "\n".join(lines) + "\n"


def render_spread(summary: dict) -> str:
    """The entries with a seed spread (run_target `spread`) as Markdown lines, or "". Pure."""
    lines = []
    for name, targets in summary.items():
        for target, e in targets.items():
            by_seed = e.get("fmax_by_seed")
            if by_seed:
                med = e.get("fmax_median")
                each = ", ".join(f"{k}: {'–' if v is None else f'{v:.2f}'}" for k, v in by_seed.items())
                lines.append(f"- {name} on {target}: median {'–' if med is None else f'{med:.2f}'} MHz "
                             f"(goal {e.get('goal_mhz')}); by seed {each}")
    return ("\n## Seed spread\n\nnextpnr's Fmax of one netlist at consecutive placement seeds (`--spread`); "
            "the table's figure is the first seed's.\n\n" + "\n".join(lines) + "\n") if lines else ""


def console_line(name: str, target: str, e: dict) -> str:
    """One concise line per configuration and target."""
    lut = _ratio((e.get("resources") or {}).get("LUT"))
    fmax = e.get("fmax_mhz")
    line = f"{name:28} {target:5}  LUT {lut:>12}  Fmax {'-' if fmax is None else f'{fmax:.2f}':>7} " \
           f"/ {e.get('goal_mhz')} MHz  {e.get('verdict')}"
    if e.get("error"):
        line += f" ({e['error'][:100]})"
    by_seed = e.get("fmax_by_seed")
    if by_seed:
        vals = [v for v in by_seed.values() if v is not None]
        line += (f"  (seeds {min(map(int, by_seed))}-{max(map(int, by_seed))}: "
                 + (f"median {e['fmax_median']:.2f}, {min(vals):.2f}-{max(vals):.2f} MHz)" if vals else "no Fmax)"))
    return line


def goal_of(cfg: dict, target: str) -> float:
    """The Fmax goal in MHz of `target` for this configuration: its "goals" entry, else the default."""
    return (cfg.get("goals") or {}).get(target, TARGETS[target]["goal"])


def synth_params(cfg: dict, target: str) -> dict:
    """The block parameters of a configuration for `target`: a block with a `dsp` parameter (its
    multipliers' implementation, e.g. hdl/controller/setup_multiplier.py) gets the target's (the ECP5's
    MULT18X18D with its registers: synth_ecp5 packs none into an inferred one), unless the configuration
    sets it; likewise a block with a `fabric` parameter (the update controller's line cells: iCE40
    primitives on the ice40 target, hdl/controller/line_cell.py). Pure: the configuration is not changed."""
    params = dict(cfg["params"])
    for key in ("dsp", "fabric"):
        if key in block_parameters(cfg["block"]):
            params.setdefault(key, TARGETS[target][key])
    return params


#: Minutes a place and route may take before it is stopped and reported as not fitting.
PNR_TIMEOUT_MIN = 60.0


def run_tool(cmd: list[str], cwd: Path, timeout_min: float) -> tuple[int | None, str]:
    """Run a tool; (exit code, stderr), or (None, "") when it was stopped after `timeout_min` minutes."""
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_min * 60)
    except subprocess.TimeoutExpired:
        return None, ""
    return r.returncode, r.stderr


def placer_estimate_mhz(log_text: str) -> float | None:
    """The latest "Max frequency for clock" of a nextpnr log (after placement; after routing too when it
    got there), or None."""
    found = re.findall(r"Max frequency for clock .*?: ([\d.]+) MHz", log_text)
    return float(found[-1]) if found else None


def pnr_command(target: str, goal: float, seed: int, log: str, report: str | None = None) -> list[str]:
    """nextpnr's command line for d/<target>.json (run in d): the target's part and constraints, --freq the
    goal, a miss reported rather than an error; its log to `log`, its JSON report to `report` if given."""
    t = TARGETS[target]
    return [tool(t["pnr"]), "--json", f"{target}.json", *t["args"], "--freq", f"{goal:g}",
            *(["--report", report] if report else []), "--seed", str(seed), "--timing-allow-fail", "--quiet",
            "--log", log]


def seed_spread(d: Path, target: str, goal: float, seeds: list[int], pnr_timeout_min: float,
                jobs: int = 2) -> dict[int, float | None]:
    """Fmax (MHz, None where nextpnr failed) of the netlist d/<target>.json placed and routed at each seed,
    `jobs` runs at a time; logs d/<target>.seed<N>.pnr.log."""
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> float | None:
        log = d / f"{target}.seed{seed}.pnr.log"
        log.unlink(missing_ok=True)
        code, _ = run_tool(pnr_command(target, goal, seed, log.name), d, pnr_timeout_min)
        return placer_estimate_mhz(log.read_text()) if code == 0 and log.exists() else None
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip(seeds, pool.map(one, seeds)))


def run_target(cfg: dict, target: str, pnr_timeout_min: float = PNR_TIMEOUT_MIN, seed: int = 1,
               spread: int = 1) -> dict:
    t = TARGETS[target]
    goal = goal_of(cfg, target)
    d = BUILD / "synth" / cfg["name"]
    d.mkdir(parents=True, exist_ok=True)
    write_verilog(SerialHarness(build_component(cfg["block"], synth_params(cfg, target))), "top", d / "top.v")
    shutil.copy(CONSTRAINTS / t["constraints"], d / t["constraints"])
    cells = synthesise(d, target, netlist=True)
    area = write_area(d / f"{target}.json", d / f"{target}.area.md", title=f"{cfg['name']} on {target}",
                      strip="dut")
    entry = _run_pnr(d, target, goal, cells, pnr_timeout_min, seed)
    entry["pnr_seed"] = seed
    if spread > 1:
        by_seed = {seed: entry.get("fmax_mhz"),
                   **seed_spread(d, target, goal, list(range(seed + 1, seed + spread)), pnr_timeout_min)}
        vals = [v for v in by_seed.values() if v is not None]
        entry["fmax_by_seed"] = {str(k): v for k, v in by_seed.items()}
        entry["fmax_median"] = statistics.median(vals) if vals else None
    if target == "ice40" and (entry["resources"] or {}).get("FF"):
        # the area's count: Yosys's SB_DFF* cells and the flip-flops of hand-placed ICESTORM_LCs
        entry["resources"]["FF"]["used"] = sum(row["FF"] for row in area.values())
    entry["area_by_block"] = area
    entry["date"] = datetime.date.today().isoformat()
    return entry


def _run_pnr(d: Path, target: str, goal: float, cells: dict, pnr_timeout_min: float, seed: int) -> dict:
    rpt_file = d / f"{target}.rpt.json"
    rpt_file.unlink(missing_ok=True)                   # no stale report after a failed run
    code, stderr = run_tool(pnr_command(target, goal, seed, f"{target}.pnr.log", rpt_file.name), d,
                            pnr_timeout_min)
    log = d / f"{target}.pnr.log"
    log_text = log.read_text() if log.exists() else ""
    if code is None:
        est = placer_estimate_mhz(log_text)
        error = (f"place and route stopped after {pnr_timeout_min:g} min (routing did not converge)"
                 + ("" if est is None else f"; placer estimate {est:g} MHz"))
        return entry_from_report({"utilization": utilisation_from_log(log_text)}, goal, target,
                                 yosys_cells=cells, error=error)
    if code != 0 or not rpt_file.exists():
        # Typically "does not fit": report it with nextpnr's own words and go on with the next target.
        errors = [ln for ln in log_text.splitlines() if "ERROR" in ln]
        error = errors[-1] if errors else (stderr.strip()[-300:] or f"nextpnr exit {code}")
        return entry_from_report({"utilization": utilisation_from_log(log_text)}, goal, target,
                                 yosys_cells=cells, error=error)
    return entry_from_report(json.loads(rpt_file.read_text()), goal, target, yosys_cells=cells)


def synth_configs() -> list[dict]:
    """The configurations of flow/configs/ that list synthesis targets (ConfigError for an unknown target
    or a bad goal)."""
    cfgs = [cfg for cfg in default_configs() if cfg.get("synth")]
    for cfg in cfgs:
        bad = [t for t in cfg["synth"] if t not in TARGETS]
        if bad:
            raise ConfigError(f"{cfg['name']}: unknown synth target(s) {', '.join(map(repr, bad))}; "
                              f"targets: {', '.join(TARGETS)}")
        goals = cfg.get("goals", {})
        if not isinstance(goals, dict) or any(t not in TARGETS or isinstance(g, bool) or
                                              not isinstance(g, (int, float)) or g <= 0
                                              for t, g in goals.items()):
            raise ConfigError(f"{cfg['name']}: goals must map targets ({', '.join(TARGETS)}) to a positive "
                              f"Fmax in MHz, not {goals!r}")
    return cfgs


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.synth", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="configurations to synthesise (default: every one with synth targets)")
    ap.add_argument("--target", choices=sorted(TARGETS), default=None,
                    help="only this target of each configuration (its other entries are kept)")
    ap.add_argument("--pnr-timeout", type=float, default=PNR_TIMEOUT_MIN, metavar="MIN",
                    help=f"stop a place and route after MIN minutes, reported as not fitting (default "
                         f"{PNR_TIMEOUT_MIN:g})")
    ap.add_argument("--seed", type=int, default=1, metavar="N",
                    help="nextpnr's placement seed, a positive integer (default 1; Fmax moves by a few percent "
                         "between seeds: report a figure with its seed)")
    ap.add_argument("--spread", type=int, default=1, metavar="K",
                    help="also place and route at the K - 1 seeds after --seed's (two at a time) and record "
                         "each Fmax and their median (default 1: --seed's only)")
    args = ap.parse_args(argv)
    if args.seed < 1:
        ap.error(f"--seed must be a positive integer, not {args.seed}")
    if args.spread < 1:
        ap.error(f"--spread must be a positive integer, not {args.spread}")
    if not args.pnr_timeout > 0:
        ap.error(f"--pnr-timeout must be a positive number of minutes, not {args.pnr_timeout:g}")
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
    subset = bool(only) or args.target is not None
    summary = json.loads(out.read_text()) if subset and out.exists() else {}   # a subset updates its entries
    for cfg in cfgs:
        if only and cfg["name"] not in only:
            continue
        for target in cfg["synth"]:
            if args.target is not None and target != args.target:
                continue
            r = run_target(cfg, target, args.pnr_timeout, args.seed, args.spread)
            summary.setdefault(cfg["name"], {})[target] = r
            print(console_line(cfg["name"], target, r), flush=True)
    # Entries of an older summary (without a verdict) are left out of the table, not guessed at.
    table = render_markdown({n: {t: e for t, e in ts.items() if "verdict" in e} for n, ts in summary.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    md = out.with_suffix(".md")
    areas = "".join(render_area(e["area_by_block"], top=12, title=f"{n} on {t}") + "\n"
                    for n, ts in summary.items() for t, e in ts.items() if e.get("area_by_block"))
    md.write_text("# Synthesis summary\n\n" + table + render_spread(summary) + (
        "\n## Area by block\n\nCells attributed to the design's blocks (flow/area.py: by source line, LUTs "
        "by the net they drive; \"(top level)\" is the serial harness).\n\n" + areas if areas else ""))
    print(table, end="")
    print(f"wrote {out} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
