"""hdl/link/command_processor.py against contract/host_protocol.py, in the Amaranth simulator: every
command and every error case, with random gaps on the request stream, back-pressure on the reply and
sample streams, and the test playing the engine (it checks the sample beats and answers a closed batch
with a random update on the update stream). Expected replies are built here from the contract's formats
(struct) and CRC (the `crc` package), not from the RTL."""
import random
import struct

import crc
import pytest
from amaranth.sim import Simulator

from contract.engine_config import EngineConfig
from contract.host_protocol import (ID_FORMAT, MAGIC, PROTOCOL_VERSION, REG_WRITE_FORMAT, SAMPLE_HEADER_FORMAT,
                                    STATUS_FORMAT, UPDATE_HEADER_FORMAT, Cmd, Err, Reg, SampleFlag, StatusFlag,
                                    max_request_length)
from contract.layer_config import layer_configs
from contract.layouts import sample_beats, update_beats
from hdl.link.command_processor import CommandProcessor
from tb.amaranth_sim.buffer_reads import watch_buffer_reads
from tb.amaranth_sim.streams import stream_put

CRC = crc.Calculator(crc.Crc16.IBM_3740)
CLK, BAUD = 12_000_000, 3_000_000


def frame(cmd: int, seq: int, payload: bytes = b"", *, bad_crc: bool = False) -> bytes:
    body = bytes([cmd, seq]) + payload
    c = CRC.checksum(body) ^ (0x0100 if bad_crc else 0)
    return body + struct.pack("<H", c)


async def read_reply(ctx, dut, rng, cycles=None):
    """The next reply frame on dut.o (random back-pressure: ready 70 % of the cycles), parsed; None if
    none ends within `cycles` cycles (no limit by default)."""
    out = bytearray()
    n = 0
    while cycles is None or n < cycles:
        n += 1
        ready = rng.random() > 0.3
        ctx.set(dut.o.ready, int(ready))
        _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
        if valid and ready:
            out.append(payload.data)
            if payload.last:
                ctx.set(dut.o.ready, 0)
                return parse(bytes(out))
    return None


def parse(reply: bytes):
    assert len(reply) >= 5, reply.hex()
    assert struct.unpack("<H", reply[-2:])[0] == CRC.checksum(reply[:-2]), "reply crc"
    return reply[0], reply[1], reply[2], reply[3:-2]


class Bench:
    def __init__(self, *, controller: bool, lanes: int, a=3, b=5, seed=0):
        if controller:
            self.eng, self.ctrl = layer_configs(a=a, b=b, lanes=lanes, in_width=12, elem_width=12, s_mant_width=14,
                                                ctrl_bl_width=6)
        else:
            self.eng, self.ctrl = EngineConfig(a=a, b=b, lanes=lanes, in_width=12), None
        self.dut = CommandProcessor(self.eng, self.ctrl, clk_hz=CLK, baud=BAUD)
        self.rng = random.Random(seed)
        self.beats = []          # sample beats the "engine" took
        self.updates = []        # updates it will send: (dhat, xhat, s_mant, s_exp)
        self.clears = 0

    def sample(self, x, delta, *, last=False, xe=0, de=0, flags=None):
        fl = int(SampleFlag.LAST_OF_BATCH) if last else 0
        fl = fl if flags is None else flags
        payload = struct.pack(SAMPLE_HEADER_FORMAT, fl, xe, de) + b"".join(struct.pack("<h", v) for v in list(x) + list(delta))
        return payload

    def rand_vec(self, n, width):
        lim = 1 << (width - 1)
        return [self.rng.randrange(-lim, lim) for _ in range(n)]


