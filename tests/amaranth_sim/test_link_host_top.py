"""hdl/link/host_top.py end to end in the Amaranth simulator: bytes on the UART pins (4 clocks per bit, a
Python line model on both sides), COBS frames (`cobs` package) and CRC (`crc` package) built here, the real
SBEEngine behind the link. A batch of samples goes in; READ_UPDATE must return the golden engine's update
(golden/rtl/sbe_engine.py) bit for bit; STATUS, a bad CRC and a SAMPLE while the update waits are checked
on the way. (Every error case of the command processor alone: test_link_command_processor.py.)"""
import struct

import crc
import numpy as np
import pytest
from amaranth.sim import Simulator
from cobs import cobs

from contract.host_protocol import (REG_WRITE_FORMAT, SAMPLE_HEADER_FORMAT, STATUS_FORMAT, UPDATE_HEADER_FORMAT,
                                    Cmd, Err, Reg, SampleFlag, StatusFlag)
from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.link.host_top import HostTop
from tb.stimulus import engine_batch

CRC = crc.Calculator(crc.Crc16.IBM_3740)


def request(cmd, seq, payload=b"", bad_crc=False):
    body = bytes([cmd, seq]) + payload
    return cobs.encode(body + struct.pack("<H", CRC.checksum(body) ^ (1 if bad_crc else 0))) + b"\x00"


@pytest.mark.parametrize("controller", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_host_top_batch_matches_golden_engine(controller):
    a, b, n = 3, 4, 3
    extra = {"controller": True, "ctrl_bl_width": 4} if controller else {}
    dut = HostTop(a=a, b=b, lanes=1, clk_hz=12_000_000, baud=3_000_000, led_stretch=2, **extra)
    div = dut.divisor
    xs, ds, xe, de = engine_batch(np.random.default_rng(5), a, b, n, width=16, headroom=2)
    g = SBEFixedEngine(a=a, b=b, lanes=1)
    for x, d, ex, ed in zip(xs, ds, xe, de):
        g.sample(list(map(int, x)), list(map(int, d)), int(ex), int(ed))
    upd = g.end_batch()
    replies = []
    done = []

    async def uart_send(ctx, data: bytes):
        for byte in data:
            for bit in [0] + [(byte >> k) & 1 for k in range(8)] + [1]:
                ctx.set(dut.rx, bit)
                for _ in range(div):
                    await ctx.tick()

    async def uart_recv(ctx):
        """Decode tx into frames (split at 0x00) and COBS-decode them."""
        buf = bytearray()
        while True:
            while ctx.get(dut.tx):
                await ctx.tick()
            for _ in range(div // 2):
                await ctx.tick()
            byte = 0
            for k in range(8):
                for _ in range(div):
                    await ctx.tick()
                byte |= ctx.get(dut.tx) << k
            for _ in range(div):
                await ctx.tick()
            assert ctx.get(dut.tx) == 1, "stop bit"
            if byte == 0:
                replies.append(cobs.decode(bytes(buf)))
                buf = bytearray()
            else:
                buf.append(byte)

    async def transact(ctx, data, limit=20_000):
        k = len(replies)
        await uart_send(ctx, data)
        for _ in range(limit):
            if len(replies) > k:
                r = replies[k]
                assert struct.unpack("<H", r[-2:])[0] == CRC.checksum(r[:-2])
                return r[0], r[3:-2]
            await ctx.tick()
        raise AssertionError(f"no reply to {data.hex()}")

    async def bench(ctx):
        ctx.set(dut.rx, 1)
        for _ in range(300):                       # the engine initialises its state after reset
            await ctx.tick()
        await uart_send(ctx, b"\x00")             # resynchronise (skipped up to here)
        st, pl = await transact(ctx, request(Cmd.STATUS, 1, bad_crc=True))
        assert st == Err.BAD_CRC
        if controller:                             # a written update: BL 3 slots, lr 1, stochastic mode
            ctx.set(dut.slot_ready, 1)
            for reg, value in ((Reg.BL, 3), (Reg.LR_MANT, 1)):
                st, pl = await transact(ctx, request(Cmd.WRITE_REG, 2, struct.pack(REG_WRITE_FORMAT, reg, value)))
                assert (st, pl) == (Err.OK, b"")
        for j in range(n):
            fl = int(SampleFlag.LAST_OF_BATCH) if j == n - 1 else 0
            payload = struct.pack(SAMPLE_HEADER_FORMAT, fl, int(xe[j]), int(de[j])) + \
                struct.pack(f"<{a + b}h", *map(int, xs[j]), *map(int, ds[j]))
            st, pl = await transact(ctx, request(Cmd.SAMPLE, 10 + j, payload))
            assert (st, pl) == (Err.OK, b"")
        st, pl = await transact(ctx, request(Cmd.SAMPLE, 20, payload))
        assert st == Err.BUSY
        st, pl = await transact(ctx, request(Cmd.READ_UPDATE, 21))
        assert st == Err.OK
        assert pl == struct.pack(UPDATE_HEADER_FORMAT, upd["s_mant"], upd["s_exp"]) + \
            struct.pack(f"<{a + b}h", *upd["dhat"], *upd["xhat"])
        for _ in range(200):                       # the controller finishes its write
            await ctx.tick()
        st, pl = await transact(ctx, request(Cmd.STATUS, 22))
        flags, _, count, batches, writes, errors = struct.unpack(STATUS_FORMAT, pl)
        has = int(StatusFlag.HAS_CONTROLLER) if controller else 0
        assert (flags & ~int(StatusFlag.SATURATED), count, batches, writes, errors) == (has, 0, 1, int(controller), 2)
        done.append(1)

    led = []                                       # (error strobe, error_led, engine's sticky flags) per cycle

    async def watch_led(ctx):
        async for _, _, *v in ctx.tick().sample(dut.proc.error, dut.error_led, dut.core.saturated,
                                                dut.core.framing_error):
            led.append((v[0], v[1], v[2] | v[3]))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.add_testbench(uart_recv, background=True)
    sim.add_testbench(watch_led, background=True)
    sim.run()
    assert done
    # the first error reply (BAD_CRC, before any sample: no sticky flag) lights the LED for 2**2 cycles
    first = [e for e, _, _ in led].index(1)
    assert not any(s for _, _, s in led[:first + 6])
    assert [on for _, on, _ in led[:first + 6]] == [0] * (first + 1) + [1] * 4 + [0]
