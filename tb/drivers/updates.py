"""cocotb: the update controller's register inputs and update stream (hdl/controller/update_controller.py).

`write_registers` drives lr_mant, lr_exp, bl and mode (of a controller, or of layer k of a network with
prefix "l<k>_"); `drive_updates` sends update dicts (tb/stimulus.py) one after the other, each with its
registers set before its first beat (the controller samples them there).
"""
from __future__ import annotations

from contract.layouts import MODE_LAYOUT
from tb.drivers.streams import pack
from tb.stimulus import update_beats_of


def write_registers(dut, regs: dict, lr_exp_shape, prefix: str = "") -> None:
    """Set `<prefix>lr_mant/lr_exp/bl/mode` from regs (keys lr_mant, lr_exp, bl, det, bl_mgmt, two_phase);
    lr_exp_shape is the controller's lr_exp shape (a signed value is packed to two's complement)."""
    getattr(dut, prefix + "lr_mant").value = regs["lr_mant"]
    getattr(dut, prefix + "lr_exp").value = pack(lr_exp_shape, regs["lr_exp"])
    getattr(dut, prefix + "bl").value = regs["bl"]
    getattr(dut, prefix + "mode").value = pack(MODE_LAYOUT, {"det": int(regs["det"]), "bl_mgmt": int(regs["bl_mgmt"]),
                                                            "two_phase": int(regs["two_phase"])})


async def drive_updates(dut, src, model, updates: list[dict]) -> None:
    """For each update: set the controller's registers, then send its beats through `src` (a
    tb.drivers.streams.StreamSource on port i). `model` is an UpdateController of the same parameters
    (its layouts and lanes)."""
    for u in updates:
        write_registers(dut, u, model.lr_exp.shape())
        await src.send([pack(model.in_layout, beat) for beat in update_beats_of(u, model.lanes)])
