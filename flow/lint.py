"""`make lint`: Verilator --lint-only -Wall on the Verilog of every configuration in flow/configs/.

Lint is clean when every warning is covered by a waiver below, each with its reason. Two kinds:

1. Artefacts of Amaranth's Verilog back end, recognised by construct (not by a blanket rule code):
   - PROCASSINIT on any `reg`: Amaranth declares every register with its reset value as initialiser
     (the FPGA power-up state) and also assigns it on `rst`; both are intended.
   - WIDTHEXPAND / WIDTHTRUNC on a line that assigns an Amaranth temporary (`\\$N`): Amaranth's
     arithmetic is defined on the widened operands (sign- or zero-extended by their own signedness,
     exactly Verilog's rule in a signed/unsigned context) and its assignments truncate by definition.
   - UNUSEDSIGNAL on a temporary (`$N`), or on a struct/array view alias (a name containing `.` or `[`):
     the first are carry bits of Amaranth's width+1 arithmetic, the second are debug-only wires
     Amaranth emits so waveforms show payload fields.
   - UNUSEDSIGNAL on a named wire whose only driver is one continuous `assign`: Amaranth keeps every
     named Signal as a debug wire even where the logic reads the expression it was inlined into
     (checked per signal in the Verilog text). Limit: an Amaranth signal that is really left unused
     looks the same; unused inputs, registers and undriven signals are still reported.
   - DECLFILENAME on a submodule (`<top>.<sub>`): Amaranth writes the whole hierarchy into one file
     named after the top module.
   - UNUSEDSIGNAL on `rst` (or `clear`, the layer's ResetInserter of the domain) of a clocked module:
     Amaranth gives every module with registers of a domain that domain's reset port, also when all of
     them are reset-less (the controller's set-up
     multiplier, whose registers the iCE40 SB_MAC16 absorbs only without a synchronous reset).
   - CASEINCOMPLETE on `casez (fsm_state)`: Amaranth's FSM encoding leaves unreachable state codes;
     the combinational block assigns every output before the case, so no latch results.
   - WIDTHEXPAND / WIDTHTRUNC "SIGNED generates" on `assign x = $signed(a) op $signed(b);`: every operand
     cast signed, so Verilog extends each by its sign, which is Amaranth's rule for a signed operation.
   - WIDTHTRUNC on `assign x = ! y;`: Amaranth writes `y == 0` of a vector as a logical not.
   - CASEINCOMPLETE on a `casez` in an `always @*` block that assigns every one of its outputs a default
     before any if or case (a memory's, a Switch's): no latch, the missing codes keep the default.
   - CASEOVERLAP on a `(* full_case *) casez`: Amaranth's If/Elif chain as a priority case.
   - ASCRANGE `[-1:0]`: a zero-width Amaranth signal (e.g. a lane index with one lane).
2. Named signals of our own blocks: listed one by one in SIGNAL_WAIVERS, with the reason.

Anything else (UNDRIVEN, MULTIDRIVEN, LATCH, CASEINCOMPLETE, a width warning on a named signal, ...)
fails the lint.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.generate import ConfigError, check, default_configs, generate
from flow.tools import ensure_verilator_on_path
from flow.verilog_out import BUILD

#: (config-name regex, rule, signal name regex, reason)
SIGNAL_WAIVERS = [
    (r"update_controller|sbe_layer|sbe_network", "WIDTHEXPAND", r"sh",    # the controller, alone or in a layer
     "sh = e_c + (P): a signed exponent plus a small constant, sign-extended by design"),
    (r"host_top", "UNUSEDSIGNAL", r"used|s_used|u_used",                  # hdl/link: buffer_ports
     "a buffer's 'read data used' flag: observed by the tests (no read during a write), read by no logic"),
    # hdl/engine/scalar_unit.py: fields carried whole down the conversion pipeline, partly read
    (r"sbe_|host_top", "UNUSEDSIGNAL", r"(p3|post2|wh\d+)_d",
     "the instruction's register field d carried along; the hand-over stages read its bit 0 (the vector)"),
    (r"sbe_|host_top", "UNUSEDSIGNAL", r"post2_csh_raw",
     "COEF/OUTC's shift before its clamp, at the width of its exponent arithmetic; the clamp reads its low bits"),
    (r"sbe_|host_top", "UNUSEDSIGNAL", r"jc",
     "the scheduler's 16-bit sample index; the compact scalar unit reads the bits max_batch + 1 needs"),
    # hdl/engine/float_alu.py, compact
    (r"sbe_|host_top", "UNUSEDSIGNAL", r"a_prod",
     "the SB_MAC16's product register (whole, so Yosys packs it into the DSP); its low mw-4 bits lie below "
     "every product's rounding position"),
]

WARN = re.compile(r"^%Warning-(?P<rule>[A-Z]+): (?P<file>[^:]+):(?P<line>\d+):\d+: (?P<msg>.*)$")


def _signal(msg: str) -> str | None:
    m = re.search(r"'([^']+)'", msg)
    return m.group(1) if m else None


def _is_temp_alias(sig: str, verilog: str) -> bool:
    """True if `sig` is a wire driven by exactly one continuous assign (an Amaranth debug wire)."""
    name = rf"\\?{re.escape(sig)} ?"          # escaped identifiers (`\\row_fire$103 `) included
    drivers = re.findall(rf"^\s*assign {name} = ", verilog, re.M)
    is_wire = re.search(rf"^\s*wire (\[[\d:]+\] )?{name};$", verilog, re.M)
    return len(drivers) == 1 and is_wire is not None


def _module_text(lines: list[str], line: int) -> str:
    """The Verilog module holding 1-based `line` (aliases are judged per module: Amaranth gives a
    submodule's port and its parent's wire the same name)."""
    start = next((i for i in range(line - 1, -1, -1) if lines[i].startswith("module ")), 0)
    end = next((i for i in range(line - 1, len(lines)) if lines[i].startswith("endmodule")), len(lines) - 1)
    return "\n".join(lines[start:end + 1])


def _always_block(lines: list[str], line: int) -> str:
    """The `always @*` block holding 1-based `line` ("" if it is in none)."""
    start = next((i for i in range(line - 1, -1, -1) if lines[i].lstrip().startswith(("always", "module"))), 0)
    if not lines[start].lstrip().startswith("always @*"):
        return ""
    end = next((i for i in range(line - 1, len(lines)) if lines[i].lstrip().startswith(("always", "endmodule"))),
               len(lines))
    return "\n".join(lines[start:end])


_ASSIGN = re.compile(r"^\s*(\\?\S+)\s*= [^;]*;", re.M)


def _defaults_first(block: str) -> bool:
    """True if every signal the combinational block assigns gets a value at its top, before any if or
    case (so an uncovered case value keeps that default: no latch)."""
    body = block.splitlines()[1:]
    first = next((i for i, t in enumerate(body) if re.match(r"\s*(casez|case|if|\(\*)", t)
                  and "verilog_backend" not in t), len(body))
    top = {mm.group(1) for t in body[:first] if (mm := _ASSIGN.match(t))}
    return bool(top) and {mm.group(1) for mm in _ASSIGN.finditer("\n".join(body))} <= top


def waiver_for(config: str, rule: str, msg: str, source_line: str, verilog: str = "", block: str = "") -> str | None:
    """The reason a warning is waived, or None if it is not (verilog: the module's text; block: the
    `always @*` block of the line, if any)."""
    sig = _signal(msg) or ""
    if rule == "PROCASSINIT":
        return "Amaranth register initialiser (power-up value), also reset synchronously"
    if rule in ("WIDTHEXPAND", "WIDTHTRUNC"):
        lhs = re.match(r"\s*assign (\S+)\s+=", source_line)
        if lhs and re.fullmatch(r"\\\$\d+", lhs.group(1)):
            return "Amaranth temporary: operand widening/truncation defined by Amaranth's semantics"
        sig = lhs.group(1) if lhs else sig
    if rule == "UNUSEDSIGNAL" and (sig.startswith("$") or "." in sig or "[" in sig):
        return "Amaranth carry bit or debug view alias"
    if rule == "UNUSEDSIGNAL" and _is_temp_alias(sig, verilog):
        return "Amaranth debug alias of a named Signal (the logic reads the temporary)"
    if rule == "UNUSEDSIGNAL" and sig in ("rst", "clear") and re.search(r"^\s*always @\(posedge clk\)", verilog, re.M):
        return ("Amaranth clock-domain port: a module whose registers are all reset-less still gets rst (and "
                "the layer's clear, a ResetInserter of its domain)")
    if rule == "DECLFILENAME" and re.search(rf"'{re.escape(config)}\.[^']+'", msg):
        return "Amaranth submodule written into the top module's file"
    if rule == "CASEINCOMPLETE" and re.match(r"\s*casez \(fsm_state\)", source_line):
        return "Amaranth FSM: unreachable state codes; outputs assigned before the case"
    if rule in ("WIDTHEXPAND", "WIDTHTRUNC") and "SIGNED generates" in msg and re.fullmatch(
            r"\s*assign \S+\s*= \$signed\([^;]*\) [-+*] \$signed\([^;]*\);", source_line):
        return "Amaranth signed operands: each operand $signed, so Verilog sign-extends them as Amaranth does"
    if rule == "WIDTHTRUNC" and "LOGNOT" in msg and re.fullmatch(r"\s*assign \S+\s*= ! \S+ ?(\[\d+:\d+\])?;",
                                                                   source_line):
        return "Amaranth's x == 0 of a vector written as a logical not (true iff every bit is 0)"
    if rule == "CASEINCOMPLETE" and re.match(r"\s*casez ", source_line) and _defaults_first(block):
        return "Amaranth case: every output of its block assigned a default first, so no latch and no gap"
    if rule == "CASEOVERLAP" and re.search(r"\(\* full_case = 32'd1 \*\)\n\s*casez ", verilog):
        return "Amaranth If/Elif as a priority casez: the first matching item wins, by design"
    if rule == "ASCRANGE" and "[-1:0]" in msg or rule == "UNUSEDSIGNAL" and re.search(
            rf"^\s*(wire|reg) \[-1:0\] {re.escape(sig)};$", verilog, re.M):
        return "Amaranth zero-width signal (a parameter leaves it no bits)"
    for cfg_re, w_rule, sig_re, reason in SIGNAL_WAIVERS:
        if w_rule == rule and re.search(cfg_re, config) and re.fullmatch(sig_re, sig):
            return reason
    return None


def lint_file(config: str, path: Path) -> tuple[list[str], dict[str, int]]:
    """Lint one Verilog file; return (unwaived warning lines, waived count per reason)."""
    res = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-fatal", str(path)],
                         capture_output=True, text=True)
    verilog = path.read_text()
    lines = verilog.splitlines()
    bad, waived = [], {}
    for text in res.stderr.splitlines():
        m = WARN.match(text)
        if not m:
            if text.startswith("%Error"):
                bad.append(text)
            continue
        line = int(m["line"])
        reason = waiver_for(config, m["rule"], m["msg"], lines[line - 1], _module_text(lines, line),
                            _always_block(lines, line))
        if reason is None:
            bad.append(text)
        else:
            waived[reason] = waived.get(reason, 0) + 1
    if res.returncode != 0 and not bad:
        bad.append(f"verilator exited with {res.returncode}: {res.stderr.strip()[-500:]}")
    return bad, waived


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.lint", description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    try:
        built = [(cfg, check(cfg)) for cfg in default_configs()]
    except ConfigError as e:
        ap.error(str(e))
    ensure_verilator_on_path()
    failed = False
    for cfg, component in built:
        path = generate(cfg, BUILD / "lint", component)
        bad, waived = lint_file(cfg["name"], path)
        status = "clean" if not bad else f"{len(bad)} unwaived warning(s)"
        print(f"lint {cfg['name']}: {status}; waived {sum(waived.values())}")
        for reason, n in sorted(waived.items()):
            print(f"    {n:4d} x {reason}")
        for text in bad:
            print("    " + text)
        failed |= bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
