"""The lint waivers accept only the constructs they name: real problems still fail `make lint`."""

import pytest

from flow.lint import lint_file, waiver_for
from flow.tools import ensure_verilator_on_path


def test_amaranth_constructs_are_waived():
    assert waiver_for("x", "PROCASSINIT", "Procedural assignment ... 'acc'", "  reg [3:0] acc = 4'h0;")
    assert waiver_for("x", "WIDTHEXPAND", "Operator ADD ...", "  assign \\$4  = $signed(\\$2 ) + $signed(\\$3 );")
    assert waiver_for("x", "CASEINCOMPLETE", "Case values incompletely covered", "    casez (fsm_state)")


@pytest.mark.parametrize("rule,msg,line", [
    ("WIDTHEXPAND", "Operator ADD ...", "  assign total = a + b;"),           # a named signal
    ("UNDRIVEN", "Signal is not driven: 'q'", "  wire q;"),
    ("MULTIDRIVEN", "Signal has multiple driving blocks: 'q'", "  reg q;"),
    ("CASEINCOMPLETE", "Case values incompletely covered", "    casez (opcode)"),
    ("UNUSEDSIGNAL", "Signal is not used: 'data_in'", "  input [7:0] data_in;"),
])
def test_real_problems_are_not_waived(rule, msg, line):
    verilog = "module m(input [7:0] data_in);\n  wire q;\nendmodule\n"
    assert waiver_for("dot_product", rule, msg, line, verilog) is None


def test_lint_reports_an_undriven_output(tmp_path):
    ensure_verilator_on_path()
    v = tmp_path / "bad.v"
    v.write_text("module bad(input clk, output [3:0] q);\n  wire [3:0] w;\n  assign q = w;\nendmodule\n")
    bad, _ = lint_file("bad", v)
    assert any("UNDRIVEN" in t for t in bad)
