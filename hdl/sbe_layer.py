"""One crossbar layer's update path: the SBE engine feeding the update controller.

    samples (x, delta) --i--> SBEEngine --update stream (contract/layouts.py)--> UpdateController --> pulses

Per batch the engine emits one (s, Dhat, Xhat); the controller turns it, unchanged, into row/column pulse
slots: ONE rank-1 outer-product write per batch. Golden twin: golden/training/closed_loop.py (SBEFixedEngine ->
PulseScheme, no float round trip), so the slots are bit-exact with it.

Ports
-----
i              : In(stream)  engine samples, `hdl.engine.sbe_engine.in_layout` (see hdl/engine/sbe_engine.py)
clear          : In   layer reset, same effect as `rst`: the engine's state reset (see SBEEngine.clear) AND the
                 controller's (a write being loaded or played is dropped, its LFSRs return to the seed), so a
                 clear during a read-out leaves no half-loaded update behind (golden: SBELayer.reset())
lr_mant, lr_exp, bl, mode : In  controller registers (see hdl/controller/update_controller.py), sampled per update
row_fire, row_pol, col_fire, col_pol, slot : Out; slot_ready : In   the pulse slots (UpdateController),
                 with parallel line outputs (ctrl_serial_width 0, the default)
o              : Out(stream)  with ctrl_serial_width S > 0 instead: the slots as ceil((a+b)/S) beats of S
                 lines each (contract/layouts.py serial_layout; the same slots, hdl/controller/update_controller.py)
done, status   : Out  controller: one-cycle strobe per finished write, its flags
tap_valid, tap_payload : Out  a copy of the engine->controller update stream, valid on the cycles a beat
                 is transferred (observability for benches and logic analysers; drives nothing)
busy           : Out  engine or controller busy, or an update beat waiting between them
saturated, framing_error, sample_count : Out  engine status (see hdl/engine/sbe_engine.py)

Parameters: a, b, lanes, seed (the controller's LFSR seed), dsp (both blocks' multipliers,
hdl/dsp_multiplier.py; `make synth` sets the target's: the ECP5's MULT18X18D with its own registers);
other keyword parameters go to the engine
or, prefixed `ctrl_`, to the controller, as contract/layer_config.py splits them (the update-stream
formats are the engine's, so the two agree by construction).
Latency: the engine's (see hdl/engine/sbe_engine.py), then the controller's per update
(ceil(a/L)+ceil(b/L) loading beats while the engine reads out, + elem_width+4 set-up + BL slots).
"""
from __future__ import annotations

from amaranth import Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.layer_config import layer_configs
from hdl.engine.sbe_engine import SBEEngine
from hdl.controller.update_controller import UpdateController

_CTRL_REGS = ("lr_mant", "lr_exp", "bl", "mode")
_CTRL_STATUS = ("done", "status")
_CTRL_PARALLEL = ("row_fire", "row_pol", "col_fire", "col_pol", "slot")     # serial_width 0


