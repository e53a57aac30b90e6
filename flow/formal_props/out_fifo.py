"""Properties of the engine's output FIFO (hdl/engine/out_fifo.py) on its own."""
from __future__ import annotations

from amaranth import Signal
from amaranth.hdl import Assert

from hdl.engine.out_fifo import OutFIFO
from hdl.engine.vector_datapath import VectorDatapath

from .common import Elaborated, FormalTop, assert_invariants, drive_free


class OutFIFOProps(FormalTop):
    """The FIFO between free writers and readers (w_en, w_data, r_en free every cycle), its output seen
    as a stream (valid = r_rdy, payload = r_data, ready = r_en). Asserted:

    * the stream rules on the output: r_rdy never drops without a read, r_data is stable while stalled;
    * `level` counts the words written (w_en while w_rdy) minus the words read (r_en while r_rdy), and
      never exceeds the depth;
    * its invariants (OutFIFO.invariants).

    Meant for k-induction (mode prove; 1-inductive, but a proof depth above the FIFO's depth lets the
    base case reach a full FIFO, so an overflow bug FAILs with a trace instead of leaving the induction
    UNKNOWN). The default FIFO depth is the engine's (VectorDatapath.OUT_DEPTH).
    `width` only sizes the payload (the control does not depend on it)."""

    def __init__(self, *, width: int = 4, depth: int = VectorDatapath.OUT_DEPTH):
        self.width, self.depth = width, depth
        super().__init__()

    def elaborate(self, platform):
        m = self.module()
        dut = OutFIFO(self.width, self.depth)
        m.submodules.dut = Elaborated(dut, platform)
        assert_invariants(m, dut.invariants())
        drive_free(m, dut.w_en, dut.w_data, dut.r_en)

        written, read = dut.w_en & dut.w_rdy, dut.r_en & dut.r_rdy
        stalled, held = Signal(name="stalled"), Signal(self.width, name="held")
        m.d.sync += [stalled.eq(dut.r_rdy & ~dut.r_en), held.eq(dut.r_data)]
        with m.If(stalled):
            m.d.comb += [Assert(dut.r_rdy, "r_rdy dropped without a read"),
                         Assert(dut.r_data == held, "r_data changed while stalled")]

        count = Signal(range(self.depth + 2), name="count")     # words in minus words out (one spare value)
        m.d.sync += count.eq(count + written - read)
        m.d.comb += [Assert(dut.level == count, "level is not the words written minus the words read"),
                     Assert(count <= self.depth, "more words held than the depth")]
        return m
