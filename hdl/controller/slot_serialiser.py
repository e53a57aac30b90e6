"""Serial presentation of the update controller's pulse slots (serial_width S > 0, off-chip line drivers).

A slot is a vector of n line bits (fire and polarity; rows 0..a-1, then columns 0..b-1). The serialiser
captures the vector of the presented slot into a shift register and sends it as ceil(n/S) beats of S lines,
lowest line first, zero padded, the last beat flagged `last`; the slot counts as taken when that beat
is transferred. Beat format: contract/layouts.py serial_layout.
"""
from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int
from contract.layouts import serial_layout


class SlotSerialiser(wiring.Component):
    """Shift register that sends each presented slot as ceil(n_lines / S) stream beats.

    Parameters
    ----------
    n_lines : int
        Lines per slot (a + b).
    serial_width : int
        S: lines per beat.

    Ports
    -----
    present : In(1)
        A slot is presented on `fire`/`pol` (held until `taken`). It is captured on the first cycle the
        serialiser is idle; the first beat is valid the cycle after.
    fire : In(n_lines)
        Fire bits of the presented slot, line k at bit k.
    pol : In(n_lines)
        Polarity bits of the presented slot (1 = negative).
    o : Out(stream.Signature(serial_layout(S)))
        {fire: S, pol: S, last: 1}: beat c carries lines c*S .. c*S + S - 1; `last` on beat ceil(n/S) - 1.
    taken : Out(1)
        The last beat of the slot is transferred in this cycle (combinational, o.valid & o.ready & last).

    Latency: a slot costs one capture cycle plus ceil(n_lines / S) beats, with o.ready held high.
    """

    def __init__(self, *, n_lines: int, serial_width: int):
        self._n = check_int("n_lines", n_lines, 1)
        self._S = check_int("serial_width", serial_width, 1)
        self.layout = serial_layout(serial_width)
        super().__init__({"present": In(1), "fire": In(n_lines), "pol": In(n_lines),
                          "o": Out(stream.Signature(self.layout)), "taken": Out(1)})

    n_lines = property(lambda self: self._n, doc="Lines per slot.")
    serial_width = property(lambda self: self._S, doc="Lines per beat.")
    beats = property(lambda self: -(-self._n // self._S), doc="Beats per slot.")

    def elaborate(self, platform):
        m = Module()
        S, nch = self._S, self.beats
        sr_fire = Signal(nch * S)
        sr_pol = Signal(nch * S)
        sbusy = Signal()
        scnt = Signal(range(nch))
        last = Signal()
        m.d.comb += [
            last.eq(scnt == nch - 1),
            self.o.valid.eq(sbusy),
            self.o.payload.fire.eq(sr_fire[:S]),
            self.o.payload.pol.eq(sr_pol[:S]),
            self.o.payload.last.eq(last),
            self.taken.eq(self.o.valid & self.o.ready & last),
        ]
        with m.If(self.present & ~sbusy):
            m.d.sync += [sr_fire.eq(self.fire), sr_pol.eq(self.pol), sbusy.eq(1), scnt.eq(0)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [sr_fire.eq(sr_fire >> S), sr_pol.eq(sr_pol >> S), scnt.eq(scnt + 1)]
            with m.If(last):
                m.d.sync += sbusy.eq(0)
        return m