class SBELayer(wiring.Component):
    """Engine + controller of one a x b crossbar (rows = delta length a, columns = x length b)."""

    def __init__(self, *, a: int, b: int, lanes: int = 1, seed: int = 0, engine_options: dict | None = None,
                 dsp: str | None = None, **params):
        eng, ctrl = layer_configs(a=a, b=b, lanes=lanes, seed=seed, **params)
        # engine_options: SBEEngine's HDL-only keywords (compact, bram_delays: the iCE40 area forms, dsp)
        # dsp: the multipliers of both blocks (hdl/dsp_multiplier.py: "generic", "ecp5", "auto"; flow/synth.py
        # sets the target's); None leaves each block's default (engine "generic", controller "auto")
        opts = dict(engine_options or {})
        if dsp is not None:
            opts.setdefault("dsp", dsp)
        self.engine = SBEEngine(eng, **opts)
        self.controller = UpdateController(ctrl, **({} if dsp is None else {"dsp": dsp}))
        es, cs = self.engine.signature.members, self.controller.signature.members
        sig = {"i": es["i"], "clear": In(1)}
        sig.update({name: cs[name] for name in _CTRL_REGS})
        sig.update({name: cs[name] for name in _CTRL_STATUS})
        self.serial = bool(ctrl.serial_width)
        if self.serial:
            sig["o"] = cs["o"]
        else:
            sig.update({name: cs[name] for name in _CTRL_PARALLEL})
            sig["slot_ready"] = cs["slot_ready"]
        sig.update(tap_valid=Out(1), tap_payload=Out(self.engine.out_layout), busy=Out(1),
                   saturated=Out(1), framing_error=Out(1), sample_count=Out(16))
        super().__init__(sig)

    a = property(lambda self: self.engine.a, doc="Rows (delta length).")
    b = property(lambda self: self.engine.b, doc="Columns (x length).")
    lanes = property(lambda self: self.engine.lanes, doc="Elements per beat.")
    in_layout = property(lambda self: self.engine.in_layout, doc="Sample beat layout.")

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = eng = self.engine
        ctl = self.controller
        # The controller has no clear port: `clear` resets its sync domain like `rst` (ResetInserter).
        m.submodules.controller = ResetInserter({"sync": self.clear})(ctl)
        wiring.connect(m, wiring.flipped(self.i), eng.i)
        wiring.connect(m, eng.o, ctl.i)
        m.d.comb += eng.clear.eq(self.clear)
        m.d.comb += [getattr(ctl, n).eq(getattr(self, n)) for n in _CTRL_REGS]
        m.d.comb += [getattr(self, n).eq(getattr(ctl, n)) for n in _CTRL_STATUS]
        if self.serial:
            wiring.connect(m, ctl.o, wiring.flipped(self.o))
        else:
            m.d.comb += ctl.slot_ready.eq(self.slot_ready)
            m.d.comb += [getattr(self, n).eq(getattr(ctl, n)) for n in _CTRL_PARALLEL]
        m.d.comb += [
            self.tap_valid.eq(eng.o.valid & ctl.i.ready),
            self.tap_payload.eq(eng.o.payload),
            self.busy.eq(eng.busy | ctl.busy | eng.o.valid),
            self.saturated.eq(eng.saturated),
            self.framing_error.eq(eng.framing_error),
            self.sample_count.eq(eng.sample_count),
        ]
        return m


class SBENetwork(wiring.Component):
    """The update paths of a whole network: one SBELayer per (a, b) in `shapes`, independent of each other.

    Ports are the layers' ports prefixed `l<k>_` (l0_i, l0_row_fire, ..., l1_i, ...): one Verilog top for
    a bench that trains every layer. The layer k controller's LFSR seed is seed + k (as the golden twin).
    """

    def __init__(self, *, shapes, lanes: int = 1, seed: int = 0, dsp: str | None = None, **params):
        shapes = [tuple(s) for s in shapes]
        if not shapes or any(len(s) != 2 for s in shapes):
            raise ValueError(f"shapes must be a non-empty list of (a, b) pairs, not {shapes!r}")
        self.shapes = shapes
        self.layers = [SBELayer(a=a, b=b, lanes=lanes, seed=seed + k, dsp=dsp, **params)
                       for k, (a, b) in enumerate(shapes)]
        sig = {}
        for k, layer in enumerate(self.layers):
            sig.update({f"l{k}_{name}": member for name, member in layer.signature.members.items()})
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        for k, layer in enumerate(self.layers):
            m.submodules[f"layer{k}"] = layer
            for name, member in layer.signature.members.items():
                outer = getattr(self, f"l{k}_{name}")
                if member.is_signature and member.flow == In:    # the sample stream
                    wiring.connect(m, wiring.flipped(outer), getattr(layer, name))
                elif member.is_signature:                        # the serial slot stream
                    wiring.connect(m, getattr(layer, name), wiring.flipped(outer))
                elif member.flow == In:
                    m.d.comb += getattr(layer, name).eq(outer)
                else:
                    m.d.comb += outer.eq(getattr(layer, name))
        return m
