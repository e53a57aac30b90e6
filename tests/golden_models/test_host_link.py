"""The host driver (host/) against the golden board model (golden/link/board_model.py) over an in-process
transport: recorded training batches give the golden engine's (and layer's) results bit for bit; every
bad-input case gets its error reply and changes nothing; damaged and lost frames are retried."""
from __future__ import annotations

import numpy as np
import pytest
from cobs import cobs

from contract.engine_config import EngineConfig
from contract.host_protocol import (MAX_FRAME_OVERHEAD, Cmd, Err, Reg, StatusFlag, max_request_length,
                                    sample_payload_length)
from golden.link.bad_requests import bad_requests
from golden.link.board_model import BoardModel
from golden.link.recorded_batches import recorded_batches
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.sbe_layer import SBELayer
from host import CallbackTransport, SBEBoard
from host import errors as E
from host.driver import Mode
from host.frames import decode_reply, encode, encode_request

A, B = 6, 10


def board(controller=False, retries=3, **params):
    m = BoardModel(A, B, controller=controller, **params)
    return m, SBEBoard(CallbackTransport(m), retries=retries)


@pytest.fixture(scope="module")
def batches():
    return recorded_batches(EngineConfig(a=A, b=B), 6, batch_size=8)


def feed_golden(engine, batch) -> dict:
    for x, d, ex, ed in zip(*batch):
        engine.sample(x, d, ex, ed)
    return engine.end_batch()


# -- results ------------------------------------------------------------------------------------------
def test_recorded_batches_match_the_golden_engine(batches):
    m, bd = board()
    info = bd.identify()
    assert (info.a, info.b, info.has_controller, info.max_batch) == (A, B, False, m.cfg.max_batch)
    golden = SBEFixedEngine(a=A, b=B)
    for k, bt in enumerate(batches):
        up = bd.batch(*bt)
        assert up.as_dict() == feed_golden(golden, bt), f"batch {k}"
    st = bd.status()
    assert st.batches == len(batches) and st.errors == 0 and st.samples == 0
    assert st.flags == StatusFlag(0) and bd.read_reg(Reg.BATCHES) == len(batches)
    assert bd.stats.retries == 0


def test_controller_top_writes_each_update_with_its_registers(batches):
    m, bd = board(controller=True, seed=3)
    layer = SBELayer(A, B, seed=3)
    regs = [dict(lr_mant=300, lr_exp=-12, bl=15, mode=Mode.BL_MGMT), dict(lr_mant=5, lr_exp=-2, bl=0, mode=0),
            dict(lr_mant=900, lr_exp=-14, bl=16, mode=Mode.DET | Mode.BL_MGMT | Mode.TWO_PHASE)]
    for k, bt in enumerate(batches[:3]):
        bd.configure(**regs[k])
        assert bd.read_reg(Reg.LR_EXP) == regs[k]["lr_exp"] and bd.read_reg(Reg.MODE) == regs[k]["mode"]
        up = bd.batch(*bt)
        r = regs[k]
        want, wr = layer.batch(zip(*bt), lr_mant=r["lr_mant"], lr_exp=r["lr_exp"], bl=r["bl"],
                               det=bool(r["mode"] & 1), bl_mgmt=bool(r["mode"] & 2), two_phase=bool(r["mode"] & 4))
        assert up.as_dict() == want
        st = bd.status()
        assert st.controller_status == wr.plan.status and st.writes == k + 1
        assert st.flags & StatusFlag.HAS_CONTROLLER
        assert len(m.last_write.slots) == len(wr.slots)
        for got, want_slot in zip(m.last_write.slots, wr.slots):
            assert all(np.array_equal(g, w) for g, w in zip(got, want_slot))
        if k == 1:
            assert st.controller_status & 1          # bl = 0: the write is flagged BL_ZERO
    assert bd.read_reg(Reg.WRITES) == 3
    assert any(len(m.last_write.slots) for _ in [0])  # the last write played slots


def test_clear_restarts_from_reset_and_keeps_counters(batches):
    m, bd = board()
    bd.batch(*batches[0])
    bd.sample(batches[1][0][0], batches[1][1][0])          # an open batch, then CLEAR drops it
    assert bd.status().samples == 1
    bd.clear()
    st = bd.status()
    assert st.samples == 0 and st.batches == 1 and not st.update_ready
    assert bd.batch(*batches[2]).as_dict() == feed_golden(SBEFixedEngine(a=A, b=B), batches[2])


