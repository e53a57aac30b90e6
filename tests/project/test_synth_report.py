"""`make synth` reporting: a nextpnr --report dict becomes a summary entry (resources used/available,
Fmax against the goal, verdict, critical path) and the summary a Markdown table. Pure functions on
small hand-written reports; plus one Yosys-only smoke check (no nextpnr) of a small configuration.
"""
from __future__ import annotations

from pathlib import Path

from flow.synth import (RESOURCES, VERDICTS, entry_from_report, goal_of, render_markdown, synth_params,
                        utilisation_from_log)


def step(cell, port, delay, **extra):
    return {"from": {"cell": "?", "port": "?"}, "to": {"cell": cell, "port": port}, "delay": delay, **extra}


def path(frm, to, steps):
    steps = [dict(s) for s in steps]
    steps[0]["from"] = {"cell": steps[0].pop("start"), "port": "Q"}
    return {"from": frm, "to": to, "path": steps}


CLK = "posedge clk"
ICE40_OK = {
    "utilization": {"ICESTORM_LC": {"used": 500, "available": 5280},
                    "ICESTORM_DSP": {"used": 2, "available": 8},
                    "ICESTORM_RAM": {"used": 0, "available": 30},
                    "ICESTORM_SPRAM": {"used": 1, "available": 4},
                    "SB_IO": {"used": 5, "available": 39}},
    "fmax": {"clk": {"achieved": 61.234, "constraint": 48.0}},
    "critical_paths": [
        path("<async>", CLK, [dict(step("dut.x_SB_DFFESR_Q", "D", 30.0), start="rst$sb_io")]),   # not clocked
        path(CLK, CLK, [dict(step("dut.acc_SB_LUT4_O_LC", "I2", 5.0), start="dut.ku_SB_DFFESR_Q_4_LC"),
                        step("dut.sum_SB_DFFESR_Q_1_DFFLC", "D", 10.0)]),
        path(CLK, CLK, [dict(step("dut.b", "D", 3.0), start="dut.a")]),
    ],
}


def test_ice40_meets_goal():
    e = entry_from_report(ICE40_OK, 48, "ice40", yosys_cells={"SB_LUT4": 400, "SB_DFFESR": 90, "SB_DFF": 10})
    assert e["verdict"] == "meets" and e["fmax_mhz"] == 61.23 and e["goal_mhz"] == 48
    r = e["resources"]
    assert r["LUT"] == {"used": 500, "available": 5280}
    assert r["FF"] == {"used": 100, "available": 5280}              # from Yosys's SB_DFF* cells
    assert r["DSP"] == {"used": 2, "available": 8} and r["BRAM"] == {"used": 0, "available": 30}
    assert r["SPRAM"] == {"used": 1, "available": 4}
    cp = e["critical_path"]                                           # the longest clocked path
    assert (cp["from"], cp["to"], cp["from_clock"], cp["to_clock"]) == \
        ("dut.ku_SB_DFFESR_Q_4_LC", "dut.sum_SB_DFFESR_Q_1_DFFLC", CLK, CLK)
    assert cp["delay_ns"] == 15.0
    assert "error" not in e and "over" not in e


def test_missed_timing_is_reported():
    e = entry_from_report(ICE40_OK, 100, "ice40")
    assert e["verdict"] == "misses timing" and e["fmax_mhz"] == 61.23 and e["goal_mhz"] == 100
    assert e["resources"]["FF"] is None                               # no Yosys counts given


def test_worst_clock_decides():
    rpt = dict(ICE40_OK, fmax={"a": {"achieved": 200.0}, "b": {"achieved": 40.0}})
    assert entry_from_report(rpt, 48, "ice40")["verdict"] == "misses timing"


