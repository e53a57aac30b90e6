"""Pin-light wrapper for place and route: any component behind a 4-pin serial harness.

A real board cannot bring out hundreds of stream bits (the iCE40UP5K sg48 has 39 I/O), and a block
whose ports are left floating is optimised away by synthesis. The harness keeps every port live:

    sin  -> shift register holding all the component's input ports (shifted one bit per clock)
    load -> 1: capture all the component's output ports into an output shift register; 0: shift it
    sout <- the output shift register's low bit

Used only for resource and Fmax figures (`make synth`); the harness itself costs one flip-flop per port
bit, which the synthesis report includes (stated beside the figures).
"""

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class SerialHarness(wiring.Component):
    sin: In(1)
    load: In(1)
    sout: Out(1)

    def __init__(self, component: wiring.Component):
        self._dut = component
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self._dut
        ins, outs = [], []
        for _path, member, value in dut.signature.flatten(dut):
            (ins if member.flow == wiring.In else outs).append(value.as_value() if hasattr(value, "as_value") else value)
        in_bits, out_bits = Cat(*ins), Cat(*outs)
        sr_in = Signal(len(in_bits))
        sr_out = Signal(len(out_bits))
        m.d.sync += sr_in.eq(Cat(self.sin, sr_in[:-1]) if len(sr_in) > 1 else self.sin)
        m.d.comb += in_bits.eq(sr_in)
        with m.If(self.load):
            m.d.sync += sr_out.eq(out_bits)
        with m.Else():
            m.d.sync += sr_out.eq(sr_out >> 1)
        m.d.comb += self.sout.eq(sr_out[0])
        return m
