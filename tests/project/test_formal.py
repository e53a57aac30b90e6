"""`make formal` (flow/formal.py): the SymbiYosys flow proves, and it can fail.

A short run: the cheapest proof (the controller's serial-output proof at a small depth) must PASS, and
the same controller with a deliberately false assertion must FAIL with that assertion named, so a
passing `make formal` means something. The engine's stream proof (k-induction, with the output FIFO's
invariants) passes at depth 1; the output FIFO's proof FAILs on mutant copies of the FIFO, and the
engine's does not pass with one, nor with the FIFO one word short (a dropped read-out word). The full proofs and depths run with `make formal`.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from flow import formal
from flow.formal_props import ControllerProps, EngineStreamProps, OutFIFOProps
from hdl.engine import out_fifo

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


def _mutant(module, old: str, new: str) -> dict:
    """The namespace of a copy of `module` with one deliberate bug (`old` -> `new`, on one line: the source
    locations stay right)."""
    src = Path(module.__file__).read_text()
    assert src.count(old) == 1, f"{module.__name__} no longer has {old!r}: update the mutant"
    ns = {"__name__": f"{module.__name__}_mutant"}
    exec(compile(src.replace(old, new), module.__file__, "exec"), ns)
    return ns


def _mutant_out_fifo(monkeypatch, old: str, new: str) -> None:
    """hdl/engine/out_fifo.py with one deliberate bug (_mutant), used by the FIFO proof's wrapper and the
    engine's datapath."""
    ns = _mutant(out_fifo, old, new)
    import flow.formal_props.out_fifo as props
    import hdl.engine.vector_datapath as vdp
    monkeypatch.setattr(props, "OutFIFO", ns["OutFIFO"])
    monkeypatch.setattr(vdp, "OutFIFO", ns["OutFIFO"])


#: (old, new, the assertions of which one must fail: the solver reports the first it finds)
STALL_READ = ("do_read.eq((level != 0) & (~self.r_rdy | self.r_en))", "do_read.eq(level != 0)",
              ("r_data changed while stalled", "level is not the words written minus the words read"))
OVERFLOW = ("self.w_rdy.eq(level != inner)", "self.w_rdy.eq(level != inner + 1)",
            ("buffer level above its depth", "pointers disagree with the level", "more words held than the depth"))


@pytest.mark.parametrize("old,new,msgs", [STALL_READ, OVERFLOW], ids=["stall_read", "overflow"])
def test_out_fifo_proof_fails_on_a_mutant(old, new, msgs, tmp_path, monkeypatch):
    """Reading into the stalled output stage (overwrites the word on r_data, loses it) and writing into a
    full buffer: each FAILs from reset within the proof's depth (a counterexample, not UNKNOWN)."""
    _mutant_out_fifo(monkeypatch, old, new)
    p = formal.PROOFS["out_fifo"]
    r = formal.run_proof("out_fifo_mutant", OutFIFOProps(), mode=p.mode, depth=p.depth, root=tmp_path)
    assert r["status"] == "FAIL", r
    assert any(msg in f for f in r["failures"] for msg in msgs), r


def test_engine_stream_proof_passes_at_depth_1(tmp_path):
    """The engine's stream rules with the output FIFO's invariants are 1-inductive (issue 9: without the
    invariants the induction step failed from an unreachable FIFO state, UNKNOWN even at depth 8)."""
    r = formal.run_proof("engine_stream", EngineStreamProps(), mode="prove", depth=1, root=tmp_path)
    assert r["status"] == "PASS", (tmp_path / "engine_stream" / "sby.log").read_text()[-3000:]


def test_engine_stream_proof_does_not_pass_a_mutant_fifo(tmp_path, monkeypatch):
    """The engine with a FIFO that reads into its stalled output stage: the proof (at the depth the real
    FIFO passes with) must not pass. It is UNKNOWN, not FAIL: the first read-out is ~190 cycles from reset
    (init, a sample, the scalar unit's CHAIN and FINAL), far past a bounded check of the whole engine; the
    induction step's counterexample is the payload rule or the credit accounting, which counts the
    overwritten word (the FIFO proof above shows the same bug as a FAIL from reset)."""
    _mutant_out_fifo(monkeypatch, *STALL_READ[:2])
    r = formal.run_proof("engine_stream_mutant", EngineStreamProps(), mode="prove", depth=1, root=tmp_path)
    assert r["status"] == "UNKNOWN", r
    assert any(msg in f for f in r["failures"]                 # the word overwritten, or lost from the count
               for msg in ("payload changed while stalled", "owed is not the read-out words held")), r


def test_engine_stream_proof_finds_the_dropped_read_out_word(tmp_path, monkeypatch):
    """The output FIFO one word short (OUT_DEPTH - 1): after the consumer takes a word of a full output,
    the next credited word meets a full FIFO. The proof must not
    pass, and name the dropped word (UNKNOWN: the induction step's counterexample; the state is ~200
    cycles from reset, tests/amaranth_sim/test_engine_contracts.py drives it in simulation)."""
    import hdl.engine.vector_datapath as vdp
    monkeypatch.setattr(vdp, "OutFIFO", lambda width, depth, **kw: out_fifo.OutFIFO(width, depth - 1, **kw))
    r = formal.run_proof("engine_stream_short_fifo", EngineStreamProps(a=10, b=8), mode="prove", depth=1,
                         root=tmp_path)
    assert r["status"] == "UNKNOWN", r
    assert any("read-out word dropped" in f for f in r["failures"]), r


def test_engine_stream_compact_proof_passes(tmp_path):
    """The iCE40 builds' forms (SBEEngine compact: the issue stage's short paths, whose next-state terms
    by outcome and diff's next values as logic are invariants against their expressions) prove like the
    default engine."""
    r = formal.run_proof("engine_stream_compact", EngineStreamProps(compact=True), mode="prove", depth=1,
                         root=tmp_path)
    assert r["status"] == "PASS", (tmp_path / "engine_stream_compact" / "sby.log").read_text()[-3000:]


def test_engine_stream_compact_proof_does_not_pass_a_mutant_diff(tmp_path, monkeypatch):
    """diff's next value after a sample's end as logic (IssueStage short_paths) with the increment taken
    also when a CHAIN ends in the same cycle (the two cancel): the simulations never meet that cycle, the
    proof must not pass, and it names the invariant."""
    from hdl.engine import issue_stage, sbe_engine
    ns = _mutant(issue_stage, "up, down = self.word_inc & ~pg_inc, pg_inc & ~self.word_inc",
                 "up, down = self.word_inc, pg_inc & ~self.word_inc")
    monkeypatch.setattr(sbe_engine, "IssueStage", ns["IssueStage"])
    r = formal.run_proof("engine_stream_compact_mutant", EngineStreamProps(compact=True), mode="prove", depth=1,
                         root=tmp_path)
    assert r["status"] != "PASS", r
    assert any("diff's next value after a sample's end" in f for f in r["failures"]), r
