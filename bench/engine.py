"""`make bench` entry for the SBE engine (hdl/engine/sbe_engine.py): measured cycles against the streaming bound,
state bits against an a*b MBGD accumulator, simulator speed, Yosys cell counts.

Throughput is measured, not computed: the cocotb bench (tb/benches/sbe_engine_tb.py) runs the generated Verilog
of the a=100, b=784 engine on one batch of 32 random samples with no gaps and no back-pressure, and
counts clock cycles from the first accepted input beat to the last output beat (read-out included);
every output word is still compared with the golden model. Bound: 32 * ceil((a+b)/L).

    python -m bench engine                 (or: python -m bench.engine [--no-synth])
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contract import microcode as P
from contract import microcode_schedule as S
from contract.engine_config import EngineConfig
from contract.checks import CliParser

A, B, N = 100, 784, 32


#: The place-and-route configuration of the L=1 engine (its ALU latency is the one that reaches the clock).
SYNTH_L1 = Path(__file__).resolve().parents[1] / "flow" / "configs" / "sbe_engine_a100_b784_l1.json"
SYNTH_L4 = SYNTH_L1.with_name("sbe_engine_a100_b784_l4.json")
#: Batches of a streamed run: the period settles by the third (the second still carries the first's start).
STREAM_BATCHES = 3


def _sim(sim: str, lanes: int, batches=((N, "random"),), a: int = A, b: int = B, alu_latency: int | None = None,
         stream: int = 0) -> dict:
    """One bench run; stream > 0 sends that many batches of N back to back instead (the next batch's
    samples overlap the read-out; the last batch's period is the steady state)."""
    from hdl.engine.sbe_engine import SBEEngine
    from tb.runner import run_bench
    cfg = dict(a=a, b=b, lanes=lanes) | ({} if alu_latency is None else {"alu_latency": alu_latency})
    segments = ([{"stream": [[N, "random"]] * stream}] if stream else [{"batches": [list(b) for b in batches]}])
    res = Path(tempfile.mkdtemp()) / "res.json"
    t0 = time.perf_counter()
    run_bench(sim, SBEEngine(**cfg), toplevel="sbe_engine", module="sbe_engine_tb",
              build_name=f"bench_engine_a{a}_b{b}_l{lanes}" + ("" if alu_latency is None else f"_lat{alu_latency}"),
              params={"cfg": cfg, "seed": 3, "p_gap": 0, "p_stall": 0, "segments": segments, "results": str(res)})
    out = json.loads(res.read_text())
    out["build_and_run_s"] = time.perf_counter() - t0
    return out


def state_bits(cfg: EngineConfig) -> dict:
    L = cfg.lanes
    words = math.ceil(cfg.a / L) + math.ceil(cfg.b / L)
    vec_state = words * L * cfg.state_width
    scalar = P.NREGS * (cfg.mant_width + cfg.fexp_width)
    buf = 3 * words * L * cfg.in_width
    acc = cfg.a * cfg.b * cfg.state_width
    return {"vector_state_bits": vec_state, "scalar_register_bits": scalar, "sample_buffer_bits": buf,
            "mbgd_accumulator_bits_same_word": acc,
            "ratio_state_vs_mbgd": (vec_state + scalar) / acc,
            "ratio_state_and_buffer_vs_mbgd": (vec_state + scalar + buf) / acc}


def yosys_cells(lanes: int = 1, timeout: int = 900) -> dict:
    """Cell counts of the a=100, b=784 engine from Yosys synth_ice40 -dsp and synth_ecp5 (flow/yosys.py)."""
    from flow.verilog_out import BUILD
    from flow.yosys import synth_cells
    from hdl.engine.sbe_engine import SBEEngine
    out = {}
    for target in ("ice40", "ecp5"):
        try:
            out[target] = synth_cells(SBEEngine(a=A, b=B, lanes=lanes), target,
                                      BUILD / "bench_cells" / f"sbe_engine_a{A}_b{B}_l{lanes}" / target, timeout=timeout)
        except (subprocess.SubprocessError, OSError) as e:
            out[target] = f"failed: {type(e).__name__}"
    return out


def _entry(r: dict, a: int, b: int, lanes: int, alu_latency: int | None = None) -> dict:
    cyc = r["batches"][-1]["cycles"]          # a single batch, or a stream's steady-state period
    stream = N * math.ceil((a + b) / lanes)
    # the scheduled CHAIN at the engine's ALU latency (contract/microcode_schedule.py)
    lat = EngineConfig(a=a, b=b).alu_latency if alu_latency is None else alu_latency
    chain = N * max(math.ceil((a + b) / lanes), S.segment_lengths(lat)["CHAIN"])
    return {"cycles_per_batch": cyc, "streaming_bound": stream, "ratio": cyc / stream,
            "bound_with_scalar_chain": chain, "ratio_vs_chain_bound": cyc / chain,
            "cycles_per_sample": cyc / N, "bound_per_sample": stream / N}


def run(synth: bool | None = None, lanes8: bool | None = None) -> dict:
    """a=100, b=784 at L=1 and L=4 on Verilator, L=4 also on Icarus (the simulator speed ratio), L=1 and
    L=4 also at the ALU latency of their place-and-route configurations (flow/configs/sbe_engine_a100_b784_l*.json),
    one batch and STREAM_BATCHES batches back to back (the steady-state period per batch); the
    digits layers 32x65 and 10x33 at L=1, whose samples are shorter than the scalar chain (the scheduled
    CHAIN's cycles), so the chain is their bound. lanes8 (default on; BENCH_L8=0 in the environment
    leaves it out) adds L=8 on Verilator, whose samples (111 beats) are shorter than the CHAIN at the
    default ALU latency; synth (default:
    BENCH_SYNTH=1) adds the Yosys cell counts of the L=1 engine."""
    cfg1, cfg4 = EngineConfig(a=A, b=B, lanes=1), EngineConfig(a=A, b=B, lanes=4)
    lat = cfg1.alu_latency
    seg = S.segment_lengths(lat)
    result = {"config": {"a": A, "b": B, "batch": N, "alu_latency": lat, "chain_ops": len(P.CHAIN),
                         "chain_cycles": seg["CHAIN"], "last_cycles": seg["LAST"],
                         "rdy_d_offset_in_last": S.rdy_index(P.VEC_D, lat)}}
    for lanes in (1, 4):
        r = _sim("verilator", lanes)
        result[f"L{lanes}"] = {**_entry(r, A, B, lanes), "verilator_cycles_per_s": r["total_cycles"] / r["wall_s"]}
    ri = _sim("icarus", 4)
    result["L4"]["icarus_cycles_per_s"] = ri["total_cycles"] / ri["wall_s"]
    result["L4"]["verilator_over_icarus_speed"] = (result["L4"]["verilator_cycles_per_s"]
                                                   / result["L4"]["icarus_cycles_per_s"])
    for lanes, cfg_file in ((1, SYNTH_L1), (4, SYNTH_L4)):
        # at the ALU latency its place-and-route configuration uses: one batch, and batches streamed back
        # to back (the next batch's first sample passes while the read-out waits: the steady-state period)
        lat_pr = json.loads(cfg_file.read_text())["params"].get("alu_latency", lat)
        if lat_pr != lat:
            result[f"L{lanes}_alu_latency{lat_pr}"] = _entry(_sim("verilator", lanes, alu_latency=lat_pr),
                                                             A, B, lanes, lat_pr)
        result[f"L{lanes}_alu_latency{lat_pr}_stream"] = _entry(
            _sim("verilator", lanes, alu_latency=lat_pr, stream=STREAM_BATCHES), A, B, lanes, lat_pr)
    if lanes8 is None:
        lanes8 = os.environ.get("BENCH_L8", "1") == "1"
    if lanes8:
        result["L8"] = _entry(_sim("verilator", 8), A, B, 8)
    for a, b in ((32, 65), (10, 33)):
        result[f"a{a}_b{b}_L1"] = _entry(_sim("verilator", 1, a=a, b=b), a, b, 1)
    result["state_bits_L1"] = state_bits(cfg1)
    result["state_bits_L4"] = state_bits(cfg4)
    if synth is None:
        synth = os.environ.get("BENCH_SYNTH", "0") == "1"   # bench.yosys_cells covers the counts by default
    if synth:
        result["yosys_cells_L1"] = yosys_cells(1)
    return result


def main(argv=None) -> dict:
    ap = CliParser(prog="python -m bench.engine", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-synth", action="store_true", help="leave out the Yosys cell counts of the L=1 engine")
    r = run(synth=not ap.parse_args(argv).no_synth)
    print(json.dumps(r, indent=2, default=float))
    return r


if __name__ == "__main__":
    main(sys.argv[1:])
