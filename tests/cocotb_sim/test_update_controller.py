"""cocotb regression: generated update-controller Verilog on Icarus and Verilator, driving behavioural
crossbars, against the golden pulse scheme and golden arrays (tb/benches/update_controller_tb.py)."""
import pytest

from hdl.controller.update_controller import UpdateController
from tb.runner import run_bench

CONFIGS = {
    "a5_b7_l1": dict(a=5, b=7, lanes=1, seed=3),
    "a13_b9_l2": dict(a=13, b=9, lanes=2, seed=11),
    # line state in memory banks (S = 5 banks, serial output): memories with initial contents in Verilog
    "a13_b9_l2_ram_s5": dict(a=13, b=9, lanes=2, seed=11, serial_width=5, line_store="ram"),
}


@pytest.mark.cocotb
@pytest.mark.parametrize("name", CONFIGS)
def test_update_controller_cocotb(sim, name):
    cfg = CONFIGS[name]
    run_bench(sim, UpdateController(**cfg), toplevel="update_controller", module="update_controller_tb",
              build_name=f"update_controller_{name}", params={**cfg, "n_updates": 8, "tb_seed": 4})
