"""Bench: Yosys cell counts (synth_ice40 -dsp and synth_ecp5, no place and route) of the RTL blocks.

The blocks are synthesised alone (no pin harness), so the counts are the block's own logic. Configs are
the small ones that `make synth` also places (flow/configs/), plus the lane and size scaling the issues
ask about. Full Fmax/utilisation with place and route: `make synth`.
"""
from __future__ import annotations

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


if __name__ == "__main__":
    import json
    print(json.dumps(run(), indent=2))