def test_max_batch_closes_the_batch_and_flags_framing(batches):
    m, bd = board(max_batch=3)
    xs, ds, xe, de = batches[0]
    golden = SBEFixedEngine(a=A, b=B, max_batch=3)
    for j in range(3):
        bd.sample(xs[j], ds[j], xe[j], de[j])               # never flagged last
    st = bd.status()
    assert st.update_ready and st.flags & StatusFlag.FRAMING_ERROR and st.batches == 1
    assert bd.read_update().as_dict() == feed_golden(golden, (xs[:3], ds[:3], xe[:3], de[:3]))
    bd.clear()
    assert not bd.status().flags & StatusFlag.FRAMING_ERROR


def test_power_up_bytes_before_the_first_delimiter_are_skipped():
    m = BoardModel(A, B)
    assert m.feed(encode_request(Cmd.STATUS, 1)) == b""     # no delimiter seen yet: skipped
    r = decode_reply(m.feed(encode_request(Cmd.STATUS, 2)))
    assert (r.status, r.cmd, r.seq) == (Err.OK, Cmd.STATUS, 2)
    assert m.feed(b"\x00\x00") == b""                        # empty frames: no reply


def test_long_frames_cross_cobs_block_boundaries():
    """SAMPLE frames of a 100 x 784 board (1775 decoded bytes, zeros in random places) decode exactly."""
    rng = np.random.default_rng(1)
    m = BoardModel(100, 784)
    bd = SBEBoard(CallbackTransport(m))
    golden = SBEFixedEngine(a=100, b=784)
    xs = rng.integers(-300, 300, (2, 784)) * rng.integers(0, 2, (2, 784))      # many zero bytes
    ds = rng.integers(-2 ** 15, 2 ** 15, (2, 100))
    assert bd.batch(xs, ds).as_dict() == feed_golden(golden, (xs, ds, [0, 0], [0, 0]))


# -- bad input: an error reply and no change ------------------------------------------------------------
def raw(m, wire: bytes):
    """Send raw wire bytes; return the one reply (status, cmd, seq)."""
    r = decode_reply(m.feed(wire))
    assert r.payload == b""
    return Err(r.status), r.cmd, r.seq


def bad_cases():
    return bad_requests(A, B, 7, controller=BoardModel(A, B, controller=True).ctrl_cfg)


@pytest.mark.parametrize("case,state", [(c, s) for c in bad_cases() for s in ("idle", "open_batch", "update_waiting")
                                        if c != "read_update_not_ready" or s == "open_batch"])   # READ_UPDATE works
#                                         in the others: the update waits, or the last one is held for re-reading
def test_bad_input_gets_its_error_and_changes_nothing(batches, case, state):
    """In each board state: the error reply (echoing cmd and seq), no change but ERRORS + 1, and the
    batch around it still gives the golden update."""
    m, bd = board(controller=True)
    golden = SBELayer(A, B)
    bd.configure(lr_mant=100, lr_exp=-10, bl=7)
    bd.batch(*batches[0])
    golden.update(zip(*batches[0]))
    xs, ds, xe, de = batches[1]
    n = len(xs)
    sent = {"idle": 0, "open_batch": 1, "update_waiting": n}[state]
    for j in range(sent):
        bd.sample(xs[j], ds[j], xe[j], de[j], last=j == n - 1)
    wire, err, echo = bad_cases()[case]
    before, st0 = m.snapshot(), bd.status()
    assert raw(m, wire) == (err, *echo)
    assert m.snapshot() == before
    assert bd.status() == type(st0)(**{**st0.__dict__, "errors": st0.errors + 1})
    for j in range(sent, n):
        bd.sample(xs[j], ds[j], xe[j], de[j], last=j == n - 1)
    bd.wait_update()
    assert bd.read_update().as_dict() == golden.update(zip(*batches[1]))


@pytest.mark.parametrize("case", list(bad_requests(A, B, 9, controller=None)))
def test_bad_input_on_an_engine_only_top(case):
    m, bd = board()
    bd.identify()
    wire, err, echo = bad_requests(A, B, 9, controller=None)[case]
    before, st0 = m.snapshot(), bd.status()
    assert raw(m, wire) == (err, *echo)
    assert m.snapshot() == before and bd.status().errors == st0.errors + 1


