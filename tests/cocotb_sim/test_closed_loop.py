"""cocotb regression: closed-loop training with the generated SBENetwork Verilog (engine + controller per
layer) writing behavioural crossbars, every batch checked against the golden twin (tb/benches/closed_loop_tb.py):
update words, write status, slot counts and the arrays bit for bit. Digits 64-32-10, Gokmen-Vlasov
devices, random input gaps and slot_ready stalls: the protocol regression of the closed loop (the fast loop,
tests/cocotb_sim/test_fast_loop.py, checks the training on both simulators; this per-cycle case runs on
Icarus in the default suite, on Verilator in the slow one)."""
import pytest

from hdl.sbe_layer import SBENetwork
from tb.runner import run_bench


#: Icarus is far slower on this design: one batch there, with the arrays' analog reads in the loop; three
#: batches with digital reads on Verilator, with a BL cap of 64 so that writes 1-2 go through and 3-6 are
#: flagged (scale overflow, status 4) and skipped.
BATCHES = {"icarus": 1, "verilator": 3}
ANALOG = {"icarus": True, "verilator": False}
BL = {"icarus": 1023, "verilator": 64}


@pytest.mark.cocotb
@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_closed_loop_cocotb(sim, digits):
    shapes = [(32, digits.n_features + 1), (digits.n_classes, 33)]
    run_bench(sim, SBENetwork(shapes=shapes, seed=0), toplevel="sbe_network", module="closed_loop_tb",
              build_name="closed_loop_digits", params={"shapes": shapes, "seed": 0, "eta": 0.5,
                                                       "device": "GokmenVlasov", "epochs": 1, "max_batches": BATCHES[sim],
                                                       "p_gap": 0.2, "p_stall": 0.2,
                                                       "analog_reads": ANALOG[sim], "bl": BL[sim]})
