"""`make readme-table`: the README's place-and-route table, from the reports of `make synth` and
`make bitstream`.

The table sits in README.md between the markers
    <!-- synth-table:begin -->  and  <!-- synth-table:end -->
and has the columns of build/synth/summary.md (flow/synth.py render_markdown) plus the date each row was
measured. Rows are keyed by (config, target): every entry of build/synth/summary.json and of
build/bitstream/<board>/summary.json replaces the README row with the same key, and README rows that the
reports do not mention are kept as they are (each row keeps its own date), so a run of one configuration
updates one row. Entries of an older summary without a verdict are skipped.

    python -m flow.readme_table [--readme README.md] [--check]
        --check   exit 1 if the README's table would change (nothing is written)
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from contract.checks import CliParser
from flow.synth import COLUMNS, render_markdown
from flow.verilog_out import BUILD

BEGIN, END = "<!-- synth-table:begin -->", "<!-- synth-table:end -->"
HEADER = COLUMNS + ("measured",)


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (escaped pipes kept)."""
    parts, cur, esc = [], "", False
    for ch in line.strip().strip("|"):
        if ch == "|" and not esc:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
        esc = ch == "\\"
    parts.append(cur.strip())
    return parts


def parse_table(block: str) -> dict[tuple[str, str], list[str]]:
    """{(config, target): cells} of a table rendered by render_table."""
    rows = {}
    for line in block.splitlines():
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| config |"):
            continue
        cells = _cells(line)
        if len(cells) == len(HEADER):
            rows[(cells[0], cells[1])] = cells
    return rows


def rows_from_summary(summary: dict) -> dict[tuple[str, str], list[str]]:
    """The rows of a summary.json ({config: {target: entry}}), rendered as in summary.md, with the date."""
    rows = {}
    for name, targets in summary.items():
        for target, e in targets.items():
            if "verdict" not in e:
                continue
            line = render_markdown({name: {target: e}}).splitlines()[2]
            rows[(name, target)] = _cells(line) + [e.get("date", "–")]
    return rows


def render_table(rows: dict[tuple[str, str], list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for _, cells in sorted(rows.items())]
    return "\n".join(lines) + "\n"


def update_readme(text: str, reports: list[dict]) -> str:
    """README text with its table merged with the reports' rows (ValueError without the markers)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"README needs exactly one {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN)
    block, tail = rest.split(END)
    rows = parse_table(block)
    for summary in reports:
        rows.update(rows_from_summary(summary))
    return head + BEGIN + "\n" + render_table(rows) + END + tail


def load_reports(build: Path = BUILD) -> list[dict]:
    """build/synth/summary.json and every build/bitstream/<board>/summary.json that exist. An entry
    written before entries carried their date gets the date of its run's files."""
    files = [f for f in [build / "synth" / "summary.json", *sorted((build / "bitstream").glob("*/summary.json"))]
             if f.exists()]
    reports = []
    for f in files:
        summary = json.loads(f.read_text())
        for name, targets in summary.items():
            for target, e in targets.items():
                # the run's own files: its place-and-route report or log, else the summary itself
                own = [f.parent / name / f"{target}.{x}" for x in ("rpt.json", "pnr.log")] if f.parent.name == "synth" \
                    else [f.parent / "pnr.log"]
                when = next((p for p in own if p.exists()), f)
                e.setdefault("date", datetime.date.fromtimestamp(when.stat().st_mtime).isoformat())
        reports.append(summary)
    return reports


def main(argv=None) -> int:
    ap = CliParser(prog="python -m flow.readme_table", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readme", type=Path, default=Path("README.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 if the table would change; write nothing")
    args = ap.parse_args(argv)
    if not args.readme.exists():
        ap.error(f"no README at {args.readme}")
    reports = load_reports()
    if not reports:
        ap.error(f"no reports under {BUILD}: run `make synth` or `make bitstream BOARD=...` first")
    text = args.readme.read_text()
    try:
        new = update_readme(text, reports)
    except ValueError as e:
        ap.error(str(e))
    if args.check:
        print("README table is up to date" if new == text else "README table is out of date")
        return 0 if new == text else 1
    args.readme.write_text(new)
    n = len(parse_table(new.split(BEGIN)[1].split(END)[0]))
    print(f"{args.readme}: hardware table with {n} rows from {len(reports)} report(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
