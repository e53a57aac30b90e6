"""cocotb bench: replay the writes of a crossbar-in-the-loop training run through the generated update
controller, with a behavioural array on its pulse outputs, and require the array to end bit-identical
to the golden run's array.

Input (bench_params()["replay"]: an .npz written by demo.py / tests): the controller parameters a, b,
seed; the array's device preset name, construction and noise seeds; its initial weights W0; the updates
(u, v, s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt per write, in order) and the golden final
weights W_final and slot count. Random gaps on the input stream and random stalls of slot_ready.
"""
import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import with_timeout

from golden import devices
from golden.crossbar import Crossbar
from hdl.update_controller import UpdateController
from tb.cocotb_runner import bench_params
from tb.streams import StreamSource, random_pauses
from tb.update_controller_sim import drive_updates
from tb.crossbar_driver import CrossbarDriver
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
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = StreamSource(dut, "i", dut.clk, random_pauses(0.2, p.get("tb_seed", 1)))
    drv = CrossbarDriver(dut, xb, p_stall=0.1, seed=p.get("tb_seed", 1))
    await reset(dut)

    cocotb.start_soon(drive_updates(dut, src, model, updates))
    cocotb.start_soon(drv.run())
    await with_timeout(drv.wait_done(len(updates)), 50 * (int(z["slots"]) + 100 * len(updates)) * 10, "ns")
    slots, cycles = drv.slots, drv.cycles
    assert slots == int(z["slots"]), f"{slots} slots, golden run had {int(z['slots'])}"
    assert np.array_equal(xb.weights, z["W_final"]), "array differs from the golden run"
    dut._log.info("%d writes, %d slots, %d cycles: array equals the golden training run bit for bit",
                  len(updates), slots, cycles)
