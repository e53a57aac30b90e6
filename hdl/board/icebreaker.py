"""iCEBreaker (iCE40UP5K-SG48) top: the SBE engine behind the UART host link (contract/host_protocol.py).

Clock: the board's 12 MHz oscillator directly (no PLL): 3 Mbaud is exactly 4 clocks per bit, the
UART's minimum (hdl/link/baud.py), and the engine is far below the UP5K's PLL range anyway.
Pins (amaranth_boards.icebreaker.ICEBreakerPlatform): UART rx = pin 6 / tx = pin 9 (the FT2232H's
second channel, 3 Mbaud), LEDs: green (pin 37) busy, red (pin 11) error (an error reply in the last
~87 ms at 12 MHz, or the engine's sticky saturated / framing_error flags).
"""
from __future__ import annotations

from amaranth import Elaboratable, Module
from amaranth.lib import io

from contract.host_protocol import BAUD
from hdl.link.host_top import HostTop

CLK_HZ = 12_000_000


class ICEBreakerTop(Elaboratable):
    """Engine-only HostTop on the iCEBreaker. Parameters: a, b, lanes and engine keywords (HostTop)."""

    clk_hz = CLK_HZ

    def __init__(self, *, a: int, b: int, lanes: int = 1, baud: int = BAUD, **params):
        self.host = HostTop(a=a, b=b, lanes=lanes, controller=False, clk_hz=CLK_HZ, baud=baud, **params)

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = self.host
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buf = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buf = tx = io.Buffer("o", uart.tx)
        # the LEDs' resources carry their polarity (active low on the iCEBreaker): the buffers apply it
        m.submodules.led_busy = led_busy = io.Buffer("o", platform.request("led_g", 0, dir="-"))
        m.submodules.led_err = led_err = io.Buffer("o", platform.request("led_r", 0, dir="-"))
        m.d.comb += [host.rx.eq(rx.i), tx.o.eq(host.tx), led_busy.o.eq(host.busy_led), led_err.o.eq(host.error_led)]
        return m