def test_command_while_busy():
    m, bd = board(controller=True)
    bt = recorded_batches(EngineConfig(a=A, b=B), 1, batch_size=2)[0]
    xs, ds, xe, de = bt
    bd.sample(xs[0], ds[0], xe[0], de[0])
    before = m.snapshot()
    with pytest.raises(E.BusyError):
        bd.configure(bl=3)                               # WRITE_REG while a batch is open
    assert m.snapshot() == before
    bd.sample(xs[1], ds[1], xe[1], de[1], last=True)
    before = m.snapshot()
    with pytest.raises(E.BusyError):
        bd.sample(xs[0], ds[0], xe[0], de[0])            # SAMPLE while an update waits to be read
    assert m.snapshot() == before
    layer = SBELayer(A, B)
    u = bd.read_update()
    assert u.as_dict() == layer.update(zip(*bt))
    assert bd.read_update() == u                         # held for re-reading until the next SAMPLE or CLEAR
    assert not bd.status().update_ready
    bd.clear()
    with pytest.raises(E.NotReadyError):
        bd.read_update()
    assert bd.status().errors == 3


def test_driver_level_errors():
    m, bd = board()
    with pytest.raises(E.BadRegisterError):
        bd.configure(lr_mant=1)                          # no controller on this top
    with pytest.raises(E.BadRegisterError):
        bd.read_reg(Reg.WRITES)
    with pytest.raises(E.UnknownCommandError):
        bd.request(0x7F)
    with pytest.raises(E.BadLengthError):
        bd.request(Cmd.SAMPLE, bytes(sample_payload_length(A, B) - 2))
    with pytest.raises(E.TooLongError):
        bd.request(Cmd.SAMPLE, bytes(max_request_length(A, B)))
    with pytest.raises(ValueError, match="10 elements"):
        bd.batch(np.zeros((2, B - 1), int), np.zeros((2, A), int))
    assert bd.status().errors == 4 + 4          # TOO_LONG is a link error: sent 1 + retries (3) times
    assert isinstance(E.BusyError(4, 1), E.LinkError) and issubclass(E.LinkTimeout, TimeoutError)
    assert set(E.ERROR_CLASSES) == set(Err) - {Err.OK}


# -- damaged and lost frames --------------------------------------------------------------------------
class Faulty:
    """A device between the driver and the board model that damages chosen writes or replies.
    faults: {write index: kind}; kinds: flip (a payload bit of the request), cut (the request's delimiter
    lost), lose (the reply lost), garble (a reply byte damaged)."""

    def __init__(self, model, faults):
        self.model, self.faults, self.n = model, dict(faults), 0

    def feed(self, data: bytes) -> bytes:
        kind = self.faults.get(self.n)
        self.n += 1
        if kind == "flip" and len(data) > 1:          # one crc bit: the board sees BAD_CRC
            frame = bytearray(cobs.decode(data[:-1]))
            frame[-1] ^= 0x01
            data = encode(bytes(frame))
        elif kind == "cut":
            data = data[:-1]
        out = self.model.feed(data)
        if kind == "lose":
            return b""
        if kind == "garble" and out:
            return out[:2] + bytes([out[2] ^ 0x80 or 1]) + out[3:]
        return out


def run_faulty(faults, batches, *, retries=3):
    m = BoardModel(A, B)
    bd = SBEBoard(CallbackTransport(Faulty(m, faults)), retries=retries)
    bd.identify()
    golden = SBEFixedEngine(a=A, b=B)
    for bt in batches[:2]:
        assert bd.batch(*bt).as_dict() == feed_golden(golden, bt)
    return m, bd


@pytest.mark.parametrize("kind", ["flip", "cut", "lose", "garble"])
@pytest.mark.parametrize("at", [3, 5, 10])          # write 3, 5: SAMPLEs mid-batch; 10: the batch's last SAMPLE
def test_damaged_or_lost_frames_are_retried_and_no_sample_is_fed_twice(batches, kind, at):
    m, bd = run_faulty({at: kind}, batches)
    assert bd.stats.retries + bd.stats.timeouts >= 1
    assert bd.status().batches == 2


def test_retry_uses_the_same_seq(batches):
    m, bd = run_faulty({3: "flip"}, batches)
    bad = [i for i, r in enumerate(m.replies) if r[0] == Err.BAD_CRC]
    assert len(bad) == 1
    ok = m.replies[bad[0] + 1]
    assert ok[0] == Err.OK and ok[2] == decode_seq_of(m, bad[0] + 1)
    assert bd.stats.by_cause == {"BAD_CRC": 1}


def decode_seq_of(m, i):
    return m.replies[i][2]