def test_not_fitting_from_report_and_from_error():
    over = {"utilization": {"TRELLIS_COMB": {"used": 30000, "available": 24288},
                            "TRELLIS_FF": {"used": 100, "available": 24288},
                            "DP16KD": {"used": 60, "available": 56},
                            "MULT18X18D": {"used": 0, "available": 28}},
            "fmax": {"clk": {"achieved": 150.0}}}
    e = entry_from_report(over, 100, "ecp5")
    assert e["verdict"] == "does not fit" and e["over"] == ["DP16KD", "TRELLIS_COMB"]
    assert e["resources"]["BRAM"] == {"used": 60, "available": 56} and e["resources"]["SPRAM"] is None
    assert e["critical_path"] is None                                 # absent in the report: null
    failed = entry_from_report({}, 100, "ecp5", error="ERROR: Unable to place cell", yosys_cells={"LUT4": 1})
    assert failed["verdict"] == "does not fit" and failed["error"].startswith("ERROR")
    assert failed["fmax_mhz"] is None and failed["resources"]["LUT"] is None


def test_utilisation_from_failed_log():
    log = ("Info: Device utilisation:\nInfo: \t         ICESTORM_LC:    6000/   5280   113%\n"
           "Info: \t        ICESTORM_RAM:       0/     30     0%\n\nInfo: Placed 5 cells\n")
    util = utilisation_from_log(log)
    assert util == {"ICESTORM_LC": {"used": 6000, "available": 5280},
                    "ICESTORM_RAM": {"used": 0, "available": 30}}
    assert entry_from_report({"utilization": util}, 48, "ice40", error="ERROR: x")["over"] == ["ICESTORM_LC"]


def test_markdown_table():
    summary = {"small": {"ice40": entry_from_report(ICE40_OK, 48, "ice40", yosys_cells={"SB_DFF": 7}),
                         "ecp5": entry_from_report({}, 100, "ecp5", error="ERROR: no fit")},
               "slow": {"ice40": entry_from_report(ICE40_OK, 100, "ice40")}}
    lines = render_markdown(summary).splitlines()
    assert lines[0].startswith("| config | target | LUT/LC | FF | DSP | BRAM | SPRAM | Fmax MHz | goal MHz |")
    assert set(lines[1]) <= set("|-") and len(lines) == 5
    assert all(ln.count("|") == lines[0].count("|") for ln in lines)
    small_ice40, small_ecp5, slow = lines[2:]
    assert small_ice40.startswith("| small | ice40 | 500/5280 | 7/5280 | 2/8 | 0/30 | 1/4 | 61.23 | 48 | meets |")
    assert "dut.ku -> dut.sum" in small_ice40                          # Yosys suffixes cut
    assert "**does not fit**" in small_ecp5 and "| – |" in small_ecp5
    assert "**misses timing**" in slow and "| 100 |" in slow


def test_goals():
    assert goal_of({"name": "x"}, "ice40") == 48 and goal_of({"name": "x"}, "ecp5") == 100
    assert goal_of({"goals": {"ecp5": 125}}, "ecp5") == 125 and goal_of({"goals": {"ecp5": 125}}, "ice40") == 48
    assert set(RESOURCES) == {"ice40", "ecp5"} and len(VERDICTS) == 3


def test_yosys_smoke(tmp_path):
    """Yosys alone (no nextpnr) maps a small configuration to iCE40 LUTs."""
    from flow.yosys import synth_cells
    from hdl.controller.update_controller import UpdateController
    cells = synth_cells(UpdateController(a=2, b=2), "ice40", tmp_path)
    assert cells.get("SB_LUT4", 0) > 0


