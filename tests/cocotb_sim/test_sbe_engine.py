"""cocotb regression: generated SBE-engine Verilog on Icarus and Verilator, bit for bit against
golden/rtl/sbe_engine.py, with random gaps on the input and random back-pressure on the output."""
import pytest

from hdl.engine.sbe_engine import SBEEngine
from hdl.board.icebreaker import ENGINE_FORMATS as ICEBREAKER_FORMATS, ENGINE_OPTIONS as ICEBREAKER_OPTIONS
from tb.runner import SIMULATORS, run_bench

CONFIGS = {
    # a = b = 1; several batches in a row incl. one-sample batches; reset in the middle of a batch; batches
    # streamed back to back (the next batch's samples pass before a read-out; one-sample batches among them)
    "a1_b1": dict(cfg=dict(a=1, b=1, lanes=1),
                  segments=[{"batches": [[3, "random"], [1, "random"]]}, {"partial": [2, "random"]},
                            {"batches": [[1, "full"], [4, "small"]]},
                            {"stream": [[2, "random"], [1, "random"], [1, "small"], [3, "random"]]}]),
    # non-powers of two, 3 lanes (padded last beats), extreme inputs, batches in a row, reset mid-batch,
    # batches streamed back to back
    "a13_b9_l3": dict(cfg=dict(a=13, b=9, lanes=3),
                      segments=[{"batches": [[5, "random"], [3, "full"], [2, "zero"], [3, "alt"]]},
                                {"partial": [2, "random"]}, {"batches": [[1, "small"], [3, "random"]]},
                                {"stream": [[3, "random"], [1, "random"], [2, "random"]]}]),
    # 4 lanes, 12-bit inputs with their own binary points, reset mid-batch then warm batches
    "a6_b11_l4_w12": dict(cfg=dict(a=6, b=11, lanes=4, in_width=12, x_frac=9, delta_frac=11),
                          segments=[{"batches": [[4, "random"]]}, {"partial": [3, "full"]},
                                    {"batches": [[6, "random"], [2, "random"]]}]),
    # the iCEBreaker build (hdl/board/icebreaker.py): its formats (8-bit inputs) and HDL-only options (the
    # compact scalar unit; pipeline delay lines in block RAM, which keep their words over a reset); reset
    # mid-batch
    "a8_b12_icebreaker": dict(cfg=dict(a=8, b=12, lanes=1, **ICEBREAKER_FORMATS), hdl=ICEBREAKER_OPTIONS,
                             segments=[{"batches": [[3, "random"], [2, "full"]]}, {"partial": [2, "random"]},
                                       {"batches": [[3, "random"]]}]),
}


#: Each configuration is a separate, slow Verilator build: one configuration in the default run, all in
#: `make test-all` (Icarus runs every configuration by default).
DEFAULT_VERILATOR = {"a13_b9_l3"}
CASES = [pytest.param(sim, name, id=f"{name}-{sim}",
                      marks=[pytest.mark.slow] if sim == "verilator" and name not in DEFAULT_VERILATOR else [])
         for name in CONFIGS for sim in SIMULATORS]


@pytest.mark.cocotb
@pytest.mark.parametrize("sim,name", CASES)
def test_sbe_engine_cocotb(sim, name):
    c = CONFIGS[name]
    run_bench(sim, SBEEngine(**c["cfg"], **c.get("hdl", {})), toplevel="sbe_engine", module="sbe_engine_tb",
              build_name=f"sbe_engine_{name}", params={**c, "seed": 11})
