"""Where the area goes: a mapped netlist's cells by design block (`make synth`, `make bitstream`).

Yosys flattens the design before mapping; each mapped cell is counted in a block of the design by
    1. its source line: cells that keep a `src` in the Verilog (flip-flops, carry chains, DSPs, most block
       RAMs) belong to the module whose lines hold it (the Amaranth Verilog has one module per instance;
       the flattened netlist's $scopeinfo cells give each module's lines and hierarchical name);
    2. else (LUTs: ABC9 drops their sources) the hierarchical name of the net it drives
       ("core.dp.lane0.pA2"), else its own cell name, else "(unnamed)".
So the split is an attribution, not an exact partition: a LUT that merges logic of two blocks counts in
the block whose net it drives; "(top level)" is the top module itself (for `make synth`: the serial
harness, flow/harness.py, and the LUTs that merge a block's output logic into the harness's capture
register), "(dut)" the harnessed block's own logic outside its submodules. The totals equal the
netlist's cell counts.

Classes (iCE40 / ECP5 cell types):
    LUT   SB_LUT4 / LUT4              FF     SB_DFF* / TRELLIS_FF
          (an ICESTORM_LC instantiated by the design counts as a LUT, and as a FF when DFF_ENABLE is set)
    CARRY SB_CARRY / CCU2C (2 LUTs each in nextpnr's ECP5 LUT figure)
    FF_ALONE  iCE40 flip-flops whose D input is not driven by a LUT (each takes a logic cell of its own;
              pipeline delay registers are the usual ones)
    BRAM  SB_RAM40_4K / DP16KD, PDPW16KD   DSP   SB_MAC16 / MULT18X18D, ALU54B   SPRAM SB_SPRAM256KA
    LUTRAM TRELLIS_DPR16X4 (ECP5 distributed RAM)

    python -m flow.area NETLIST.json [--depth N] [--top K]   the table of a netlist (yosys write_json)
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from contract.checks import CliParser

CLASSES = ("LUT", "CARRY", "FF", "FF_ALONE", "BRAM", "DSP", "SPRAM", "LUTRAM")

_TYPE_CLASS = {
    "SB_LUT4": "LUT", "LUT4": "LUT",
    "SB_CARRY": "CARRY", "CCU2C": "CARRY",
    "SB_RAM40_4K": "BRAM", "DP16KD": "BRAM", "PDPW16KD": "BRAM",
    "SB_MAC16": "DSP", "MULT18X18D": "DSP", "ALU54B": "DSP",
    "SB_SPRAM256KA": "SPRAM", "TRELLIS_DPR16X4": "LUTRAM",
    "ICESTORM_LC": "LUT",       # a logic cell placed by hand (hdl/controller/line_cell.py); its FF: _count
}
#: output ports that name a cell's block, in order of preference
_OUT_PORTS = ("Q", "O", "Z", "CO", "COUT", "S0", "DO0", "RDATA", "P", "DATAOUT")


def cell_class(cell_type: str) -> str | None:
    if cell_type.startswith("SB_DFF") or cell_type == "TRELLIS_FF":
        return "FF"
    return _TYPE_CLASS.get(cell_type)


def _block(name: str, depth: int, strip: str) -> str:
    """The block of a hierarchical net or cell name, `depth` levels deep below `strip`."""
    name = name.lstrip("\\")
    # mapped names append the path of the mapping ("x_SB_LUT4_O_I2"): the net's own name comes first
    for sep in ("_SB_", "_LUT4_", "_TRELLIS_", "_CCU2C_", "$"):
        if sep in name and not name.startswith(sep):
            name = name.split(sep)[0]
    parts = name.split(".")[:-1]            # the last part is the signal itself
    if strip:
        head = strip.split(".")
        if parts[:len(head)] != head:
            return "(top level)"            # outside the stripped block: the harness
        parts = parts[len(head):]
        if not parts:
            return f"({strip})"             # the stripped block's own logic
    return ".".join(parts[:depth]) or "(top level)"


def area_by_block(netlist: dict | str | Path, *, depth: int = 2, strip: str = "") -> dict[str, dict[str, int]]:
    """{block: {class: count}} of a yosys JSON netlist (a dict or a path), blocks `depth` levels deep
    below the hierarchy prefix `strip` (e.g. "dut" for the synthesis harness); see the module text."""
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    modules = netlist["modules"]
    mod = modules["top"] if "top" in modules else next(iter(modules.values()))
    cells, nets = mod["cells"], mod.get("netnames", {})
    bitname: dict[int, str] = {}
    for n, info in nets.items():
        for b in info["bits"]:
            if isinstance(b, int) and (b not in bitname or (bitname[b].startswith("$") and not n.startswith("$"))):
                bitname[b] = n
    driver: dict[int, str] = {}
    for c in cells.values():
        for port, direction in c.get("port_directions", {}).items():
            if direction == "output":
                for b in c["connections"].get(port, []):
                    if isinstance(b, int):
                        driver[b] = c["type"]
    # module line ranges of the Verilog: (file, first, last, hierarchical path) from the $scopeinfo cells
    scopes = []
    for cname, c in cells.items():
        a = c.get("attributes", {})
        if c["type"] == "$scopeinfo" and "module_src" in a:
            src = _src_lines(a["module_src"])
            if src:      # the scope cell is named by its hierarchical path ("dut.layer0")
                scopes.append((*src, a.get("hdlname", "").replace(" ", ".") or cname.lstrip("\\")))
    scopes.sort(key=lambda r: r[2] - r[1])           # the innermost (shortest) range first
    verilog = {file for file, *_ in scopes}

    def scope_of(src: str) -> str | None:
        """The path of the module holding a cell's source line in the design's Verilog ("" for the top
        module), None for a cell with no such line."""
        for part in src.split("|"):
            loc = _src_lines(part)
            if loc and loc[0] in verilog:
                return next((path for file, lo, hi, path in scopes if file == loc[0] and lo <= loc[1] <= hi), "")
        return None

    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASSES, 0))
    for cname, c in cells.items():
        cls = cell_class(c["type"])
        if cls is None:
            continue
        conn = c["connections"]
        path = scope_of(c.get("attributes", {}).get("src", ""))
        if path is not None:
            row = out[_block(path + ".x" if path else "x", depth, strip)]
            _count(row, cls, c, driver)
            continue
        name = None
        for port in _OUT_PORTS:
            bits = [b for b in conn.get(port, []) if isinstance(b, int)]
            named = [bitname[b] for b in bits if b in bitname and not bitname[b].startswith("$")]
            if named:
                name = named[0]
                break
        if name is None:
            name = cname if not cname.startswith("$") else "(unnamed).x"
        _count(out[_block(name, depth, strip)], cls, c, driver)
    return dict(out)


def _param_int(value) -> int:
    """A cell parameter of a Yosys JSON netlist (an int, or a string of binary digits) as an int."""
    return value if isinstance(value, int) else int(value or "0", 2)


def _count(row: dict, cls: str, cell: dict, driver: dict):
    row[cls] += 1
    if cell["type"] == "ICESTORM_LC" and _param_int(cell.get("parameters", {}).get("DFF_ENABLE", "0")):
        row["FF"] += 1                                          # the logic cell's own flip-flop
    if cls == "FF" and cell["type"].startswith("SB_DFF"):        # iCE40: a FF not fed by a LUT takes a cell
        d = [b for b in cell["connections"].get("D", []) if isinstance(b, int)]
        if d and driver.get(d[0]) != "SB_LUT4":
            row["FF_ALONE"] += 1


def _src_lines(src: str):
    """("top.v", first line, last line) of a yosys src attribute "top.v:12.3-40.10", else None."""
    try:
        file, rng = src.rsplit(":", 1)
        lo, _, hi = rng.partition("-")
        return file, int(lo.split(".")[0]), int((hi or lo).split(".")[0])
    except ValueError:
        return None


def write_area(netlist: Path, md: Path, *, title: str, strip: str = "") -> dict:
    """Area by design block (two levels below `strip`) of a netlist, written as Markdown to `md`;
    returns the rows (`make synth`, `make bitstream`)."""
    rows = area_by_block(netlist, depth=2, strip=strip)
    md.write_text(render_area(rows, title=title))
    return rows


def render_area(rows: dict[str, dict[str, int]], *, top: int = 25, title: str = "") -> str:
    """A Markdown table of area_by_block's rows, largest first (LUT + CARRY + FF_ALONE), at most `top`
    rows and a total."""
    used = [c for c in CLASSES if any(r[c] for r in rows.values())]
    order = sorted(rows, key=lambda k: -(rows[k]["LUT"] + rows[k]["CARRY"] + rows[k]["FF_ALONE"]))
    lines = [f"### {title}\n" if title else "",
             "| block | " + " | ".join(used) + " |", "|---|" + "---:|" * len(used)]
    for k in order[:top]:
        lines.append(f"| {k} | " + " | ".join(f"{rows[k][c]:,}" for c in used) + " |")
    if len(order) > top:
        rest = {c: sum(rows[k][c] for k in order[top:]) for c in used}
        lines.append(f"| ({len(order) - top} more) | " + " | ".join(f"{rest[c]:,}" for c in used) + " |")
    total = {c: sum(r[c] for r in rows.values()) for c in used}
    lines.append("| **total** | " + " | ".join(f"**{total[c]:,}**" for c in used) + " |")
    return "\n".join(ln for ln in lines if ln) + "\n"


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.area", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("netlist", type=Path, help="yosys JSON netlist (build/synth/<config>/<target>.json)")
    ap.add_argument("--depth", type=int, default=2, help="hierarchy levels per block (default 2)")
    ap.add_argument("--top", type=int, default=25, help="rows to show (default 25)")
    ap.add_argument("--strip", default="", help="hierarchy prefix to drop (the harness: dut)")
    args = ap.parse_args(argv)
    if not args.netlist.exists():
        ap.error(f"no netlist at {args.netlist}: run `make synth` (or `python -m flow.synth NAME`) first")
    if args.depth < 1:
        ap.error("--depth must be at least 1")
    print(render_area(area_by_block(args.netlist, depth=args.depth, strip=args.strip), top=args.top), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