def test_a_place_and_route_past_its_timeout_is_stopped(tmp_path):
    """run_tool stops a tool that runs past its time (a router that does not converge) and says so."""
    import sys
    from flow.synth import run_tool
    code, _ = run_tool([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, 1 / 60)
    assert code is None
    code, err = run_tool([sys.executable, "-c", "import sys; sys.exit('boom')"], tmp_path, 1)
    assert code == 1 and "boom" in err


def test_placer_estimate_is_the_latest_in_the_log():
    from flow.synth import placer_estimate_mhz
    log = ("Info: Max frequency for clock '$glbnet$clk': 25.58 MHz (FAIL at 100.00 MHz)\n"
           "Info: Max frequency for clock '$glbnet$clk': 31.07 MHz (FAIL at 100.00 MHz)\n")
    assert placer_estimate_mhz(log) == 31.07
    assert placer_estimate_mhz("Info: nothing\n") is None


def test_synth_params_give_the_target_dsp():
    """A block with a `dsp` (or `fabric`) parameter gets the target's, unless its configuration sets it;
    others unchanged."""
    ctrl = {"name": "c", "block": "update_controller", "params": {"a": 8, "b": 8}}
    assert synth_params(ctrl, "ecp5") == {"a": 8, "b": 8, "dsp": "ecp5", "fabric": "generic"}
    assert synth_params(ctrl, "ice40") == {"a": 8, "b": 8, "dsp": "generic", "fabric": "ice40"}
    assert ctrl["params"] == {"a": 8, "b": 8}                           # not changed in place
    own = dict(ctrl, params={"a": 8, "b": 8, "dsp": "generic", "fabric": "generic"})
    assert synth_params(own, "ecp5")["dsp"] == "generic" and synth_params(own, "ice40")["fabric"] == "generic"
    dp = {"name": "d", "block": "dot_product", "params": {"width": 16}}
    assert synth_params(dp, "ecp5") == {"width": 16}


def test_seed_spread_places_each_seed_and_takes_the_median(tmp_path, monkeypatch):
    """--spread: the same netlist at the seeds after the first, two at a time, each Fmax read from its own
    nextpnr log (a failed run is None, left out of the median); the console line and the summary's Seed
    spread section show them. nextpnr is replaced by a fake that writes a log per seed."""
    import flow.synth as synth
    fmax = {2: 47.5, 3: None, 4: 49.25}
    calls = []

    def fake_run_tool(cmd, cwd, timeout_min):
        seed = int(cmd[cmd.index("--seed") + 1])
        calls.append(seed)
        assert cmd[cmd.index("--json") + 1] == "ice40.json" and "--report" not in cmd
        if fmax[seed] is None:
            return 1, "ERROR: failed to route"
        log = Path(cwd) / cmd[cmd.index("--log") + 1]
        log.write_text(f"Info: Max frequency for clock 'clk': 10.00 MHz (FAIL at 48.00 MHz)\n"
                       f"Info: Max frequency for clock 'clk': {fmax[seed]:.2f} MHz (PASS at 48.00 MHz)\n")
        return 0, ""
    monkeypatch.setattr(synth, "run_tool", fake_run_tool)
    by_seed = synth.seed_spread(tmp_path, "ice40", 48, [2, 3, 4], 1)
    assert by_seed == fmax and sorted(calls) == [2, 3, 4]
    e = {"fmax_mhz": 46.0, "goal_mhz": 48, "verdict": "misses timing", "resources": {},
         "fmax_by_seed": {"1": 46.0, **{str(k): v for k, v in by_seed.items()}}, "fmax_median": 47.5}
    assert "(seeds 1-4: median 47.50, 46.00-49.25 MHz)" in synth.console_line("cfg", "ice40", e)
    md = synth.render_spread({"cfg": {"ice40": e}, "other": {"ecp5": {"fmax_mhz": 100.0}}})
    assert "## Seed spread" in md and "cfg on ice40: median 47.50 MHz (goal 48)" in md and "3: –" in md
    assert "other" not in md and synth.render_spread({"other": {"ecp5": {}}}) == ""


def test_spread_must_be_positive(capsys):
    import pytest
    import flow.synth as synth
    with pytest.raises(SystemExit):
        synth.main(["--spread", "0"])
    assert "--spread must be a positive integer" in capsys.readouterr().err
