"""Command-line entry points reject bad arguments with one line saying what is wrong and what is allowed
(`<prog>: error: ...`, exit status 2), before any build or long run starts, never with a traceback.

Each entry point's main(argv) is driven in-process with the work it would start (Verilog writes,
training, simulation, benches, figures) replaced by a failure, so a check that came too late fails the
test instead of running for minutes.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flow.generate import CONFIG_DIR

ROOT = CONFIG_DIR.parents[1]


def no_work(*args, **kwargs):
    pytest.fail("the entry point started work before rejecting its arguments")


def reject(main, argv, capsys) -> str:
    """Run main(argv); require exit status 2, nothing on stdout and exactly one line on stderr, in
    argparse's `<prog>: error: <message>` form; return that line."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capsys.readouterr()
    assert e.value.code == 2, f"exit status {e.value.code!r}, stderr {err!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert ": error: " in lines[0] and "Traceback" not in err
    assert out == ""
    return lines[0]


# -- flow.generate (make verilog) -----------------------------------------------------------------------

@pytest.fixture
def generate(monkeypatch):
    import flow.generate as g
    monkeypatch.setattr(g, "write_verilog", no_work)
    return g.main


def test_generate_missing_config_file(generate, capsys):
    msg = reject(generate, ["missing.json"], capsys)
    assert msg.startswith("python -m flow.generate: error: missing.json: no such configuration file")
    assert "dot_product_w16_l4.json" in msg                          # what is there instead


def test_generate_malformed_json(generate, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "block": ')
    assert "not valid JSON" in reject(generate, [str(bad)], capsys)
    bad.write_text("[1, 2]")
    assert "expected a JSON object with keys name, block, params, synth" in reject(generate, [str(bad)], capsys)
    bad.write_text('{"block": "dot_product"}')
    assert "missing key(s) name" in reject(generate, [str(bad)], capsys)


def test_generate_unknown_block(generate, capsys):
    msg = reject(generate, ["--block", "nope"], capsys)
    from flow.generate import BLOCKS
    assert "dot_product" in BLOCKS and "sbe_engine" in BLOCKS
    assert f"unknown block 'nope'; known blocks: {', '.join(sorted(BLOCKS))}" in msg


@pytest.mark.parametrize("params,text", [
    (["width=1"], "dot_product: width must be between 2 and 32, not 1"),          # the block's own message
    (["lanes=2.5"], "dot_product: lanes must be an integer, not 2.5"),
    (["bogus=3"], "unknown parameter(s) 'bogus' of block 'dot_product'; its parameters: width, lanes, max_length"),
    (["width"], "--param expects KEY=VALUE, got 'width'"),
])
def test_generate_bad_param(generate, capsys, params, text):
    argv = ["--block", "dot_product"] + [a for p in params for a in ("--param", p)]
    assert text in reject(generate, argv, capsys)


def test_generate_checks_every_config_before_writing_any(monkeypatch, capsys, tmp_path):
    """A bad second configuration stops the run before the first one is written."""
    import flow.generate as g
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "dp", "block": "dot_product", "params": {"width": 99}}))
    good = CONFIG_DIR / "dot_product_w16_l4.json"
    monkeypatch.setattr(g, "write_verilog", no_work)
    assert "dp: width must be between 2 and 32, not 99" in reject(g.main, [str(good), str(bad)], capsys)