def test_crc_errors_beyond_the_retries_raise(batches):
    m = BoardModel(A, B)
    bd = SBEBoard(CallbackTransport(Faulty(m, {i: "flip" for i in range(1, 10)})), retries=2)
    before = m.snapshot()
    with pytest.raises(E.BadCrcError):
        bd.status()
    assert m.snapshot() == before and [r[0] for r in m.replies] == [Err.BAD_CRC] * 3


def test_silence_raises_link_timeout():
    class Dead:
        def feed(self, data):
            return b""
    bd = SBEBoard(CallbackTransport(Dead()), retries=1)
    with pytest.raises(E.LinkTimeout):
        bd.identify()


@pytest.mark.parametrize("kind", ["lose", "garble", "flip"])
def test_a_lost_read_update_reply_is_read_again(batches, kind):
    """The board holds the update after READ_UPDATE, so a read whose reply is lost (or damaged, or whose
    request damaged) is simply repeated and gives the same update; the next batch is unaffected."""
    # writes: 0 delimiter, 1 ID, 2..9 SAMPLEs, 10 STATUS, 11 READ_UPDATE
    m = BoardModel(A, B)
    bd = SBEBoard(CallbackTransport(Faulty(m, {11: kind})))
    bd.identify()
    golden = SBEFixedEngine(a=A, b=B)
    assert len(batches[0][0]) == 8
    assert bd.batch(*batches[0]).as_dict() == feed_golden(golden, batches[0])
    assert bd.stats.retries == 1
    assert [r[1] for r in m.replies].count(Cmd.READ_UPDATE) == 2
    assert bd.batch(*batches[1]).as_dict() == feed_golden(golden, batches[1])


def test_crc_package_is_ccitt_false():
    """crc.Crc16.IBM_3740 is CRC-16/CCITT-FALSE: the catalogue's check value and a bitwise reference."""
    from host.frames import crc16

    def ref(data):
        c = 0xFFFF
        for byte in data:
            c ^= byte << 8
            for _ in range(8):
                c = ((c << 1) ^ 0x1021) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        return c
    assert crc16(b"123456789") == 0x29B1          # reveng catalogue, CRC-16/IBM-3740 alias CCITT-FALSE
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 300):
        d = rng.integers(0, 256, n).astype(np.uint8).tobytes()
        assert crc16(d) == ref(d)
    assert MAX_FRAME_OVERHEAD == 4


def test_id_gives_the_host_the_boards_engine_configuration():
    """ID (protocol version 2) reports every format that changes a result: the host rebuilds the board's
    EngineConfig from it (alu_latency aside: it changes no result) and checks block exponents locally."""
    params = dict(in_width=8, x_frac=3, delta_frac=5, exp_width=4, state_width=20, coef_width=14, mant_width=20,
                  fexp_width=10, seed_bits=6, elem_width=12, s_mant_width=14, s_exp_width=7, max_batch=9)
    m = BoardModel(3, 5, lanes=2, **params)
    bd = SBEBoard(CallbackTransport(m))
    info = bd.identify()
    assert info.engine_config() == EngineConfig(a=3, b=5, lanes=2, **params)
    assert (info.clock_hz, info.has_controller) == (12_000_000, False)
    with pytest.raises(ValueError, match=r"block exponent range \[-8, 7\]"):
        bd.sample(np.zeros(5, int), np.zeros(3, int), x_exp=8)
    assert m.replies == [(Err.OK, Cmd.ID, 1)]                 # refused before anything was sent
    rng = np.random.default_rng(3)
    xs, ds = rng.integers(-128, 128, (2, 5)), rng.integers(-128, 128, (2, 3))
    golden = SBEFixedEngine(info.engine_config())
    assert bd.batch(xs, ds, [7, -8], [0, 1]).as_dict() == feed_golden(golden, (xs, ds, [7, -8], [0, 1]))


def test_id_of_another_protocol_version_is_refused():
    m = BoardModel(3, 5)
    bd = SBEBoard(CallbackTransport(m))
    payload = bytearray(decode_reply(m.feed(b"\x00" + encode_request(Cmd.ID, 1))).payload)
    from host.driver import BoardInfo
    assert BoardInfo.from_payload(bytes(payload)).version == 2
    payload[3] = 1
    with pytest.raises(E.ReplyError, match="protocol version 1"):
        BoardInfo.from_payload(bytes(payload[:27]))          # a version-1 board's shorter reply
