"""cocotb bench: replay the writes of a crossbar-in-the-loop training run through the generated update
controller, with a behavioural array on its pulse outputs, and require the array to end bit-identical
to the golden run's array.

Input (bench_params()["replay"]: an .npz written by demo.py / tests): the controller parameters a, b,
seed; the array's device preset name, construction and noise seeds; its initial weights W0; the updates
(u, v, s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt per write, in order) and the golden final
weights W_final and slot count. Random gaps on the input stream and random stalls of slot_ready.
"""
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from golden import devices
from golden.crossbar import Crossbar
from hdl.update_controller import UpdateController
from tb.cocotb_runner import bench_params
from tb.streams import StreamSource, random_pauses
from tb.update_controller_sim import drive_updates
from tb.dut_reset import reset


def load_replay(path):
    z = np.load(path)
    n = len(z["s_mant"])
    updates = [dict(u=z["u"][k], v=z["v"][k], **{key: int(z[key][k]) for key in
               ("s_mant", "s_exp", "lr_mant", "lr_exp", "bl", "det", "bl_mgmt")}, two_phase=False)
               for k in range(n)]
    return z, updates


@cocotb.test()
async def replayed_writes_match_golden_array(dut):
    p = bench_params()
    z, updates = load_replay(p["replay"])
    model = UpdateController(a=int(z["a"]), b=int(z["b"]), seed=int(z["scheme_seed"]))
    xb = Crossbar(model.a, model.b, device=getattr(devices, str(z["device"]))(),
                  construction_seed=int(z["construction_seed"]), noise_seed=int(z["noise_seed"]))
    xb.program(z["W0"])
    stall = random.Random(p.get("tb_seed", 1))

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = StreamSource(dut, "i", dut.clk, random_pauses(0.2, p.get("tb_seed", 1)))
    dut.slot_ready.value = 0
    await reset(dut)

    cocotb.start_soon(drive_updates(dut, src, model, updates))
    done = slots = cycles = 0
    while done < len(updates):
        await RisingEdge(dut.clk)
        cycles += 1
        ready = stall.random() > 0.1
        dut.slot_ready.value = int(ready)
        await ReadOnly()
        if ready and str(dut.slot.value) == "1":
            bits = [np.array([(int(v) >> i) & 1 for i in range(n)], dtype=bool) for v, n in
                    ((dut.row_fire.value, xb.a), (dut.row_pol.value, xb.a),
                     (dut.col_fire.value, xb.b), (dut.col_pol.value, xb.b))]
            xb.apply_slot(*bits)
            slots += 1
        if str(dut.done.value) == "1":
            done += 1
        assert cycles < 50 * (int(z["slots"]) + 100 * len(updates)), "controller stopped making progress"
    assert slots == int(z["slots"]), f"{slots} slots, golden run had {int(z['slots'])}"
    assert np.array_equal(xb.weights, z["W_final"]), "array differs from the golden run"
    dut._log.info("%d writes, %d slots, %d cycles: array equals the golden training run bit for bit",
                  len(updates), slots, cycles)
