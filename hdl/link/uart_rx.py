"""UART receiver, 8N1, LSB first, idle high: serial line in, a stream of bytes out.

`rx` goes through a 2-flip-flop synchroniser. A falling edge starts a byte; the start bit is checked
again half a bit later (a glitch shorter than that is ignored), then each data bit and the stop bit are
sampled one bit period apart, in their middles. The byte is offered on `o` when the stop bit has been
sampled, so the receiver is ready for the next start edge half a bit before the stop bit ends.

Ports
-----
rx     : In(1)              serial line (asynchronous)
o      : Out(stream(8))     received bytes; `o` has no buffer: a byte not taken before the next byte is
                            complete is lost (`overrun`)
error  : Out(1)             one-cycle strobe: a stop bit was low (framing error / break) or a byte was lost
                            (overrun); the byte is dropped
Latency: o.valid rises ~(9.5 bits + 3) cycles after the start edge on `rx`.
"""
from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from hdl.link.baud import MIN_CLOCKS_PER_BIT


class UARTReceiver(wiring.Component):
    """8N1 receiver; `divisor` clock cycles per bit (hdl.link.baud.baud_divisor), at least 4."""

    def __init__(self, divisor: int):
        if not isinstance(divisor, int) or divisor < MIN_CLOCKS_PER_BIT:
            raise ValueError(f"divisor must be an int >= {MIN_CLOCKS_PER_BIT} clocks per bit, not {divisor!r}")
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(8)), "error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(div))
        bit = Signal(range(10))          # 0: start bit, 1..8 data, 9 stop
        shreg = Signal(8)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.sync += self.error.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(div // 2 - 1), bit.eq(0)]
                    m.next = "BIT"
            with m.State("BIT"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [timer.eq(div - 1), bit.eq(bit + 1)]
                    with m.If(bit == 0):
                        with m.If(rx):                     # start bit gone: a glitch
                            m.next = "IDLE"
                    with m.Elif(bit == 9):
                        m.next = "IDLE"
                        with m.If(~rx | (self.o.valid & ~self.o.ready)):
                            m.d.sync += self.error.eq(1)
                        with m.Else():
                            m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                    with m.Else():
                        m.d.sync += shreg.eq((rx << 7) | (shreg >> 1))
        return m
