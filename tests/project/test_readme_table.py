"""flow/readme_table.py: the README's place-and-route table is made from the synth/bitstream reports,
merged row by row (config, target), and the committed README holds a table it can parse."""
from __future__ import annotations

from pathlib import Path

import pytest

from flow.readme_table import BEGIN, END, HEADER, parse_table, render_table, rows_from_summary, update_readme
from flow.synth import entry_from_report

ROOT = Path(__file__).resolve().parents[2]


def _entry(fmax, lc, date):
    rpt = {"utilization": {"ICESTORM_LC": {"used": lc, "available": 5280}},
           "fmax": {"clk": {"achieved": fmax, "constraint": 48.0}}}
    e = entry_from_report(rpt, 48, "ice40")
    e["date"] = date
    return e


def test_rows_are_merged_by_config_and_target():
    old = {"a": {"ice40": _entry(40.0, 1000, "2026-01-01")}, "b": {"ice40": _entry(50.0, 900, "2026-01-01")}}
    text = f"intro\n{BEGIN}\n{END}\noutro\n"
    text = update_readme(text, [old])
    rows = parse_table(text.split(BEGIN)[1].split(END)[0])
    assert set(rows) == {("a", "ice40"), ("b", "ice40")}
    assert rows[("a", "ice40")][HEADER.index("verdict")] == "**misses timing**"
    # a later run of "a" only: its row changes, b's row stays as it was (with its own date)
    new = update_readme(text, [{"a": {"ice40": _entry(61.5, 1100, "2026-02-02")}}])
    rows2 = parse_table(new.split(BEGIN)[1].split(END)[0])
    assert rows2[("b", "ice40")] == rows[("b", "ice40")]
    a = rows2[("a", "ice40")]
    assert a[HEADER.index("Fmax MHz")] == "61.50" and a[HEADER.index("measured")] == "2026-02-02"
    assert a[HEADER.index("verdict")] == "meets" and a[HEADER.index("LUT/LC")] == "1100/5280"
    assert new.startswith("intro\n") and new.endswith(f"{END}\noutro\n")


def test_entries_without_a_verdict_are_skipped():
    assert rows_from_summary({"old": {"ecp5": {"fmax_mhz": 3.0}}}) == {}


@pytest.mark.parametrize("text", ["no markers", f"{BEGIN}\n{BEGIN}\n{END}", f"{END}\n{BEGIN}"])
def test_readme_without_one_marker_pair_is_rejected(text):
    with pytest.raises(ValueError, match="exactly one"):
        update_readme(text, [])


def test_committed_readme_holds_a_parsable_table():
    text = (ROOT / "README.md").read_text()
    block = text.split(BEGIN)[1].split(END)[0]
    rows = parse_table(block)
    assert rows, "the README's hardware table is empty"
    assert render_table(rows) == block.lstrip("\n")        # the table is exactly what the tool writes
