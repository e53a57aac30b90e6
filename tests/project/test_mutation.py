"""The mutation driver (bench.mutation) on a tiny synthetic project: it must see a kill and a survivor.

`add` is tested exactly (its `+` -> `-` mutant dies), `clamp` only below its bound (its `10` -> `11`
mutant survives although the line runs) and `untested` by nothing (a survivor marked uncovered).
The original files of the project copy are never touched.
"""
from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("mutmut")

from bench.mutation import Group, run  # noqa: E402

MODULE = textwrap.dedent("""\
    def add(a, b):
        return a + b


    def clamp(x):
        return min(x, 10)


    def untested(x):
        return x * 2
""")

TESTS = textwrap.dedent("""\
    from toy.mod import add, clamp


    def test_add():
        assert add(2, 3) == 5


    def test_clamp():
        assert clamp(3) == 3
""")


def test_driver_kills_and_reports_survivors(tmp_path):
    root = tmp_path / "proj"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "__init__.py").write_text("")
    (root / "toy" / "mod.py").write_text(MODULE)
    (root / "tests").mkdir()
    (root / "tests" / "test_mod.py").write_text(TESTS)
    out = tmp_path / "out"

    summary = run({"toy": Group(("toy/mod.py",), ("tests/test_mod.py",))}, root=root, out=out,
                  max_mutants=0, jobs=1, progress=False)

    assert (root / "toy" / "mod.py").read_text() == MODULE          # only the copy was mutated
    g = summary["groups"]["toy"]
    by_line = {}
    for m in g["mutants"]:
        assert {"module", "line", "original", "mutated", "outcome", "diff"} <= m.keys()
        by_line.setdefault(m["line"], []).append(m)
    add = [m for m in by_line[2] if m["mutated"] == "return a - b"]
    assert add and add[0]["outcome"] == "killed" and add[0]["original"] == "return a + b"
    assert any(m["outcome"] == "survived" and m["covered"] and "11" in m["mutated"] for m in by_line[6])
    assert by_line[10] and all(m["outcome"] == "survived" and not m["covered"] for m in by_line[10])
    assert g["error"] == 0 and 0 < g["score"] < 1
    assert g["killed"] + g["timeout"] + g["survived"] == g["sampled"]

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["groups"]["toy"]["score"] == g["score"]
    md = (out / "summary.md").read_text()
    assert "| toy |" in md and "toy/mod.py:10" in md and "-    return x * 2" in md
