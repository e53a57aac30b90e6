"""Shared pieces of the formal wrappers: the port-less top, free inputs, the stream rules."""
from __future__ import annotations

from amaranth import Elaboratable, Fragment, Module, ResetSignal, Signal
from amaranth.asserts import AnySeq   # (0.5: AnySeq, AnyConst, Initial live here; Assert in amaranth.hdl)
from amaranth.hdl import Assert, Assume
from amaranth.lib import wiring


class FormalTop(wiring.Component):
    """Base of every wrapper: no ports (all inputs of the design under test are free signals inside),
    the `sync` reset held low (the designs' own `clear` inputs stay free where they exist), and the
    registers start from their init values (Amaranth's power-up state, which SymbiYosys honours)."""

    def __init__(self):
        super().__init__({})

    def module(self) -> Module:
        m = Module()
        m.d.comb += Assume(~ResetSignal("sync"))
        return m


class Elaborated(Elaboratable):
    """`design` elaborated now, ahead of its wrapper, so the wrapper can name internal state that the
    design's blocks create in their own elaborate() (e.g. SBEEngine.datapath.out_fifo.invariants()).
    Add it as the submodule in place of the design; its ports are the design's, driven as usual."""

    def __init__(self, design, platform=None):
        self.design = design
        self.fragment = Fragment.get(design, platform)

    def elaborate(self, platform):
        return self.fragment


def assert_invariants(m: Module, invariants) -> None:
    """Assert each (condition, message) invariant of a block, located at the block's own source line
    (where the condition was written), so a failure names the block's invariant, not this loop."""
    for cond, msg in invariants:
        check = Assert(cond, msg)
        check.src_loc = getattr(cond, "src_loc", None) or check.src_loc
        m.d.comb += check


def drive_free(m: Module, *values) -> None:
    """Drive each value (a Signal, a struct view, or any assignable Value) with a free value per cycle."""
    for v in values:
        v = v.as_value() if hasattr(v, "as_value") else v
        m.d.comb += v.eq(AnySeq(len(v)))


def stream_rules(m: Module, port, *, name: str, assume: bool, exempt=None) -> Signal:
    """State the amaranth.lib.stream rules on `port` (valid, ready, payload) as seen from outside.

    Once `valid` is high without `ready` (a stall), the next cycle `valid` is still high and the payload
    is unchanged: valid never drops without a transfer, the payload is stable while stalled. With
    `assume` the rules constrain the producer (the environment drives an input port); else they are
    asserted of the design (an output port). `exempt` (a 1-bit Value, e.g. a synchronous clear) excuses
    the cycle after it is high. Returns the transfer strobe (valid & ready) of the port.
    """
    prop = Assume if assume else Assert
    payload = port.payload.as_value() if hasattr(port.payload, "as_value") else port.payload
    xfer = Signal(name=f"{name}_xfer")
    stalled = Signal(name=f"{name}_stalled")
    held = Signal(len(payload), name=f"{name}_held")
    m.d.comb += xfer.eq(port.valid & port.ready)
    m.d.sync += [stalled.eq(port.valid & ~port.ready & (~exempt if exempt is not None else 1)),
                 held.eq(payload)]
    with m.If(stalled):
        m.d.comb += [prop(port.valid, f"{name}: valid dropped without a transfer"),
                     prop(payload == held, f"{name}: payload changed while stalled")]
    return xfer
