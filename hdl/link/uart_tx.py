"""UART transmitter, 8N1, LSB first, idle high: a stream of bytes in, the serial line out.

A byte is taken from `i` when the line is idle and sent as start bit, 8 data bits, stop bit, each
`divisor` clock cycles; the next byte may start right after the stop bit (back-to-back at full rate).

Ports
-----
i     : In(stream(8))    bytes to send
tx    : Out(1)           serial line (registered)
busy  : Out(1)           a byte is being sent
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.link.baud import MIN_CLOCKS_PER_BIT


class UARTTransmitter(wiring.Component):
    """8N1 transmitter; `divisor` clock cycles per bit (hdl.link.baud.baud_divisor), at least 4."""

    def __init__(self, divisor: int):
        if not isinstance(divisor, int) or divisor < MIN_CLOCKS_PER_BIT:
            raise ValueError(f"divisor must be an int >= {MIN_CLOCKS_PER_BIT} clocks per bit, not {divisor!r}")
        self.divisor = divisor
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1), "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        timer = Signal(range(div))
        bits = Signal(range(11))            # bits left to send, stop bit included
        shreg = Signal(10, init=0x3FF)      # LSB goes out next
        # Ready when idle, or in the last cycle of the stop bit: bytes go out back-to-back, 10 bits each.
        m.d.comb += [self.tx.eq(shreg[0]), self.busy.eq(bits != 0),
                     self.i.ready.eq((bits == 0) | ((bits == 1) & (timer == 0)))]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [shreg.eq(Cat(Const(0, 1), self.i.payload, Const(1, 1))), bits.eq(10),
                         timer.eq(div - 1)]
        with m.Elif(bits != 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Else():
                m.d.sync += [shreg.eq(Cat(shreg[1:], Const(1, 1))), bits.eq(bits - 1), timer.eq(div - 1)]
        return m
