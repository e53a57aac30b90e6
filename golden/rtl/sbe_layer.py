"""Bit-exact golden twin of hdl/sbe_layer.py: one crossbar layer's update path, the SBE engine feeding the
update controller.

    samples (x, delta) --> SBEFixedEngine --update words (contract/layouts.py)--> PulseScheme --> slots

Per batch the engine (golden/rtl/sbe_engine.py) produces ONE update {s_mant, s_exp, dhat, xhat}; the
controller (golden/rtl/update_controller.py) turns those integer words, unchanged (no float round trip),
into the row/column pulse slots of one rank-1 outer-product write. A write the controller flags
(status != 0) has no slot, as in the RTL. The layer drives no array: golden/arrays/crossbar.py applies
the slots (golden/rtl/update_controller.apply_write).

Parameters as the RTL's, split by contract/layer_config.py: a, b, lanes, seed (the controller's LFSR
seed); other keyword parameters go to the engine or, prefixed `ctrl_`, to the controller (the
update-stream formats are the engine's, so the two agree by construction). Controller registers (lr_mant, lr_exp, bl, det, bl_mgmt,
two_phase) are keyword arguments of each write, as the RTL samples its register ports per update.
"""
from __future__ import annotations

from contract.layer_config import layer_configs
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.update_controller import PulseScheme, Write

class SBELayer:
    """Engine + controller of one a x b crossbar (rows = delta length a, columns = x length b)."""

    def __init__(self, a: int, b: int, *, lanes: int = 1, seed: int = 0, **params):
        eng, ctrl = layer_configs(a=a, b=b, lanes=lanes, seed=seed, **params)
        self.engine = SBEFixedEngine(eng)
        self.controller = PulseScheme(ctrl)

    a = property(lambda self: self.engine.cfg.a, doc="Rows (delta length).")
    b = property(lambda self: self.engine.cfg.b, doc="Columns (x length).")
    lanes = property(lambda self: self.engine.cfg.lanes, doc="Elements per beat.")

    def reset(self) -> None:
        """The RTL's reset (`rst`) and its `clear` port, at any time (mid-batch, during the read-out or a
        write): the engine's initial state (the batch and any update being read out dropped) and every
        controller LFSR at its seed (a write being loaded or played dropped)."""
        self.engine.reset()
        self.controller.reset()

    clear = reset

    def update(self, samples) -> dict:
        """Stream one batch into the engine and return its update words {s_mant, s_exp, dhat, xhat}.
        `samples`: (x_int, delta_int, x_exp, delta_exp) per sample (sbe_engine.quantise_sample)."""
        for s in samples:
            self.engine.sample(*s)
        return self.engine.end_batch()

    def write(self, update: dict, *, lr_mant: int, lr_exp: int, bl: int, det: bool = False,
              bl_mgmt: bool = False, two_phase: bool = False) -> Write:
        """The controller's write of the update words `update`, unchanged, with these register values."""
        return self.controller.write(update["dhat"], update["xhat"], update["s_mant"], update["s_exp"],
                                     lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=det, bl_mgmt=bl_mgmt,
                                     two_phase=two_phase)

    def batch(self, samples, **registers) -> tuple[dict, Write]:
        """One batch through the layer: (the engine's update words, the controller's Write of them)."""
        up = self.update(samples)
        return up, self.write(up, **registers)

    def beats(self, update: dict) -> list[dict]:
        """The update as the engine -> controller stream beats (the RTL's tap port)."""
        return self.engine.beats(update)
