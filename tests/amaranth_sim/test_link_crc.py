"""hdl/link/crc16.py against the `crc` package (the host's reference): CRC-16/CCITT-FALSE (IBM_3740)."""
import random

import crc
from amaranth.sim import Simulator

from hdl.link.crc16 import CRC16, crc16_ref

CALC = crc.Calculator(crc.Crc16.IBM_3740)


def test_software_twin_matches_crc_package():
    rng = random.Random(1)
    assert CALC.checksum(b"123456789") == 0x29B1          # the catalogue check value of CRC-16/CCITT-FALSE
    for n in (0, 1, 2, 7, 64):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert crc16_ref(data) == CALC.checksum(data)


def test_rtl_crc_random_messages_with_gaps_and_init():
    dut = CRC16()
    rng = random.Random(7)
    messages = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))) for _ in range(12)]
    messages.append(b"123456789")

    async def bench(ctx):
        for msg in messages:
            ctx.set(dut.init, 1)
            await ctx.tick()
            ctx.set(dut.init, 0)
            for byte in msg:
                while rng.random() < 0.3:                   # idle cycles: en low keeps the value
                    ctx.set(dut.en, 0)
                    await ctx.tick()
                ctx.set(dut.data, byte)
                ctx.set(dut.en, 1)
                await ctx.tick()
            ctx.set(dut.en, 0)
            await ctx.tick()
            assert ctx.get(dut.value) == CALC.checksum(msg), msg.hex()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
