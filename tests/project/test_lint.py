"""The lint waivers accept only the constructs they name: real problems still fail `make lint`."""

import pytest

from flow.lint import lint_file, waiver_for
from flow.tools import ensure_verilator_on_path


def test_amaranth_constructs_are_waived():
    assert waiver_for("x", "PROCASSINIT", "Procedural assignment ... 'acc'", "  reg [3:0] acc = 4'h0;")
    assert waiver_for("x", "WIDTHEXPAND", "Operator ADD ...", "  assign \\$4  = $signed(\\$2 ) + $signed(\\$3 );")
    assert waiver_for("x", "CASEINCOMPLETE", "Case values incompletely covered", "    casez (fsm_state)")
    assert waiver_for("x", "WIDTHEXPAND", "Operator ADD expects 20 bits on the RHS, but RHS's SIGNED generates 7 bits.",
                      "  assign es = $signed(ec0) + $signed({ 1'h0, i });")
    assert waiver_for("x", "WIDTHTRUNC", "Logical operator LOGNOT expects 1 bit on the LHS, but LHS's VARREF 'v' "
                      "generates 48 bits.", "  assign zero = ! v;")
    case = "    casez (\\$35 [5:0])"
    block = f"  always @* begin\n    \\$36  = 36'h0;\n{case}\n      6'h00:\n          \\$36  = 36'h1;\n    endcase\n  end"
    assert waiver_for("x", "CASEINCOMPLETE", "Case values incompletely covered", case, "", block)
    # an output without a default before the case may latch: not waived
    latch = block.replace("    \\$36  = 36'h0;\n", "    \\$37  = 1'h0;\n")
    assert waiver_for("x", "CASEINCOMPLETE", "Case values incompletely covered", case, "", latch) is None
    assert waiver_for("x", "CASEOVERLAP", "Case conditions overlap", "    casez ({ a, b })",
                      "  always @* begin\n    (* full_case = 32'd1 *)\n    casez ({ a, b })\n")


@pytest.mark.parametrize("rule,msg,line", [
    ("WIDTHEXPAND", "Operator ADD ...", "  assign total = a + b;"),           # a named signal
    ("UNDRIVEN", "Signal is not driven: 'q'", "  wire q;"),
    ("MULTIDRIVEN", "Signal has multiple driving blocks: 'q'", "  reg q;"),
    ("CASEINCOMPLETE", "Case values incompletely covered", "    casez (opcode)"),
    ("UNUSEDSIGNAL", "Signal is not used: 'data_in'", "  input [7:0] data_in;"),
    # a signed operand beside an unsigned one: Verilog would zero-extend it
    ("WIDTHEXPAND", "Operator ADD expects 20 bits on the RHS, but RHS's SIGNED generates 7 bits.",
     "  assign es = ec0 + $signed(i);"),
    # a case with no default assigned before it (the verilog below has none)
    ("CASEINCOMPLETE", "Case values incompletely covered", "    casez (sel)"),
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
