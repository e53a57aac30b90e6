"""Golden-model throughput for one 784x100 layer (a = 100 outputs, b = 784 inputs): float SBE samples/s
beside MBGD samples/s, measured in the same run on the same random batch, and their ratio.

`run()` returns the numbers (no assertions); `python -m bench.golden_throughput` prints them and writes
build/bench_golden.json (under SBE_BUILD_DIR when set). SBE streams sample by sample (its real data flow,
Python-loop bound); MBGD accumulates the batch with one matrix product (BLAS), so the ratio measures the
two NumPy models, not hardware. Each method is timed `repeats` times over whole batches; the best time counts.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from bench.cli import run_alone
from flow.verilog_out import BUILD
from golden.methods.mbgd import MBGD
from golden.methods.sbe import SBE
from golden.methods.update_method import UpdateMethod


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(a: int = 100, b: int = 784, batch: int = 256, repeats: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    xs, ds = rng.random((batch, b)), rng.standard_normal((batch, a)) * 0.1
    sbe, mbgd = SBE(a, b, seed=seed), MBGD(a, b)
    t_sbe = _best_time(lambda: sbe.batch(xs, ds), repeats)
    t_mbgd = _best_time(lambda: mbgd.batch(xs, ds), repeats)
    t_mbgd_stream = _best_time(lambda: UpdateMethod.batch(mbgd, xs, ds), repeats)   # per-sample outer products
    return {"layer": f"{b}x{a}", "batch": batch, "repeats": repeats,
            "sbe_samples_per_s": batch / t_sbe, "mbgd_samples_per_s": batch / t_mbgd,
            "mbgd_streamed_samples_per_s": batch / t_mbgd_stream,
            "sbe_over_mbgd": (batch / t_sbe) / (batch / t_mbgd),
            "sbe_over_mbgd_streamed": (batch / t_sbe) / (batch / t_mbgd_stream),
            "state_words_sbe": a + b + 1, "state_words_mbgd": a * b}


def _show(r: dict) -> None:
    print(f"golden {r['layer']} layer, batch {r['batch']}: SBE {r['sbe_samples_per_s']:.0f} samples/s, "
          f"MBGD {r['mbgd_samples_per_s']:.0f} samples/s (one matmul) / {r['mbgd_streamed_samples_per_s']:.0f} "
          f"(per-sample outer products); SBE/MBGD = {r['sbe_over_mbgd']:.3f} / {r['sbe_over_mbgd_streamed']:.3f}")
    out = BUILD / "bench_golden.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=1))
    print(f"wrote {out}")


def main(argv=None) -> dict:
    return run_alone("python -m bench.golden_throughput", __doc__, run, argv, _show)


if __name__ == "__main__":
    main(sys.argv[1:])
