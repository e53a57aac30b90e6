"""Run every benchmark of the project and write build/bench.json.

Each entry is a module with `run() -> dict`; the dict holds raw figures and the ratios they support.
`python -m bench NAME ...` runs a subset.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

BENCHES = {
    "golden_throughput": "bench.golden_throughput",   # float SBE vs MBGD samples/s, 784x100
    "crossbar": "bench.crossbar",                     # pulse slots/s vs a NumPy outer-product update
    "engine": "bench.engine",                          # RTL cycles vs the streaming bound, state bits
    "controller": "bench.controller",                # cycles per rank-1 write vs a*b element writes
    "yosys_cells": "bench.yosys_cells",                # Yosys cell counts of the RTL blocks
}
OUT = Path(__file__).resolve().parents[1] / "build" / "bench.json"


def _print(name: str, result: dict, indent: str = "  ") -> None:
    for k, v in result.items():
        if isinstance(v, dict):
            print(f"{indent}{k}:")
            _print(name, v, indent + "  ")
        else:
            print(f"{indent}{k}: {v:.4g}" if isinstance(v, float) else f"{indent}{k}: {v}")


def main(names: list[str]) -> int:
    results = json.loads(OUT.read_text()) if OUT.exists() and names else {}
    for name in names or BENCHES:
        if name not in BENCHES:
            raise SystemExit(f"unknown bench {name!r}; known: {', '.join(BENCHES)}")
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        results[name] = importlib.import_module(BENCHES[name]).run()
        _print(name, results[name])
        print(f"  ({time.perf_counter() - t0:.1f} s)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, default=float))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
