"""`make formal` (flow/formal.py): the SymbiYosys flow proves, and it can fail.

A short run: the cheapest proof (the controller's serial-output proof at a small depth) must PASS, and
the same controller with a deliberately false assertion must FAIL with that assertion named, so a
passing `make formal` means something. The full proofs and depths run with `make formal`.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from flow import formal
from flow.formal_props import ControllerProps

pytestmark = pytest.mark.skipif(
    not (shutil.which("yowasp-sby", path=str(Path(sys.executable).parent)) or shutil.which("yowasp-sby")),
    reason="YoWASP SymbiYosys not installed (make setup)")


def test_cheapest_proof_passes(tmp_path):
    r = formal.run_proof("controller_serial", ControllerProps(serial_width=3), mode="bmc", depth=12,
                         root=tmp_path)
    assert r["status"] == "PASS", (tmp_path / "controller_serial" / "sby.log").read_text()[-3000:]


def test_a_wrong_assertion_fails(tmp_path):
    """No longest update (2*(2**bl_width-1) slots) ever ends: false, and found within the proof's depth."""
    r = formal.run_proof("wrong", ControllerProps(serial_width=0, wrong=True), mode="bmc",
                         depth=formal.PROOFS["controller_parallel"].depth, root=tmp_path)
    assert r["status"] == "FAIL"
    assert any("deliberately false" in f for f in r["failures"]), r
    assert r.get("traces"), "a failed proof leaves its counterexample trace"


def test_cli_runs_a_named_proof_and_writes_the_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(formal, "FORMAL", tmp_path / "formal")
    assert formal.main(["controller_serial", "--depth", "6"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("PASS") and "controller_serial" in out
    summary = json.loads((tmp_path / "formal" / "summary.json").read_text())
    assert summary["controller_serial"]["status"] == "PASS" and summary["controller_serial"]["depth"] == 6


@pytest.mark.parametrize("argv,msg", [(["no_such_proof"], "unknown proof"), (["--depth", "0"], "--depth")])
def test_cli_rejects_bad_arguments(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        formal.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m flow.formal: error:") and msg in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("name", sorted(formal.PROOFS))
def test_every_proof_wrapper_elaborates(name):
    """Each proof's wrapper still matches the design it wraps (ports, stages, formats): it elaborates and
    converts to RTLIL. Without a solver, so a change to a block that breaks its proof shows in `make
    test`, not only in `make formal` (the lane proof's wrapper once named lane ports that had gone)."""
    from amaranth.back import rtlil
    text = rtlil.convert(formal.PROOFS[name].make())
    assert "$assert" in text or "$check" in text, f"{name}: no assertion reached the netlist"
