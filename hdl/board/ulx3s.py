"""ULX3S (ECP5 LFE5U-25F, CABGA381) top: an SBELayer (engine + update controller) for an 8 x 8 array behind
the UART host link (contract/host_protocol.py), the controller's pulse lines on the GPIO header.

Clock: the 25 MHz oscillator through an EHXPLLL to 12 MHz (CLKI_DIV 1, CLKFB_DIV 1, CLKOP_DIV 24 as the
25 MHz feedback, VCO 600 MHz, CLKOS_DIV 50 = 12 MHz; parameters from `ecppll -i 25 -o 12 --highres`):
3 Mbaud is then exactly 4 clocks per bit, and the engine's single-cycle float ALU closes at 12 MHz.
The design is held in reset until the PLL locks.

Pins (amaranth_boards.ulx3s platform, connector "gpio" 0 = headers J1/J2, 3.3 V LVCMOS):
    row_fire[0..7]  gpio 0+ 0- 1+ 1- 2+ 2- 3+ 3-        row_pol[0..7]  gpio 4+ .. 7-
    col_fire[0..7]  gpio 8+ .. 11-                        col_pol[0..7]  gpio 12+ .. 15-
    slot            gpio 16+ (out: a slot is presented; fire/pol stable while slot waits)
    slot_ready      gpio 16- (in, pulled up: with nothing attached every slot is taken at once)
    done            gpio 17+ (out: one-cycle strobe per finished write)
    UART            FTDI FT231X rx = M1, tx = L4 (3 Mbaud)
    LEDs            led 0 (B2) busy, led 1 (C2) error (error reply in the last ~87 ms, or engine flags)
A slot is taken by the line-driver board on a clock edge where slot & slot_ready (12 MHz clock).
"""
from __future__ import annotations

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.build import Attrs, Pins, Resource, Subsignal

from contract.host_protocol import BAUD
from hdl.board.link_pins import connect_link_pins
from hdl.link.host_top import HostTop

CLK_HZ = 12_000_000
#: EHXPLLL parameters: 25 MHz in, CLKOS 12 MHz out (see the module docstring).
PLL_PARAMS = dict(p_CLKI_DIV=1, p_CLKFB_DIV=1, p_CLKOP_DIV=24, p_CLKOP_CPHASE=9, p_CLKOP_FPHASE=0,
                  p_CLKOS_DIV=50, p_CLKOS_CPHASE=0, p_CLKOS_FPHASE=0, p_FEEDBK_PATH="CLKOP",
                  p_CLKOP_ENABLE="ENABLED", p_CLKOS_ENABLE="ENABLED", p_PLLRST_ENA="DISABLED",
                  p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
                  p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB", p_OUTDIVIDER_MUXC="DIVC",
                  p_OUTDIVIDER_MUXD="DIVD")
PLL_ATTRS = {"FREQUENCY_PIN_CLKI": "25", "FREQUENCY_PIN_CLKOS": "12", "ICP_CURRENT": "12",
             "LPF_RESISTOR": "8", "MFG_ENABLE_FILTEROPAMP": "1", "MFG_GMCREF_SEL": "2"}


def _gpio(names):
    return " ".join(names)


def line_resources(lines: int = 8):
    """The pulse-line and handshake pins on connector gpio 0 (see the module docstring)."""
    pairs = [f"{k}{s}" for k in range(32) for s in "+-"]
    group = lambda g: _gpio(pairs[g * lines:(g + 1) * lines])
    io = Attrs(IO_TYPE="LVCMOS33", DRIVE="4")
    n = 4 * lines
    return [
        Resource("sbe_lines", 0,
                 Subsignal("row_fire", Pins(group(0), dir="o", conn=("gpio", 0))),
                 Subsignal("row_pol", Pins(group(1), dir="o", conn=("gpio", 0))),
                 Subsignal("col_fire", Pins(group(2), dir="o", conn=("gpio", 0))),
                 Subsignal("col_pol", Pins(group(3), dir="o", conn=("gpio", 0))),
                 Subsignal("slot", Pins(pairs[n], dir="o", conn=("gpio", 0))),
                 Subsignal("slot_ready", Pins(pairs[n + 1], dir="i", conn=("gpio", 0)), Attrs(PULLMODE="UP")),
                 Subsignal("done", Pins(pairs[n + 2], dir="o", conn=("gpio", 0))),
                 io),
    ]


class ULX3STop(Elaboratable):
    """SBELayer HostTop on the ULX3S. Parameters: a = b = `lines` (8: the header carries 4 x 8 lines),
    lanes, and engine / ctrl_* keywords (HostTop)."""

    clk_hz = CLK_HZ

    def __init__(self, *, lines: int = 8, lanes: int = 1, baud: int = BAUD, **params):
        if not isinstance(lines, int) or not 1 <= lines <= 12:
            raise ValueError(f"lines must be an int in 1..12 (4 x lines + 3 pins of the 56 on the GPIO header), "
                             f"not {lines!r}")
        self.lines = lines
        self.host = HostTop(a=lines, b=lines, lanes=lanes, controller=True, clk_hz=CLK_HZ, baud=baud, **params)

    def elaborate(self, platform):
        m = Module()
        # 25 MHz -> 12 MHz; reset until lock
        m.submodules.clk25 = clk25 = io.Buffer("i", platform.request("clk25", 0, dir="-"))
        clk12 = Signal(name="clk12")
        locked = Signal(name="pll_locked")
        fb = Signal(name="pll_fb")
        m.submodules.pll = Instance("EHXPLLL", a_FREQUENCY_PIN_CLKI="25", a_FREQUENCY_PIN_CLKOS="12",
                                    a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                                    a_MFG_GMCREF_SEL="2", **PLL_PARAMS,
                                    i_CLKI=clk25.i, i_CLKFB=fb, o_CLKOP=fb, o_CLKOS=clk12, o_LOCK=locked,
                                    i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1,
                                    i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
        m.domains.sync = ClockDomain("sync")
        m.d.comb += ClockSignal("sync").eq(clk12)
        m.submodules.rst_sync = ResetSynchronizer(~locked, domain="sync")
        platform.add_clock_constraint(clk12, CLK_HZ)

        m.submodules.host = host = self.host
        connect_link_pins(m, platform, host, busy_led=("led", 0), error_led=("led", 1))
        platform.add_resources(line_resources(self.lines))
        pins = platform.request("sbe_lines", 0, dir="-")
        outs = {name: getattr(host, name) for name in ("row_fire", "row_pol", "col_fire", "col_pol", "slot", "done")}
        for name, sig in outs.items():
            m.submodules[f"{name}_buf"] = buf = io.Buffer("o", getattr(pins, name))
            m.d.comb += buf.o.eq(sig)
        m.submodules.slot_ready_buf = ready = io.Buffer("i", pins.slot_ready)
        m.d.comb += host.slot_ready.eq(ready.i)
        return m
