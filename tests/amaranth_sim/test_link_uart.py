"""hdl/link/uart_tx.py + uart_rx.py: loopback at the divisor bounds with random gaps, the receiver against
a line driven at +-1.9 % rate error, framing errors, and the divisor checks of hdl/link/baud.py."""
import random

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.sim import Simulator

from hdl.link.baud import baud_divisor
from hdl.link.uart_rx import UARTReceiver
from hdl.link.uart_tx import UARTTransmitter
from tb.amaranth_sim.streams import stream_get, stream_put


class Loopback(wiring.Component):
    def __init__(self, div_tx, div_rx):
        self.tx, self.rx = UARTTransmitter(div_tx), UARTReceiver(div_rx)
        super().__init__({"i": wiring.In(stream.Signature(8)), "o": wiring.Out(stream.Signature(8)),
                          "error": wiring.Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx, m.submodules.rx = self.tx, self.rx
        wiring.connect(m, wiring.flipped(self.i), self.tx.i)
        wiring.connect(m, self.rx.o, wiring.flipped(self.o))
        m.d.comb += [self.rx.rx.eq(self.tx.tx), self.error.eq(self.rx.error)]
        return m


def run(dut, *benches):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for b in benches:
        sim.add_testbench(b)
    sim.run()


@pytest.mark.parametrize("div_tx,div_rx", [(4, 4), (5, 5), (17, 17), (50, 49), (49, 50)])
def test_loopback_random_bytes_and_gaps(div_tx, div_rx):
    dut = Loopback(div_tx, div_rx)
    rng = random.Random(div_tx * 100 + div_rx)
    data = [0x00, 0xFF, 0x55, 0xAA] + [rng.randrange(256) for _ in range(28 if div_tx < 20 else 8)]
    got, errors = [], []

    async def send(ctx):
        for byte in data:
            await stream_put(ctx, dut.i, byte, rng=rng, p_gap=0.3)

    async def recv(ctx):
        while len(got) < len(data):
            got.append(await stream_get(ctx, dut.o, rng=rng, p_stall=0.2))

    async def watch(ctx):
        async for _, _, err in ctx.tick().sample(dut.error):
            if err:
                errors.append(1)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(send)
    sim.add_testbench(recv)
    sim.add_process(watch)
    sim.run_until(1e-6 * (len(data) * 10 * div_tx * 3 + 200))
    assert got == data
    assert not errors


def line_bits(byte, stop=1):
    return [0] + [(byte >> k) & 1 for k in range(8)] + [stop]


@pytest.mark.parametrize("rate_error", [-0.019, 0.0, 0.019])
def test_receiver_tolerates_rate_error_and_flags_bad_stop_bit(rate_error):
    """The line is driven by a Python model with bit period div * (1 + rate_error) (fractional, rounded to
    cycles per edge); a byte with a low stop bit raises `error` and is dropped."""
    div = 8
    dut = UARTReceiver(div)
    rng = random.Random(3)
    frames = [(rng.randrange(256), 1) for _ in range(10)] + [(0xA5, 0), (0x3C, 1)]
    got, errors = [], []

    async def drive(ctx):
        t, now = 2.0 * div, 0                                        # the line idles after reset
        ctx.set(dut.rx, 1)
        for byte, stop in frames:
            t += div * rng.choice([0, 0, 1, 3])                    # idle gap
            for bit in line_bits(byte, stop) + [1]:               # + one idle bit after a bad stop bit
                while now < round(t):
                    await ctx.tick()
                    now += 1
                ctx.set(dut.rx, bit)
                t += div * (1 + rate_error)
        for _ in range(4 * div):
            await ctx.tick()

    async def collect(ctx):
        ctx.set(dut.o.ready, 1)
        async for _, _, valid, payload, err in ctx.tick().sample(dut.o.valid, dut.o.payload, dut.error):
            if valid:
                got.append(payload)
            if err:
                errors.append(len(got))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_process(collect)
    sim.run_until(1e-6 * 14 * div * len(frames) * 2)
    expect = [b for b, stop in frames if stop]
    assert got == expect
    assert errors == [10]                  # exactly the bad-stop-bit byte, after the 10 good ones


def test_divisor_checks():
    assert baud_divisor(12e6, 3e6) == 4
    assert baud_divisor(25e6, 1e6) == 25
    assert baud_divisor(48e6, 3e6) == 16
    with pytest.raises(ValueError, match="at least 4"):
        baud_divisor(10e6, 3e6)
    with pytest.raises(ValueError, match="% off"):
        baud_divisor(12.5e6, 3e6)                 # 4.17 -> 4: 4.2 % off
    with pytest.raises(ValueError, match="positive"):
        baud_divisor(0, 3e6)
    with pytest.raises(ValueError, match="divisor"):
        UARTReceiver(3)


def test_host_top_checks_its_clock_and_baud():
    from hdl.link.host_top import HostTop
    assert HostTop(a=2, b=3, clk_hz=12_000_000, baud=3_000_000).divisor == 4
    with pytest.raises(ValueError, match="at least 4"):
        HostTop(a=2, b=3, clk_hz=10_000_000, baud=3_000_000)
    with pytest.raises(ValueError, match="controller=True"):
        HostTop(a=2, b=3, ctrl_bl_width=4)
