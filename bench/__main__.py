"""`make bench`: run the benchmarks of the project and write build/bench.json.

Each entry is a module with `run() -> dict`; the dict holds raw figures and the ratios they support.
`python -m bench NAME ...` runs a subset and updates only their entries of build/bench.json.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

from contract.checks import CliParser
from flow.verilog_out import BUILD

BENCHES = {
    "golden_throughput": "bench.golden_throughput",   # float SBE vs MBGD samples/s, 784x100
    "crossbar": "bench.crossbar",                     # pulse slots/s vs a NumPy outer-product update
    "engine": "bench.engine",                         # RTL cycles vs the streaming bound, state bits
    "controller": "bench.controller",                 # cycles per rank-1 write vs a*b element writes
    "yosys_cells": "bench.yosys_cells",               # Yosys cell counts of the RTL blocks
    "host_link": "bench.host_link",                   # UART link-bound samples/s vs the engine's rate
    "closed_loop": "bench.closed_loop",               # fast vs per-cycle closed-loop co-simulation, cycles/s
}
OUT = BUILD / "bench.json"


def _print(result: dict, indent: str = "  ") -> None:
    for k, v in result.items():
        if isinstance(v, dict):
            print(f"{indent}{k}:")
            _print(v, indent + "  ")
        else:
            print(f"{indent}{k}: {v:.4g}" if isinstance(v, float) else f"{indent}{k}: {v}")


def main(argv=None) -> int:
    ap = CliParser(prog="python -m bench", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"benches to run (default: all): {', '.join(BENCHES)}")
    names = ap.parse_args(argv).names
    bad = [n for n in names if n not in BENCHES]
    if bad:
        ap.error(f"unknown bench(es) {', '.join(map(repr, bad))}; benches: {', '.join(BENCHES)}")
    results = json.loads(OUT.read_text()) if OUT.exists() and names else {}
    for name in names or BENCHES:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        results[name] = importlib.import_module(BENCHES[name]).run()
        _print(results[name])
        print(f"  ({time.perf_counter() - t0:.1f} s)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, default=float))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