def test_generate_as_a_command_prints_no_traceback():
    """`make verilog CONFIG=missing.json` runs exactly this command."""
    res = subprocess.run([sys.executable, "-m", "flow.generate", "missing.json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("python -m flow.generate: error: missing.json: no such configuration file")
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


# -- flow.synth, flow.lint ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nope", "host_top_a8_b12_l1"])      # unknown; known but no synth targets
def test_synth_unknown_configuration(monkeypatch, capsys, name):
    import flow.synth as s
    monkeypatch.setattr(s, "run_target", no_work)
    monkeypatch.setattr(s, "BUILD", None)                              # no summary may be written either
    msg = reject(s.main, [name], capsys)
    assert f"unknown configuration(s) '{name}'; configurations with synth targets: " in msg
    assert "dot_product_w16_l4" in msg and "update_controller_a8_b8" in msg


@pytest.mark.parametrize("value", ["0", "-5"])
def test_synth_rejects_a_pnr_timeout_that_is_not_positive(monkeypatch, capsys, value):
    import flow.synth as s
    monkeypatch.setattr(s, "run_target", no_work)
    monkeypatch.setattr(s, "BUILD", None)
    msg = reject(s.main, ["--pnr-timeout", value], capsys)
    assert "--pnr-timeout must be a positive number of minutes" in msg


@pytest.mark.parametrize("value", ["0", "-2"])
def test_synth_rejects_a_seed_that_is_not_positive(monkeypatch, capsys, value):
    import flow.synth as s
    monkeypatch.setattr(s, "run_target", no_work)
    monkeypatch.setattr(s, "BUILD", None)
    assert "--seed must be a positive integer" in reject(s.main, ["--seed", value], capsys)


def test_lint_takes_no_arguments(monkeypatch, capsys):
    import flow.lint as lint
    monkeypatch.setattr(lint, "lint_file", no_work)
    assert reject(lint.main, ["x"], capsys) == "python -m flow.lint: error: unrecognized arguments: x"


@pytest.mark.parametrize("argv,text", [(["nope.json"], "no netlist at nope.json"),
                                       (["x.json", "--depth", "0"], "--depth must be at least 1")])
def test_area_reports_a_missing_netlist_or_bad_depth(capsys, tmp_path, argv, text):
    import flow.area as area
    if argv[0] == "x.json":
        argv = [str(tmp_path / "x.json")] + argv[1:]
        (tmp_path / "x.json").write_text("{}")
    assert text in reject(area.main, argv, capsys)


def test_readme_table_needs_the_markers(capsys, tmp_path, monkeypatch):
    import flow.readme_table as rt
    monkeypatch.setattr(rt, "load_reports", lambda: [{}])
    readme = tmp_path / "README.md"
    readme.write_text("no table here\n")
    assert "exactly one <!-- synth-table:begin -->" in reject(rt.main, ["--readme", str(readme)], capsys)
    assert readme.read_text() == "no table here\n"


# -- bench -----------------------------------------------------------------------------------------------

def test_bench_unknown_name_stops_before_any_bench(monkeypatch, capsys):
    import bench.__main__ as b
    monkeypatch.setattr(b.importlib, "import_module", no_work)
    msg = reject(b.main, ["controller", "nope"], capsys)
    assert msg == ("python -m bench: error: unknown bench(es) 'nope'; benches: golden_throughput, crossbar, "
                   "engine, controller, yosys_cells, host_link, closed_loop")


def test_bench_engine_rejects_a_misspelt_option(monkeypatch, capsys):
    import bench.engine as e
    monkeypatch.setattr(e, "run", no_work)
    assert "unrecognized arguments: --nosynth" in reject(e.main, ["--nosynth"], capsys)


# -- demo ------------------------------------------------------------------------------------------------

@pytest.fixture
def demo(monkeypatch):
    import demo as d
    monkeypatch.setattr(d, "train", no_work)
    monkeypatch.setattr(d, "run_bench", no_work, raising=False)     # imported lazily before
    return d.main


@pytest.mark.parametrize("argv,text", [
    (["--lanes", "0"], "argument --lanes: lanes must be between 1 and 8, not 0"),
    (["--lanes", "9"], "argument --lanes: lanes must be between 1 and 8, not 9"),
    (["--lanes", "two"], "argument --lanes: expected an integer, got 'two'"),
    (["--epochs", "-1"], "argument --epochs: must be an integer >= 1, not -1"),
    (["--epochs", "0"], "argument --epochs: must be an integer >= 1, not 0"),
    (["--batch", "0"], "argument --batch: must be an integer >= 1, not 0"),
    (["--batch", "5000"], "argument --batch: must be at most 1437 (the training set), not 5000"),
    (["--eta", "0"], "argument --eta: must be a finite number > 0, not 0"),
    (["--eta", "-0.5"], "argument --eta: must be a finite number > 0, not -0.5"),
    (["--eta", "nan"], "argument --eta: must be a finite number > 0, not nan"),
    (["--eta", "inf"], "argument --eta: must be a finite number > 0, not inf"),
    (["--bl", "0"], "argument --bl: must be an integer >= 1, not 0"),
    (["--bl", "4096"], "argument --bl: must be at most 4095 (the controllers' bl register), not 4096"),
    (["--device", "Ideal"], "argument --device: invalid choice: 'Ideal' (choose from 'GokmenVlasov', "),
    (["--sim", "modelsim"], "argument --sim: invalid choice: 'modelsim' (choose from 'icarus', 'verilator')"),
    (["--seed", "-1"], "argument --seed: must be an integer >= 0, not -1"),
    (["--epocs", "2"], "unrecognized arguments: --epocs 2"),
])
def test_demo_rejects_bad_options_before_building(demo, capsys, argv, text):
    msg = reject(demo, argv, capsys)
    assert msg.startswith("python -m demo: error: ") and text in msg


def test_demo_help_describes_every_option(capsys):
    import demo as d
    with pytest.raises(SystemExit) as e:
        d.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--epochs", "--batch", "--eta", "--bl", "--device", "--sim", "--lanes", "--seed", "--analog"):
        assert opt in out
    assert "GokmenVlasov" in out and "default 15 on digits" in out and "--dataset" in out


# -- experiments -----------------------------------------------------------------------------------------

def test_paper_unknown_dataset(capsys):
    from experiments.paper.__main__ import main
    assert reject(main, ["--dataset", "cifar"], capsys) == (
        "python -m experiments.paper: error: argument --dataset: invalid choice: 'cifar' "
        "(choose from 'digits', 'mnist', 'all')")


def test_paper_figure_unknown_dataset(capsys):
    from experiments.paper import fig5_batch_sweep
    msg = reject(fig5_batch_sweep.main, ["--dataset", "cifar"], capsys)
    assert msg.startswith("python -m experiments.paper.fig5_batch_sweep: error: argument --dataset: invalid choice")


def test_paper_checks_every_dataset_before_the_first_figure(monkeypatch, capsys):
    """--dataset all without the MNIST files stops at once, not after the digits figures."""
    import experiments.cli
    from experiments.paper import __main__ as paper, fig1_spectrum, fig3_vector_error, fig4_loss_curves, \
        fig5_batch_sweep

    def load_dataset(name, **kw):
        if name == "mnist":
            raise FileNotFoundError("no t10k-images-idx3-ubyte[.gz] / t10k-labels-idx1-ubyte[.gz] in /nowhere")
    monkeypatch.setattr(experiments.cli, "load_dataset", load_dataset)
    for fig in (fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep):
        monkeypatch.setattr(fig, "main", no_work)
    msg = reject(paper.main, ["--dataset", "all", "--quick"], capsys)
    assert "argument --dataset: mnist is not available: no t10k-images-idx3-ubyte" in msg


def test_accuracy_engine_rejects_a_misspelt_option(monkeypatch, capsys):
    import experiments.accuracy_engine as acc
    monkeypatch.setattr(acc, "run", no_work)
    assert reject(acc.main, ["--quik"], capsys) == \
        "python -m experiments.accuracy_engine: error: unrecognized arguments: --quik"


@pytest.mark.parametrize("args,msg", [
    (["--engine", "coef_width=30"], "--engine: coef_width must be between 8 and 25, not 30"),
    (["--engine", "colour=3"], "--engine: EngineConfig.__init__() got an unexpected keyword argument 'colour'"),
    (["--engine", "coef_width"], "--engine takes KEY=INTEGER items, not 'coef_width'"),
    (["--widths", "20"], "--widths: input widths are 2..16, not 20"),
])
def test_accuracy_engine_rejects_a_bad_candidate_format(monkeypatch, capsys, args, msg):
    import experiments.accuracy_engine as acc
    monkeypatch.setattr(acc, "run", no_work)
    assert reject(acc.main, args, capsys) == "python -m experiments.accuracy_engine: error: " + msg


def test_accuracy_engine_applies_the_candidate_format(monkeypatch):
    import experiments.accuracy_engine as acc
    seen = {}

    def run(quick, widths):
        seen["cfg"], seen["widths"] = acc.fixed(3, 4, in_width=12).engine.cfg, widths
        return {}
    monkeypatch.setattr(acc, "run", run)
    monkeypatch.setattr(acc, "ENGINE_OVERRIDES", {})
    out = acc.main(["--widths", "12", "--engine", "coef_width=16", "mant_width=17"])
    assert out == {"engine_overrides": {"coef_width": 16, "mant_width": 17}}
    cfg = seen["cfg"]
    assert (cfg.coef_width, cfg.mant_width, cfg.in_width, cfg.state_width) == (16, 17, 12, 24)
    assert seen["widths"] == (12,)
