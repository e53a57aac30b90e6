"""Bench: Yosys cell counts (synth_ice40 -dsp and synth_ecp5, no place and route) of the RTL blocks.

The blocks are synthesised alone (no pin harness), so the counts are the block's own logic: the
update controller at 16x16 (also placed by `make synth`, flow/configs/) and at 32x32, to show how the
count scales with the array size. Full Fmax/utilisation with place and route: `make synth`.
"""
from __future__ import annotations

import sys

from bench.cli import run_alone
from flow.generate import build_component
from flow.yosys import synth_cells
from flow.verilog_out import BUILD

CONFIGS = [
    ("update_controller", {"a": 16, "b": 16}),
    ("update_controller", {"a": 32, "b": 32}),
]


def _summary(cells: dict) -> dict:
    keys = ("SB_LUT4", "SB_DFF", "SB_DFFE", "SB_DFFR", "SB_DFFSR", "SB_DFFESR", "SB_DFFSS", "SB_DFFESS",
            "SB_CARRY", "SB_MAC16", "SB_RAM40_4K", "LUT4", "TRELLIS_FF", "CCU2C", "MULT18X18D", "DP16KD",
            "PFUMX", "L6MUX21", "TRELLIS_DPR16X4")
    out = {k: v for k, v in cells.items() if k in keys}
    out["total"] = sum(cells.values())
    return out


def run() -> dict:
    res = {}
    for block, params in CONFIGS:
        name = f"{block}_" + "_".join(f"{k}{v}" for k, v in params.items())
        res[name] = {t: _summary(synth_cells(build_component(block, params), t, BUILD / "bench_cells" / name / t))
                     for t in ("ice40", "ecp5")}
    return res


def main(argv=None) -> dict:
    return run_alone("python -m bench.yosys_cells", __doc__, run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
