"""Closed-loop co-simulation speed on Verilator: the fast loop (tb/benches/fast_loop_tb.py, one await per
batch) against the per-cycle loop (tb/benches/closed_loop_tb.py, one await per clock), in one run.

Both train digits 64-32-10 on Gokmen-Vlasov crossbars with the generated SBENetwork Verilog in the loop and
the golden twin in lockstep (every batch compared bit for bit), same seed, eta 0.5, batch 32, no input
gaps or slot stalls. Figures, simulated clock cycles per second of wall time:

* per_cycle_cycles_per_s      the per-cycle loop, end to end (the twin and the arrays included)
* fast_cycles_per_s           the fast loop, end to end (the same work)
* fast_cosim_cycles_per_s     the fast loop's co-simulation alone: writing the sample memories, running
                              the simulator, reading the recorded slots and update words back (the
                              arrays' slot application, the twin and the evaluation excluded)
* ratio_fast_vs_per_cycle     fast_cycles_per_s / per_cycle_cycles_per_s (same work, same run)
* ratio_cosim_vs_goal         fast_cosim_cycles_per_s / 100k (the issue's goal)
plus the fast loop's wall-time split (simulator, memory fill, read-back, slot application, twin).
Simulator builds are not timed (ccache makes a second build fast).
"""
from __future__ import annotations

import json
import sys

from bench.cli import run_alone
from flow.verilog_out import BUILD
from golden.training.data import load_digits
from hdl.sbe_layer import SBENetwork
from tb.fast_loop import FastNetwork
from tb.runner import run_bench

GOAL = 100_000


def run(*, per_cycle_batches: int = 4, fast_batches: int = 45, seed: int = 0) -> dict:
    data = load_digits(seed=seed)
    shapes = [(32, data.n_features + 1), (data.n_classes, 33)]
    out_dir = BUILD / "bench" / "closed_loop"
    out_dir.mkdir(parents=True, exist_ok=True)
    common = {"shapes": shapes, "seed": seed, "eta": 0.5, "device": "GokmenVlasov", "epochs": 1, "batch": 32}

    slow = out_dir / "per_cycle.json"
    run_bench("verilator", SBENetwork(shapes=shapes, seed=seed), toplevel="sbe_network", module="closed_loop_tb",
              build_name="bench_closed_loop_per_cycle",
              params={**common, "max_batches": per_cycle_batches, "p_gap": 0.0, "p_stall": 0.0,
                      "results": str(slow)})
    fast = out_dir / "fast.json"
    run_bench("verilator", FastNetwork(shapes=shapes, seed=seed, max_batch=32, max_slots=1023), toplevel="fast_network",
              module="fast_loop_tb", build_name="bench_closed_loop_fast", lean=True,
              params={**common, "max_batches": fast_batches, "max_batch": 32, "max_slots": 1023, "results": str(fast)})
    s, f = json.loads(slow.read_text()), json.loads(fast.read_text())
    per_cycle = s["total_cycles"] / s["wall_s"]
    fast_rate = f["total_cycles"] / f["wall_s"]
    cosim_s = f["seconds_fill"] + f["seconds_sim"] + f["seconds_read"]
    cosim = f["total_cycles"] / cosim_s
    return {"per_cycle_batches": s["batches"], "per_cycle_cycles": s["total_cycles"],
            "per_cycle_cycles_per_s": per_cycle,
            "fast_batches": f["batches"], "fast_cycles": f["total_cycles"], "fast_cycles_per_s": fast_rate,
            "fast_cosim_cycles_per_s": cosim, "fast_sim_only_cycles_per_s": f["total_cycles"] / f["seconds_sim"],
            "ratio_fast_vs_per_cycle": fast_rate / per_cycle, "ratio_cosim_vs_per_cycle": cosim / per_cycle,
            "ratio_cosim_vs_goal": cosim / GOAL,
            "fast_seconds": {k: round(f[f"seconds_{k}"], 3) for k in ("sim", "fill", "read", "apply", "twin",
                                                                       "eval")} | {"wall": round(f["wall_s"], 3)}}


if __name__ == "__main__":
    run_alone("python -m bench.closed_loop", __doc__, run, sys.argv[1:])
