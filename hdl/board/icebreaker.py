"""iCEBreaker (iCE40UP5K-SG48) top: the SBE engine behind the UART host link (contract/host_protocol.py).

Clock: the board's 12 MHz oscillator directly (no PLL): 3 Mbaud is exactly 4 clocks per bit, the
UART's minimum (hdl/link/baud.py), and the engine is far below the UP5K's PLL range anyway.
Pins (amaranth_boards.icebreaker.ICEBreakerPlatform): UART rx = pin 6 / tx = pin 9 (the FT2232H's
second channel, 3 Mbaud), LEDs: green (pin 37) busy, red (pin 11) error (an error reply in the last
~87 ms at 12 MHz, or the engine's sticky saturated / framing_error flags).

Engine formats (ENGINE_FORMATS): the UP5K's 5,280 logic cells hold the engine with the link only at 8-bit
inputs and a 16-bit scalar mantissa, built with SBEEngine's iCE40 area forms (ENGINE_OPTIONS: the compact
scalar unit). The state keeps 16 bits: at 12 bits the engine's own error on the same quantised inputs
grows from ~1e-2 to ~0.1-0.4 per batch (`python -m experiments.accuracy_engine --widths 8 --engine ...`,
README "Run it on a board"), while 16 costs ~240 logic cells. Default shape a=8, b=12 (flow/bitstream.py).
ALU latency 4: a register after the normaliser's leading-bit index (FloatALU cut "bl"): at latency 3 the
compact ALU's add, normaliser and register-file write were one 83 ns path, at 11.8-12.0 MHz over nextpnr
seeds 1..6 on this stop's netlist (12 MHz needed); the board's rate is the UART's anyway.
"""
from __future__ import annotations

from amaranth import Elaboratable, Module

from contract.host_protocol import BAUD
from hdl.board.link_pins import connect_link_pins
from hdl.link.host_top import HostTop

CLK_HZ = 12_000_000

#: EngineConfig fields of the board's engine (any may be overridden through the top's keywords).
ENGINE_FORMATS = dict(in_width=8, state_width=16, coef_width=12, mant_width=16, fexp_width=8, elem_width=12,
                      s_mant_width=12, exp_width=4, max_batch=255, alu_latency=4)
#: SBEEngine's HDL-only keywords for the UP5K (bit-identical results and cycles; hdl/engine/sbe_engine.py).
ENGINE_OPTIONS = dict(compact=True, bram_delays=True)


class ICEBreakerTop(Elaboratable):
    """Engine-only HostTop on the iCEBreaker. Parameters: a, b, lanes and engine keywords (HostTop; the
    formats default to ENGINE_FORMATS, engine_options to ENGINE_OPTIONS)."""

    clk_hz = CLK_HZ

    def __init__(self, *, a: int, b: int, lanes: int = 1, baud: int = BAUD, engine_options: dict | None = None,
                 **params):
        self.host = HostTop(a=a, b=b, lanes=lanes, controller=False, clk_hz=CLK_HZ, baud=baud,
                            engine_options={**ENGINE_OPTIONS, **(engine_options or {})},
                            **{**ENGINE_FORMATS, **params})

    def elaborate(self, platform):
        m = Module()
        m.submodules.host = host = self.host
        connect_link_pins(m, platform, host, busy_led=("led_g", 0), error_led=("led_r", 0))
        return m