@pytest.mark.parametrize("controller,lanes", [(False, 1), (True, 2)])
def test_every_command_and_error(controller, lanes):
    t = Bench(controller=controller, lanes=lanes, seed=lanes)
    dut, eng, rng = t.dut, t.eng, t.rng
    a, b = eng.a, eng.b
    replies = []
    seen_updates = []

    async def send_and_get(ctx, data: bytes, *, cobs_error=False, expect_reply=True):
        for byte in data:
            await stream_put(ctx, dut.i, {"data": byte, "end": 0, "error": 0}, rng=rng, p_gap=0.3)
        await stream_put(ctx, dut.i, {"data": 0, "end": 1, "error": int(cobs_error)}, rng=rng, p_gap=0.3)
        if not expect_reply:
            for _ in range(20):
                await ctx.tick()
                assert not ctx.get(dut.o.valid), "an empty frame got a reply"
            return None
        reply = await read_reply(ctx, dut, rng, cycles=5000)
        if reply is None:
            raise AssertionError(f"no reply to {data.hex()}")
        return reply

    async def engine(ctx):
        """The engine: takes sample beats with random stalls; a closed batch is answered by an update."""
        while True:
            ready = rng.random() > 0.4
            ctx.set(dut.samples.ready, int(ready))
            _, _, valid, beat = await ctx.tick().sample(dut.samples.valid, dut.samples.payload)
            if not (valid and ready):
                continue
            t.beats.append({"elems": [beat.elems[j] for j in range(lanes)], "exp": beat.exp, "vec": beat.vec,
                            "last": beat.last, "last_of_batch": beat.last_of_batch})
            if beat.last_of_batch:
                dh, xh = t.rand_vec(a, eng.elem_width), t.rand_vec(b, eng.elem_width)
                sm, se = t.rand_vec(1, eng.s_mant_width)[0], t.rand_vec(1, eng.s_exp_width)[0]
                seen_updates.append((dh, xh, sm, se))
                for _ in range(rng.randrange(5, 60)):          # the read-out comes later
                    await ctx.tick()
                for u in update_beats(dh, xh, sm, se, lanes):
                    ctx.set(dut.upd_valid, 1)
                    ctx.set(dut.upd, u)
                    await ctx.tick()
                    ctx.set(dut.upd_valid, 0)
                    for _ in range(rng.randrange(0, 3)):
                        await ctx.tick()

    async def watch_clear(ctx):
        async for _, _, clear in ctx.tick().sample(dut.clear):
            t.clears += clear

    async def bench(ctx):
        errors = 0

        async def expect(data, status, *, cmd=None, seq=None, payload=b"", **kw):
            nonlocal errors
            st, rc, rs, pl = await send_and_get(ctx, data, **kw)
            assert st == status, (data.hex(), Err(st).name, status.name)
            if cmd is not None:
                assert (rc, rs) == (cmd, seq)
            if payload is not None:
                assert pl == payload, (data.hex(), pl.hex(), payload.hex())
            errors += status != Err.OK
            return pl

        c = t.ctrl
        id_expect = struct.pack(ID_FORMAT, MAGIC, PROTOCOL_VERSION, a, b, lanes, eng.in_width, eng.elem_width,
                                eng.s_mant_width, eng.s_exp_width, eng.max_batch, int(controller),
                                c.bl_width if c else 0, c.lr_width if c else 0, c.lr_exp_width if c else 0, CLK, BAUD,
                                eng.exp_width, eng.x_frac, eng.delta_frac, eng.state_width, eng.coef_width,
                                eng.mant_width, eng.fexp_width, eng.seed_bits)
        # power-up: an empty frame gets no reply; ID
        await send_and_get(ctx, b"", expect_reply=False)
        await expect(frame(Cmd.ID, 1), Err.OK, cmd=Cmd.ID, seq=1, payload=id_expect)
        # framing and header errors
        await expect(b"\x06\x07", Err.TRUNCATED, cmd=6, seq=7)
        await expect(b"\x06", Err.TRUNCATED, cmd=6, seq=0)
        await expect(frame(Cmd.ID, 2), Err.TRUNCATED, cmd=0, seq=0, cobs_error=True)
        await expect(frame(Cmd.SAMPLE, 3, bytes(max_request_length(a, b) - 3)), Err.TOO_LONG, cmd=Cmd.SAMPLE, seq=3)
        await expect(frame(Cmd.STATUS, 4, bad_crc=True), Err.BAD_CRC, cmd=Cmd.STATUS, seq=4)
        await expect(frame(0x42, 5), Err.UNKNOWN_CMD, cmd=0x42, seq=5)
        await expect(frame(0, 5), Err.UNKNOWN_CMD, cmd=0, seq=5)
        await expect(frame(Cmd.STATUS, 6, b"\x00"), Err.BAD_LENGTH, cmd=Cmd.STATUS, seq=6)
        await expect(frame(Cmd.SAMPLE, 6, t.sample([0] * b, [0] * a)[:-2]), Err.BAD_LENGTH)
        # registers
        await expect(frame(Cmd.READ_REG, 7, b"\x09"), Err.BAD_REG)
        await expect(frame(Cmd.WRITE_REG, 7, struct.pack(REG_WRITE_FORMAT, Reg.BATCHES, 0)), Err.BAD_REG)
        if not controller:
            await expect(frame(Cmd.WRITE_REG, 7, struct.pack(REG_WRITE_FORMAT, Reg.LR_MANT, 1)), Err.BAD_REG)
            await expect(frame(Cmd.READ_REG, 7, bytes([Reg.WRITES])), Err.BAD_REG)
        else:
            wr = lambda r, v: frame(Cmd.WRITE_REG, 8, struct.pack("<Bi" if v < 0 else REG_WRITE_FORMAT, r, v))
            await expect(wr(Reg.BL, 1 << c.bl_width), Err.BAD_VALUE)
            await expect(wr(Reg.BL, -1), Err.BAD_VALUE)
            await expect(wr(Reg.LR_EXP, 1 << (c.lr_exp_width - 1)), Err.BAD_VALUE)
            await expect(wr(Reg.MODE, 8), Err.BAD_VALUE)
            for r, v in ((Reg.BL, (1 << c.bl_width) - 1), (Reg.LR_EXP, -(1 << (c.lr_exp_width - 1))),
                         (Reg.LR_MANT, 12345 % (1 << c.lr_width)), (Reg.MODE, 5)):
                await expect(wr(r, v), Err.OK, payload=b"")
                await expect(frame(Cmd.READ_REG, 9, bytes([r])), Err.OK, payload=struct.pack("<i", v))
            assert ctx.get(dut.bl) == (1 << c.bl_width) - 1 and ctx.get(dut.lr_exp) == -(1 << (c.lr_exp_width - 1))
            assert ctx.get(dut.lr_mant) == 12345 % (1 << c.lr_width) and ctx.get(dut.mode.as_value()) == 5
            ctx.set(dut.eng_busy, 1)
            await expect(wr(Reg.BL, 3), Err.BUSY)
            ctx.set(dut.eng_busy, 0)
            ctx.set(dut.ctrl_busy, 1)
            await expect(wr(Reg.BL, 3), Err.BUSY)
            ctx.set(dut.ctrl_busy, 0)
            assert ctx.get(dut.bl) == (1 << c.bl_width) - 1          # the refused writes changed nothing
        await expect(frame(Cmd.READ_UPDATE, 10), Err.NOT_READY)
        # bad samples change nothing
        lim = 1 << (eng.in_width - 1)
        lo_e, hi_e = eng.exp_range
        for pl in (t.sample([lim] + [0] * (b - 1), [0] * a), t.sample([0] * b, [0] * (a - 1) + [-lim - 1]),
                   t.sample([0] * b, [0] * a, flags=2), t.sample([0] * b, [0] * a, xe=hi_e + 1),
                   t.sample([0] * b, [0] * a, de=lo_e - 1)):
            await expect(frame(Cmd.SAMPLE, 11, pl), Err.BAD_VALUE)
        assert t.beats == []
        # a batch of three samples; SAMPLE while the update waits is BUSY; READ_UPDATE returns it
        sent = []
        for j in range(3):
            x, d = t.rand_vec(b, eng.in_width), t.rand_vec(a, eng.in_width)
            x[0], d[-1] = -lim, lim - 1
            xe, de = rng.randint(lo_e, hi_e), rng.randint(lo_e, hi_e)
            sent += sample_beats(x, d, lanes, j == 2, xe, de)
            await expect(frame(Cmd.SAMPLE, 20 + j, t.sample(x, d, last=(j == 2), xe=xe, de=de)), Err.OK,
                         cmd=Cmd.SAMPLE, seq=20 + j, payload=b"")
        assert t.beats == sent
        await expect(frame(Cmd.SAMPLE, 23, t.sample([0] * b, [0] * a)), Err.BUSY)
        pl = await expect(frame(Cmd.READ_UPDATE, 24), Err.OK, payload=None)
        dh, xh, sm, se = seen_updates[-1]
        assert pl == struct.pack(UPDATE_HEADER_FORMAT, sm, se) + struct.pack(f"<{a + b}h", *dh, *xh)
        await expect(frame(Cmd.READ_UPDATE, 25), Err.OK, payload=pl)     # held: a lost reply is read again
        # status: flags from the inputs, counters
        ctx.set(dut.sample_count, 0x1234)
        ctx.set(dut.saturated, 1)
        ctx.set(dut.ctrl_status, 0b1010)
        for _ in range(3):
            ctx.set(dut.ctrl_done, 1)
            await ctx.tick()
        ctx.set(dut.ctrl_done, 0)
        flags = StatusFlag.SATURATED | (StatusFlag.HAS_CONTROLLER if controller else 0)
        await expect(frame(Cmd.STATUS, 26), Err.OK,
                     payload=struct.pack(STATUS_FORMAT, flags, 0b1010, 0x1234, 1, 3, errors))
        await expect(frame(Cmd.READ_REG, 27, bytes([Reg.BATCHES])), Err.OK, payload=struct.pack("<I", 1))
        await expect(frame(Cmd.READ_REG, 27, bytes([Reg.ERRORS])), Err.OK, payload=struct.pack("<I", errors))
        # an accepted SAMPLE starts the next batch and drops the held update
        await expect(frame(Cmd.SAMPLE, 28, t.sample([2] * b, [2] * a)), Err.OK)
        await expect(frame(Cmd.READ_UPDATE, 29), Err.NOT_READY)
        # another batch, then CLEAR drops the pending update
        await expect(frame(Cmd.SAMPLE, 30, t.sample([1] * b, [1] * a, last=True)), Err.OK)
        await expect(frame(Cmd.STATUS, 31), Err.OK, payload=None)
        clears = t.clears
        await expect(frame(Cmd.CLEAR, 32), Err.OK, cmd=Cmd.CLEAR, seq=32, payload=b"")
        assert t.clears == clears + 1
        for _ in range(100):                       # the dropped batch's update may still be under way
            await ctx.tick()
        await expect(frame(Cmd.CLEAR, 33), Err.OK)
        await expect(frame(Cmd.READ_UPDATE, 34), Err.NOT_READY)
        await expect(frame(Cmd.SAMPLE, 35, t.sample([1] * b, [1] * a)), Err.OK)
        replies.append("done")

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.add_testbench(engine, background=True)
    sim.add_testbench(watch_clear, background=True)
    seen = {}
    sim.add_testbench(watch_buffer_reads(dut, seen), background=True)
    sim.run()
    assert replies == ["done"]
    assert all(v["used"] > 0 and v["hazards"] == 0 for v in seen.values()) and len(seen) == 2, seen


