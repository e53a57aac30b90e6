"""iCEBreaker (iCE40UP5K-SG48) top: the SBE engine behind the UART host link (contract/host_protocol.py).

Clock: the board's 12 MHz oscillator directly (no PLL): 3 Mbaud is exactly 4 clocks per bit, the
UART's minimum (hdl/link/baud.py), and the engine is far below the UP5K's PLL range anyway.
Pins (amaranth_boards.icebreaker.ICEBreakerPlatform): UART rx = pin 6 / tx = pin 9 (the FT2232H's
second channel, 3 Mbaud), LEDs: green (pin 37) busy, red (pin 11) error (an error reply in the last
~87 ms at 12 MHz, or the engine's sticky saturated / framing_error flags).
"""
from __future__ import annotations

from amaranth import Elaboratable, Module

from contract.host_protocol import BAUD
from hdl.board.link_pins import connect_link_pins
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
        connect_link_pins(m, platform, host, busy_led=("led_g", 0), error_led=("led_r", 0))
        return m
