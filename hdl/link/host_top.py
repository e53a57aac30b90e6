"""Board-independent top: the SBE engine (or a whole SBELayer: engine + update controller) behind the UART
host link of contract/host_protocol.py.

    rx -> UARTReceiver -> COBSDecoder -> CommandProcessor -> COBSEncoder -> UARTTransmitter -> tx
                                              |  samples / update stream / registers / clear
                                         SBEEngine  or  SBELayer (hdl/sbe_layer.py)

Parameters
----------
a, b, lanes : int        the engine's (and controller's) shape (contract/engine_config.py)
controller : bool        False: engine only (update stream captured, never stalled); True: SBELayer
                         (the controller's pulse lines and slot handshake become ports)
clk_hz, baud : int       the top's clock and UART rate; clk_hz/baud rounded to the divisor, which must be
                         >= 4 with a rate error < 2 % (hdl/link/baud.py; ValueError otherwise)
led_stretch : int        the error LED stays on 2**led_stretch cycles after an error reply
engine_options : dict    SBEEngine's HDL-only keywords (hdl/engine/sbe_engine.py: compact, bram_delays, the
                         iCE40 area forms; bit-identical results, same cycles); default none
seed, **params           engine parameters, and with a controller `ctrl_*` ones and the LFSR seed
                         (contract/layer_config.py)

Ports
-----
rx : In(1), tx : Out(1)                  UART lines (idle high)
busy_led : Out(1)                        the engine or controller is busy, or a request is being handled
error_led : Out(1)                       an error reply in the last 2**led_stretch cycles, or the engine's
                                         sticky saturated/framing_error flags
with a controller: row_fire, row_pol : Out(a); col_fire, col_pol : Out(b); slot : Out(1);
slot_ready : In(1); done : Out(1)       as hdl/sbe_layer.py (slot taken when slot & slot_ready)
"""
from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.engine_config import EngineConfig
from contract.host_protocol import BAUD
from contract.layer_config import layer_configs

from hdl.engine.sbe_engine import SBEEngine
from hdl.sbe_layer import SBELayer
from hdl.link.baud import baud_divisor
from hdl.link.cobs_decoder import COBSDecoder
from hdl.link.cobs_encoder import COBSEncoder
from hdl.link.command_processor import CommandProcessor
from hdl.link.uart_rx import UARTReceiver
from hdl.link.uart_tx import UARTTransmitter


class HostTop(wiring.Component):
    """See the module docstring."""

    def __init__(self, *, a: int, b: int, lanes: int = 1, controller: bool = False, clk_hz: int = 12_000_000,
                 baud: int = BAUD, led_stretch: int = 20, seed: int = 0, engine_options: dict | None = None, **params):
        if not isinstance(controller, bool):
            raise TypeError(f"controller must be True or False, not {controller!r}")
        if not isinstance(led_stretch, int) or not 0 <= led_stretch <= 32:
            raise ValueError(f"led_stretch must be an int in 0..32, not {led_stretch!r}")
        self.divisor = baud_divisor(clk_hz, baud)
        self.clk_hz, self.baud, self.led_stretch = int(clk_hz), int(baud), led_stretch
        self.controller = controller
        if controller:
            self.eng_cfg, self.ctrl_cfg = layer_configs(a=a, b=b, lanes=lanes, seed=seed, **params)
            self.core = SBELayer(a=a, b=b, lanes=lanes, seed=seed, engine_options=engine_options, **params)
        else:
            if seed or any(k.startswith("ctrl_") for k in params):
                raise ValueError("seed and ctrl_* parameters need controller=True")
            self.eng_cfg, self.ctrl_cfg = EngineConfig(a=a, b=b, lanes=lanes, **params), None
            self.core = SBEEngine(self.eng_cfg, **(engine_options or {}))
        self.proc = CommandProcessor(self.eng_cfg, self.ctrl_cfg, clk_hz=self.clk_hz, baud=self.baud)
        sig = {"rx": In(1, init=1), "tx": Out(1, init=1), "busy_led": Out(1), "error_led": Out(1)}
        if controller:
            sig.update(row_fire=Out(a), row_pol=Out(a), col_fire=Out(b), col_pol=Out(b), slot=Out(1),
                       slot_ready=In(1), done=Out(1))
        super().__init__(sig)

    a = property(lambda self: self.eng_cfg.a)
    b = property(lambda self: self.eng_cfg.b)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UARTReceiver(self.divisor)
        m.submodules.uart_tx = tx = UARTTransmitter(self.divisor)
        m.submodules.cobs_dec = dec = COBSDecoder()
        m.submodules.cobs_enc = enc = COBSEncoder()
        m.submodules.proc = proc = self.proc
        m.submodules.core = core = self.core
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx), dec.rx_error.eq(rx.error)]
        wiring.connect(m, rx.o, dec.i)
        wiring.connect(m, dec.o, proc.i)
        wiring.connect(m, proc.o, enc.i)
        wiring.connect(m, enc.o, tx.i)
        wiring.connect(m, proc.samples, core.i)
        m.d.comb += [proc.saturated.eq(core.saturated), proc.framing_error.eq(core.framing_error),
                     proc.sample_count.eq(core.sample_count), core.clear.eq(proc.clear)]
        if self.controller:
            layer = core
            m.d.comb += [proc.upd_valid.eq(layer.tap_valid), proc.upd.eq(layer.tap_payload),
                         proc.eng_busy.eq(layer.engine.busy), proc.ctrl_busy.eq(layer.controller.busy),
                         proc.ctrl_status.eq(layer.status), proc.ctrl_done.eq(layer.done),
                         layer.lr_mant.eq(proc.lr_mant), layer.lr_exp.eq(proc.lr_exp), layer.bl.eq(proc.bl),
                         layer.mode.eq(proc.mode), layer.slot_ready.eq(self.slot_ready)]
            m.d.comb += [getattr(self, p).eq(getattr(layer, p))
                         for p in ("row_fire", "row_pol", "col_fire", "col_pol", "slot", "done")]
            core_busy = layer.busy
        else:
            m.d.comb += [proc.upd_valid.eq(core.o.valid), proc.upd.eq(core.o.payload), core.o.ready.eq(1),
                         proc.eng_busy.eq(core.busy)]
            core_busy = core.busy
        # Error LED: stretched error-reply strobe, or the engine's sticky flags. `stretch` counts up from 0
        # after an error reply and stops when its top bit sets: on for 2**led_stretch cycles, and the top
        # bit is the (inverted) LED, no zero test.
        stretch = Signal(self.led_stretch + 1, init=1 << self.led_stretch)
        with m.If(proc.error):
            m.d.sync += stretch.eq(0)
        with m.Elif(~stretch[-1]):
            m.d.sync += stretch.eq(stretch + 1)
        m.d.comb += [self.busy_led.eq(core_busy | proc.busy),
                     self.error_led.eq(~stretch[-1] | core.saturated | core.framing_error)]
        return m
