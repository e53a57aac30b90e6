"""cocotb regression: the fast closed loop (tb/fast_loop.py FastNetwork, tb/benches/fast_loop_tb.py: sample
memories written through VPI, one await per batch, recorded slots applied to the arrays) on digits 64-32-10
with Gokmen-Vlasov devices, 5 % stuck devices and injected faults, every batch checked against the golden
twin bit for bit (update words, status, slot count, arrays): a batch of one sample, an all-zero batch and a
flagged write (BL register 0) mid-training. On Verilator also a BL cap of 64, so that later writes are
flagged by scale overflow (status 4)."""
import json

import pytest

from tb.fast_loop import FastNetwork
from tb.runner import run_bench

#: The one-sample batch before a longer one also checks that the streamer stops after a batch's last beat
#: (a larger sample count written for the next batch once let it send a stale beat before `start`).
FAULTS = [{"kind": "one_sample", "batch": 1}, {"kind": "zero_batch", "batch": 2}, {"kind": "flag_write", "batch": 3}]
#: Icarus is far slower on this design: 5 batches of 4 samples; Verilator 8 batches of 16. The wrapper has
#: the demo's and the bench's memory sizes (32 samples, 1023 slots): the same Verilog, so ccache shares
#: the Verilator objects between them.
CASES = {"icarus": dict(batch=4, max_batches=5, bl=1023), "verilator": dict(batch=16, max_batches=8, bl=64)}


def run_fast(sim, digits, tmp_path, faults, case):
    shapes = [(32, digits.n_features + 1), (digits.n_classes, 33)]
    results = tmp_path / "results.json"
    run_bench(sim, FastNetwork(shapes=shapes, seed=0, max_batch=32, max_slots=1023), toplevel="fast_network",
              module="fast_loop_tb", build_name="fast_loop_digits", lean=True,
              params={"shapes": shapes, "seed": 0, "eta": 0.5, "device": "GokmenVlasov", "stuck": 0.05,
                      "epochs": 1, "faults": faults, "max_batch": 32, "max_slots": 1023,
                      "results": str(results), **case})
    return json.loads(results.read_text())


@pytest.mark.cocotb
def test_fast_loop_cocotb(sim, digits, tmp_path):
    case = CASES[sim]
    r = run_fast(sim, digits, tmp_path, FAULTS, case)
    assert r["batches"] == case["max_batches"]
    assert r["flagged"] >= 2, "the flag_write batch must flag both layers' writes"
    assert r["slots"] > 0, "no slot was written: the loop did not train"

