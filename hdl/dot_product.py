"""Streaming fixed-point dot product: L lanes of x[i]*y[i] per beat, summed over one vector.

Ports
-----
i : In(stream)  payload {x: L x signed(width), y: L x signed(width), last: 1}
    One beat carries `lanes` element pairs; the sender zero-pads the lanes past the end of the vector.
    `last` marks the final beat of a vector.
o : Out(stream) payload signed(acc_width)
    The exact sum over the vector, acc_width = 2*width + ceil(log2(max_length)): no sum of up to
    max_length full-scale products can overflow, so nothing is rounded or saturated here (the caller
    narrows, with its own rounding/saturation rule).

Timing: one beat per cycle while the output register is free. The products of a beat are added to the
accumulator in the cycle the beat is accepted; the result is registered, so `o.valid` rises one cycle
after the `last` beat. Input is held off (ready low) only while a result waits for its consumer.
Golden twin: golden/rtl/dot_product.py.
"""
from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int


class DotProduct(wiring.Component):
    """Exact streaming dot product with `lanes` multipliers.

    Parameters
    ----------
    width : int
        Bits of each signed element of x and y (2 .. 32).
    lanes : int
        Element pairs per beat (1 .. 8).
    max_length : int
        Longest vector the accumulator must hold without overflow (>= 1).
    """

    def __init__(self, *, width: int = 16, lanes: int = 1, max_length: int = 1024):
        self._width = check_int("width", width, 2, 32)
        self._lanes = check_int("lanes", lanes, 1, 8)
        self._max_length = check_int("max_length", max_length, 1, 1 << 24)
        self._acc_width = 2 * width + (max_length - 1).bit_length()
        elem = signed(width)
        self.in_layout = data.StructLayout({
            "x": data.ArrayLayout(elem, lanes),
            "y": data.ArrayLayout(elem, lanes),
            "last": 1,
        })
        super().__init__({
            "i": In(stream.Signature(self.in_layout)),
            "o": Out(stream.Signature(signed(self._acc_width))),
        })

    width = property(lambda self: self._width, doc="Bits per element of x and y.")
    lanes = property(lambda self: self._lanes, doc="Element pairs per beat.")
    max_length = property(lambda self: self._max_length, doc="Longest vector without overflow.")
    acc_width = property(lambda self: self._acc_width, doc="Bits of the exact result.")

    def elaborate(self, platform):
        m = Module()
        acc = Signal(signed(self._acc_width))
        beat_sum = Signal(signed(self._acc_width))

        m.d.comb += beat_sum.eq(sum(self.i.payload.x[k] * self.i.payload.y[k] for k in range(self._lanes)))
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            total = acc + beat_sum
            with m.If(self.i.payload.last):
                m.d.sync += [self.o.payload.eq(total), self.o.valid.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)
        return m
