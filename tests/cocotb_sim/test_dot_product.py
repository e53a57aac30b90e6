"""cocotb regression: generated dot-product Verilog on Icarus and Verilator against the golden model."""
import pytest

from hdl.dot_product import DotProduct
from tb.runner import run_bench

CONFIGS = {"w16_l1": dict(width=16, lanes=1, max_length=40), "w12_l3": dict(width=12, lanes=3, max_length=23)}


@pytest.mark.cocotb
@pytest.mark.parametrize("name", CONFIGS)
def test_dot_product_cocotb(sim, name):
    cfg = CONFIGS[name]
    run_bench(sim, DotProduct(**cfg), toplevel="dot_product", module="dot_product_tb",
              build_name=f"dot_product_{name}", params={**cfg, "seed": 7})