def test_status_and_counters_are_taken_at_the_request():
    """STATUS and READ_REG answer with the values at the request's check: an update completing, a
    controller write finishing and the engine's status changing while the reply is on its way show in
    the next reply, not in this one (the counters' increments wait for the reply's end)."""
    t = Bench(controller=False, lanes=1, seed=5)
    dut, eng, rng = t.dut, t.eng, t.rng
    a, b = eng.a, eng.b
    done = []

    async def request(ctx, data: bytes, during=None):
        """Sends a request; once its reply has started, runs `during` (a coroutine function of ctx),
        then takes the reply with random stalls."""
        for byte in data:
            await stream_put(ctx, dut.i, {"data": byte, "end": 0, "error": 0}, rng=rng, p_gap=0.3)
        await stream_put(ctx, dut.i, {"data": 0, "end": 1, "error": 0}, rng=rng, p_gap=0.3)
        ctx.set(dut.o.ready, 0)
        await ctx.tick().until(dut.o.valid)
        if during is not None:
            await during(ctx)
        return await read_reply(ctx, dut, rng)

    async def update_and_write(ctx):
        """An update completes (s = 0, elements 0), a controller write finishes, the engine's flags move."""
        ctx.set(dut.sample_count, 9)
        ctx.set(dut.saturated, 1)
        for u in update_beats([0] * a, [0] * b, 0, 0, 1):
            ctx.set(dut.upd_valid, 1)
            ctx.set(dut.upd, u)
            await ctx.tick()
        ctx.set(dut.upd_valid, 0)
        ctx.set(dut.ctrl_done, 1)
        await ctx.tick()
        ctx.set(dut.ctrl_done, 0)

    async def bench(ctx):
        ctx.set(dut.samples.ready, 1)
        ctx.set(dut.sample_count, 5)
        status = lambda flags, count, batches, writes, errors: (
            Err.OK, Cmd.STATUS, 1, struct.pack(STATUS_FORMAT, flags, 0, count, batches, writes, errors))
        assert await request(ctx, frame(Cmd.STATUS, 1, bad_crc=True)) == (Err.BAD_CRC, Cmd.STATUS, 1, b"")
        # a closed batch: an update is pending (UPDATE_READY) before it completes
        st = await request(ctx, frame(Cmd.SAMPLE, 2, t.sample([0] * b, [0] * a, last=True)))
        assert st == (Err.OK, Cmd.SAMPLE, 2, b"")
        ready = int(StatusFlag.UPDATE_READY)
        assert await request(ctx, frame(Cmd.STATUS, 1), update_and_write) == status(ready, 5, 0, 0, 1)
        assert await request(ctx, frame(Cmd.STATUS, 1)) == status(ready | StatusFlag.SATURATED, 9, 1, 1, 1)
        # READ_REG BATCHES while the next update completes; an error reply right before counts at once
        assert (await request(ctx, frame(Cmd.READ_UPDATE, 3)))[0] == Err.OK
        assert (await request(ctx, frame(Cmd.SAMPLE, 4, t.sample([0] * b, [0] * a, last=True))))[0] == Err.OK
        assert (await request(ctx, frame(0x55, 5)))[0] == Err.UNKNOWN_CMD
        rd = lambda r, s: frame(Cmd.READ_REG, s, bytes([r]))
        assert await request(ctx, rd(Reg.BATCHES, 6), update_and_write) == (Err.OK, Cmd.READ_REG, 6, struct.pack("<I", 1))
        assert await request(ctx, rd(Reg.BATCHES, 7)) == (Err.OK, Cmd.READ_REG, 7, struct.pack("<I", 2))
        assert await request(ctx, rd(Reg.ERRORS, 8)) == (Err.OK, Cmd.READ_REG, 8, struct.pack("<I", 2))
        assert await request(ctx, frame(Cmd.STATUS, 1)) == status(ready | StatusFlag.SATURATED, 9, 2, 2, 2)
        done.append(1)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert done == [1]
