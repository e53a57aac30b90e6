"""hdl/link/cobs_encoder.py and cobs_decoder.py against the `cobs` package (the host's reference), with
random gaps and back-pressure: block boundaries (253/254/255 non-zero bytes), zeros at either end,
resynchronisation at power-up, invalid frames and UART errors flagged on the end beat."""
import random

import pytest
from amaranth.sim import Simulator
from cobs import cobs

from hdl.link.cobs_decoder import COBSDecoder
from hdl.link.cobs_encoder import COBSEncoder
from tb.amaranth_sim.buffer_reads import watch_buffer_reads
from tb.amaranth_sim.streams import stream_get, stream_put


def frames_for_test(rng):
    nz = lambda n: bytes(rng.randrange(1, 256) for _ in range(n))
    out = [b"\x00", b"\x01", b"\x00\x00", nz(253), nz(254), nz(255), nz(254) + b"\x00", b"\x00" + nz(254),
           nz(508), nz(3) + b"\x00" + nz(2) + b"\x00"]
    for _ in range(6):
        out.append(bytes(rng.choice([0, rng.randrange(256)]) for _ in range(rng.randrange(1, 40))))
    return out


def run(dut, benches, cycles):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for b in benches:
        sim.add_testbench(b)
    sim.run_until(1e-6 * cycles)


def test_encoder_matches_cobs_package():
    rng = random.Random(11)
    frames = frames_for_test(rng)
    expect = b"".join(cobs.encode(f) + b"\x00" for f in frames)
    dut = COBSEncoder()
    got = bytearray()

    async def send(ctx):
        for f in frames:
            for k, byte in enumerate(f):
                await stream_put(ctx, dut.i, {"data": byte, "last": int(k == len(f) - 1)}, rng=rng, p_gap=0.2)

    async def recv(ctx):
        while len(got) < len(expect):
            got.append(await stream_get(ctx, dut.o, rng=rng, p_stall=0.3))

    seen = {}
    run(dut, [send, recv, watch_buffer_reads(dut, seen)], 12 * len(expect) + 500)
    assert bytes(got) == expect
    assert seen["buf"]["used"] > 500 and seen["buf"]["hazards"] == 0, seen


def test_decoder_matches_cobs_package_and_flags_bad_frames():
    rng = random.Random(12)
    frames = frames_for_test(rng)
    # junk before the first delimiter is skipped; an empty frame gives an end beat alone
    stream_in = bytearray(b"\x05\x11\x22" + b"\x00")
    expect = []
    for f in frames:
        stream_in += cobs.encode(f) + b"\x00"
        expect.append((f, 0))
    stream_in += b"\x00"
    expect.append((b"", 0))
    stream_in += b"\x05\x01\x02\x00"                 # code 5 but the delimiter after 2 bytes: not COBS
    expect.append((None, 1))
    stream_in += cobs.encode(b"\x07\x08") + b"\x00"
    expect.append((b"\x07\x08", 0))
    for f in (b"", b"\x00\x00", b"\x01\x02"):         # cross-check the rule with the package
        enc = cobs.encode(f)
        assert cobs.decode(enc) == f
    with pytest.raises(cobs.DecodeError):
        cobs.decode(b"\x05\x01\x02")
    dut = COBSDecoder()
    got = []

    async def send(ctx):
        for byte in stream_in:
            await stream_put(ctx, dut.i, byte, rng=rng, p_gap=0.2)

    async def recv(ctx):
        cur = bytearray()
        while len(got) < len(expect):
            beat = await stream_get(ctx, dut.o, rng=rng, p_stall=0.3)
            if beat.end:
                got.append((bytes(cur), beat.error))
                cur = bytearray()
            else:
                cur.append(beat.data)

    run(dut, [send, recv], 8 * len(stream_in) + 500)
    assert len(got) == len(expect)
    for (g, gerr), (e, eerr) in zip(got, expect):
        assert gerr == eerr
        if e is not None:
            assert g == e


def test_decoder_rx_error_marks_the_frame():
    dut = COBSDecoder()
    got = []
    frame = cobs.encode(b"\x01\x02\x03")

    async def send(ctx):
        for k, byte in enumerate(b"\x00" + frame + b"\x00" + frame + b"\x00"):
            if k == 2:
                ctx.set(dut.rx_error, 1)
                await ctx.tick()
                ctx.set(dut.rx_error, 0)
            await stream_put(ctx, dut.i, byte)

    async def recv(ctx):
        cur = bytearray()
        while len(got) < 2:
            beat = await stream_get(ctx, dut.o)
            if beat.end:
                got.append((bytes(cur), beat.error))
                cur = bytearray()
            else:
                cur.append(beat.data)

    run(dut, [send, recv], 200)
    assert got == [(b"\x01\x02\x03", 1), (b"\x01\x02\x03", 0)]
