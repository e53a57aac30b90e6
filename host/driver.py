"""Host driver of an SBE board top (contract/host_protocol.py): open a link, configure, stream batches,
read the rank-1 updates, status and counters.

    from host import SBEBoard
    with SBEBoard.open("/dev/ttyUSB1") as board:          # 3 Mbaud by default
        info = board.identify()                          # a, b, widths, controller, clock
        board.configure(lr_mant=200, lr_exp=-20, bl=31, mode=Mode.BL_MGMT)   # controller tops only
        up = board.batch(xs, deltas, x_exps, delta_exps) # Update(s_mant, s_exp, dhat, xhat)
        print(board.status())

Inputs are the engine's integer words: xs (n, b) and deltas (n, a) signed in_width-bit integers, one
block exponent per vector per sample (golden/rtl/sbe_engine.py "Formats"; sbe_engine.quantise_sample
turns floats into them). An update is s = s_mant * 2**s_exp and Q1.(elem_width-1) Dhat, Xhat.

Requests and retries (one request at a time, each answered by one reply):
* every request carries a fresh seq (mod 256); a retry resends the same bytes (same seq);
* an error reply BAD_CRC / TRUNCATED / TOO_LONG (the request was damaged on the way; it changed
  nothing) is retried up to `retries` times, then raised;
* no valid reply within the timeout (or a reply whose own crc fails): the driver sends a lone 0x00 (ends
  any partial frame the board holds), drains what arrives, and then resends idempotent requests; for a
  SAMPLE it first asks STATUS whether the board took it (samples in the open batch), so a sample is
  never fed twice; a READ_UPDATE is simply read again (the board holds the update until the next
  SAMPLE or CLEAR). After `retries` attempts: LinkTimeout.
* other error replies raise their exception (host.errors) at once.

Timeouts are link time: `timeout` seconds per attempt plus twice the transfer time of the request and
its reply at the link's baud rate; polling waits go through the transport's `pause` (simulated time
in cocotb).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields
from enum import IntFlag

import numpy as np

from contract.engine_config import EngineConfig
from contract.host_protocol import (BAUD, ELEMENT_FORMAT, ID_FIELDS, ID_FORMAT, MAGIC, PROTOCOL_VERSION, REG_READ_FORMAT,
                                    REG_WRITE_FORMAT, REPLY_OVERHEAD, SAMPLE_HEADER_FORMAT, STATUS_FORMAT,
                                    UPDATE_HEADER_FORMAT, VALUE_FORMAT, Cmd, Err, Reg, SampleFlag, StatusFlag,
                                    update_payload_length)
from contract.layouts import MODE_LAYOUT

from host.errors import ERROR_CLASSES, BoardError, LinkError, LinkTimeout, ReplyError
from host.frames import DELIMITER, FrameError, decode_reply, encode_request
from host.transport import SerialTransport, Transport

#: Error replies meaning "the request was damaged on the way": safe to resend.
LINK_ERRORS = frozenset({Err.BAD_CRC, Err.TRUNCATED, Err.TOO_LONG})


def _name(cmd: int) -> str:
    try:
        return Cmd(cmd).name
    except ValueError:
        return f"command 0x{cmd:02x}"


class Mode(IntFlag):
    """The MODE register's bits (contract.layouts.MODE_LAYOUT)."""
    DET = 1 << MODE_LAYOUT["det"].offset
    BL_MGMT = 1 << MODE_LAYOUT["bl_mgmt"].offset
    TWO_PHASE = 1 << MODE_LAYOUT["two_phase"].offset


@dataclass(frozen=True)
class BoardInfo:
    """The ID reply: the configuration the bitstream was built with."""
    version: int
    a: int
    b: int
    lanes: int
    in_width: int
    elem_width: int
    s_mant_width: int
    s_exp_width: int
    max_batch: int
    has_controller: bool
    bl_width: int
    lr_width: int
    lr_exp_width: int
    clock_hz: int
    baud: int
    exp_width: int
    x_frac: int
    delta_frac: int
    state_width: int
    coef_width: int
    mant_width: int
    fexp_width: int
    seed_bits: int

    @classmethod
    def from_payload(cls, payload: bytes) -> "BoardInfo":
        if len(payload) >= 4 and payload[:3] == MAGIC and payload[3] != PROTOCOL_VERSION:
            raise ReplyError(f"board speaks protocol version {payload[3]}, this driver {PROTOCOL_VERSION}")
        magic, *rest = struct.unpack(ID_FORMAT, payload)
        if magic != MAGIC:
            raise ReplyError(f"ID reply starts with {magic!r}, not {MAGIC!r}: not an SBE board")
        values = dict(zip(ID_FIELDS, rest))
        values["has_controller"] = bool(values["has_controller"])
        return cls(**values)

    def engine_config(self) -> EngineConfig:
        """The board engine's configuration, to build its golden twin (golden.rtl.sbe_engine)."""
        return EngineConfig(**{f.name: getattr(self, f.name) for f in fields(EngineConfig)
                               if f.name != "alu_latency" and hasattr(self, f.name)})


@dataclass(frozen=True)
class Update:
    """One rank-1 update: s = s_mant * 2**s_exp; dhat (a) and xhat (b) Q1.(elem_width-1) integers."""
    s_mant: int
    s_exp: int
    dhat: tuple[int, ...]
    xhat: tuple[int, ...]

    def as_dict(self) -> dict:
        """In the golden engine's form (SBEFixedEngine.end_batch)."""
        return {"s_mant": self.s_mant, "s_exp": self.s_exp, "dhat": list(self.dhat), "xhat": list(self.xhat)}

    def value(self, elem_width: int = 16) -> tuple[float, np.ndarray, np.ndarray]:
        """(s, Dhat, Xhat) as floats."""
        sc = 2.0 ** -(elem_width - 1)
        return float(np.ldexp(self.s_mant, self.s_exp)), np.array(self.dhat) * sc, np.array(self.xhat) * sc


@dataclass(frozen=True)
class Status:
    """The STATUS reply."""
    flags: StatusFlag
    controller_status: int      #: contract.enums.Status bits of the controller's last write
    samples: int                #: samples in the open batch
    batches: int                #: updates completed since power-up
    writes: int                 #: controller writes finished since power-up
    errors: int                 #: error replies sent since power-up

    @classmethod
    def from_payload(cls, payload: bytes) -> "Status":
        flags, *rest = struct.unpack(STATUS_FORMAT, payload)
        return cls(StatusFlag(flags), *rest)

    update_ready = property(lambda self: bool(self.flags & StatusFlag.UPDATE_READY))
    busy = property(lambda self: bool(self.flags & (StatusFlag.ENGINE_BUSY | StatusFlag.CONTROLLER_BUSY)))


@dataclass
class LinkStats:
    """What the driver saw: requests, retries (by cause), bytes."""
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    bytes_out: int = 0
    by_cause: dict = field(default_factory=dict)


class SBEBoard:
    """A board top behind a byte transport (host.transport). Use `SBEBoard.open(port)` for a serial port.

    timeout         seconds of link time per attempt, on top of twice the frames' transfer time
    retries         resends of a damaged or unanswered request before the error is raised
    poll_interval   link time between STATUS polls while an update is computed
    ready_timeout   link time to wait for an update after the batch's last sample
    baud            the link's rate (for the transfer-time part of the timeouts)
    """

    def __init__(self, transport: Transport, *, timeout: float = 0.05, retries: int = 3,
                 poll_interval: float = 1e-4, ready_timeout: float = 1.0, baud: int = BAUD):
        for name, v in (("timeout", timeout), ("poll_interval", poll_interval), ("ready_timeout", ready_timeout)):
            if not v > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {v!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative int, not {retries!r}")
        self.transport, self.timeout, self.retries = transport, timeout, retries
        self.poll_interval, self.ready_timeout, self.baud = poll_interval, ready_timeout, baud
        self.stats = LinkStats()
        self._seq = 0
        self._info: BoardInfo | None = None
        self._samples = 0          # samples of the open batch this driver sent
        # A lone delimiter ends whatever the board holds (power-up garbage, a half-sent frame).
        self.transport.write(DELIMITER)
        self.transport.discard_input()

    @classmethod
    def open(cls, port: str, baud: int = BAUD, **kwargs) -> "SBEBoard":
        """A board on serial port `port` (pyserial name) at `baud`; keyword arguments as SBEBoard."""
        return cls(SerialTransport(port, baud), baud=baud, **kwargs)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "SBEBoard":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------------
    def _wire_time(self, nbytes: int) -> float:
        return nbytes * 10 / self.baud          # 8N1: 10 bit times per byte

    def _reply_length(self, cmd: int) -> int | None:
        fixed = {Cmd.ID: struct.calcsize(ID_FORMAT), Cmd.READ_REG: struct.calcsize(VALUE_FORMAT),
                 Cmd.STATUS: struct.calcsize(STATUS_FORMAT), Cmd.WRITE_REG: 0, Cmd.SAMPLE: 0, Cmd.CLEAR: 0}
        if cmd in fixed:
            return fixed[cmd]
        if cmd == Cmd.READ_UPDATE and self._info is not None:
            return update_payload_length(self._info.a, self._info.b)
        return None

    def _await(self, cmd: int, seq: int, limit: float):
        """('reply', Reply) for our reply, ('damaged', Reply) for a link-error reply (ours or with a damaged
        echo), ('lost', None) when nothing valid came within `limit`."""
        while True:
            wire = self.transport.read_frame(limit)
            if wire is None:
                return "lost", None
            try:
                r = decode_reply(wire)
            except FrameError:
                return "lost", None     # the reply itself was damaged: we cannot know what happened
            if r.cmd == cmd and r.seq == seq:
                return ("damaged" if r.status in LINK_ERRORS else "reply"), r
            if r.status in LINK_ERRORS:
                return "damaged", r
            # else: a stale reply to an earlier request (after a resync); skip it

    def _note(self, cause: str) -> None:
        self.stats.retries += 1
        self.stats.by_cause[cause] = self.stats.by_cause.get(cause, 0) + 1

    def request(self, cmd: int, payload: bytes = b"", *, sample_last: bool | None = None) -> bytes:
        """Send one request, return the reply payload; raise the error reply's BoardError, LinkTimeout or
        ReplyError (see the module docstring for the retry rules). `sample_last` marks a SAMPLE request
        (closing the batch or not) so a lost reply can be resolved through STATUS."""
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        wire = encode_request(cmd, seq, payload)
        expect = self._reply_length(cmd)
        limit = self.timeout + 2 * self._wire_time(len(wire) + 2 * (REPLY_OVERHEAD + (expect or 0)) + 4)
        self.stats.requests += 1
        attempt = 0
        while True:
            self.transport.write(wire)
            self.stats.bytes_out += len(wire)
            kind, r = self._await(cmd, seq, limit)
            if kind == "lost":
                self.stats.timeouts += 1
                self.transport.write(DELIMITER)          # end a partial frame on the board
                kind, r = self._await(cmd, seq, self.timeout)
                if kind == "damaged" and (r.cmd, r.seq) != (cmd, seq):
                    kind = "lost"       # the answer to the partial frame: says nothing sure about ours
                if kind == "lost":
                    if attempt >= self.retries:
                        raise LinkTimeout(f"no valid reply to {_name(cmd)} (seq {seq}) after "
                                          f"{attempt + 1} attempts of {limit:.3g} s")
                    attempt += 1
                    self._note("timeout")
                    if cmd == Cmd.SAMPLE and self._sample_taken(bool(sample_last)):
                        return b""
                    continue
            if kind == "damaged":
                if attempt >= self.retries:
                    raise ERROR_CLASSES[Err(r.status)](r.cmd, r.seq, f"after {attempt + 1} attempts")
                attempt += 1
                self._note(Err(r.status).name)
                continue
            if r.status != Err.OK:
                try:
                    cls = ERROR_CLASSES[Err(r.status)]
                except ValueError:
                    raise ReplyError(f"reply status {r.status} is not an Err code") from None
                raise cls(cmd, seq)
            if expect is not None and len(r.payload) != expect:
                raise ReplyError(f"{_name(cmd)} reply payload of {len(r.payload)} bytes, expected {expect}")
            return r.payload

    def _sample_taken(self, last: bool) -> bool:
        """After a lost SAMPLE reply: did the board take the sample? (from STATUS, see module docstring)"""
        st = self.status()
        if last:        # a SAMPLE is refused while an update is pending, so a pending update is this one's
            return st.update_ready
        return st.samples == self._samples + 1

    # -- commands ----------------------------------------------------------------------------------
    def identify(self) -> BoardInfo:
        """ID: magic, protocol version and the configuration the bitstream was built with."""
        self._info = BoardInfo.from_payload(self.request(Cmd.ID))
        return self._info

    @property
    def info(self) -> BoardInfo:
        """The board's configuration (ID, asked once)."""
        return self._info if self._info is not None else self.identify()

    def read_reg(self, reg: Reg) -> int:
        """A register's value (LR_EXP sign-extended)."""
        (v,) = struct.unpack(VALUE_FORMAT, self.request(Cmd.READ_REG, struct.pack(REG_READ_FORMAT, int(reg))))
        return v - (1 << 32) if reg == Reg.LR_EXP and v >> 31 else v

    def write_reg(self, reg: Reg, value: int) -> None:
        """Write a register (a signed value as 32-bit two's complement)."""
        if not -(1 << 31) <= int(value) < 1 << 32:
            raise ValueError(f"register value {value} does not fit 32 bits")
        self.request(Cmd.WRITE_REG, struct.pack(REG_WRITE_FORMAT, int(reg), int(value) & 0xFFFFFFFF))

    def configure(self, *, lr_mant: int | None = None, lr_exp: int | None = None, bl: int | None = None,
                  mode: int | Mode | None = None) -> None:
        """Write the controller registers that are given (controller tops; BadRegisterError otherwise).
        lr = lr_mant * 2**lr_exp device steps; bl the pulse-train length (its cap with Mode.BL_MGMT)."""
        regs = [(r, v) for r, v in ((Reg.LR_MANT, lr_mant), (Reg.LR_EXP, lr_exp), (Reg.BL, bl), (Reg.MODE, mode))
                if v is not None]
        if regs and self.info.has_controller:
            self.wait_idle()
        for reg, v in regs:
            self.write_reg(reg, int(v))

    def status(self) -> Status:
        return Status.from_payload(self.request(Cmd.STATUS))

    def clear(self) -> None:
        """Reset the engine (and controller) state; an open batch and an unread update are dropped."""
        self.request(Cmd.CLEAR)
        self._samples = 0

    def sample(self, x, delta, x_exp: int = 0, delta_exp: int = 0, *, last: bool = False) -> None:
        """One SAMPLE (x: b ints, delta: a ints); `last` closes the batch."""
        info = self.info
        xw, dw = self._words("x", x, info.b, info), self._words("delta", delta, info.a, info)
        lo_e, hi_e = -(1 << (info.exp_width - 1)), (1 << (info.exp_width - 1)) - 1     # EngineConfig.exp_range
        for name, e in (("x_exp", x_exp), ("delta_exp", delta_exp)):
            if not lo_e <= int(e) <= hi_e:
                raise ValueError(f"{name} {e} is outside the board's block exponent range [{lo_e}, {hi_e}] "
                                 f"(exp_width {info.exp_width})")
        flags = SampleFlag.LAST_OF_BATCH if last else 0
        payload = struct.pack(SAMPLE_HEADER_FORMAT, int(flags), int(x_exp), int(delta_exp)) + xw + dw
        self.request(Cmd.SAMPLE, payload, sample_last=last)
        self._samples = 0 if last else self._samples + 1

    @staticmethod
    def _words(name: str, v, n: int, info: BoardInfo) -> bytes:
        arr = np.asarray(v)
        if arr.shape != (n,):
            raise ValueError(f"{name} must have {n} elements (the board's {'b' if name == 'x' else 'a'}), "
                             f"not shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must be integer words (golden.rtl.sbe_engine.quantise_sample makes them)")
        lo, hi = -(1 << (info.in_width - 1)), (1 << (info.in_width - 1)) - 1
        if arr.min() < lo or arr.max() > hi:
            raise ValueError(f"{name} elements must be signed {info.in_width}-bit integers [{lo}, {hi}]")
        return arr.astype(ELEMENT_FORMAT).tobytes()

    def wait_idle(self) -> Status:
        """Poll STATUS until the controller has finished its write and the engine its read-out (a batch
        still open counts as idle: that is the host's own doing); LinkTimeout after ready_timeout."""
        def idle(st: Status) -> bool:
            reading_out = st.flags & StatusFlag.ENGINE_BUSY and st.samples == 0
            return not (st.flags & StatusFlag.CONTROLLER_BUSY or reading_out)
        return self._poll(idle, "board still busy {t} s later ({st})")

    def wait_update(self) -> Status:
        """Poll STATUS until an update is ready (LinkTimeout after ready_timeout of link time)."""
        return self._poll(lambda st: st.update_ready, "no update ready {t} s after the batch's last sample ({st})")

    def _poll(self, done, timeout_message: str) -> Status:
        """STATUS every poll_interval of link time until done(status); LinkTimeout (timeout_message with
        {t} the timeout and {st} the last status) after ready_timeout."""
        waited = 0.0
        while True:
            st = self.status()
            if done(st):
                return st
            if waited >= self.ready_timeout:
                raise LinkTimeout(timeout_message.format(t=self.ready_timeout, st=st))
            self.transport.pause(self.poll_interval)
            waited += self.poll_interval

    def read_update(self) -> Update:
        """READ_UPDATE: the last closed batch's update (NotReadyError when there is none: none since the
        last CLEAR, or a SAMPLE of the next batch was accepted since)."""
        info = self.info
        p = self.request(Cmd.READ_UPDATE)
        s_mant, s_exp = struct.unpack_from(UPDATE_HEADER_FORMAT, p)
        h = struct.calcsize(UPDATE_HEADER_FORMAT)
        el = np.frombuffer(p[h:], dtype=ELEMENT_FORMAT)
        return Update(int(s_mant), int(s_exp), tuple(int(t) for t in el[:info.a]), tuple(int(t) for t in el[info.a:]))

    def batch(self, xs, deltas, x_exps=None, delta_exps=None) -> Update:
        """Stream one batch (xs (n, b), deltas (n, a), block exponents (n,) or None for 0), the last
        sample flagged, and return its update."""
        xs, deltas = np.asarray(xs), np.asarray(deltas)
        n = len(xs)
        if n == 0 or len(deltas) != n:
            raise ValueError(f"a batch needs n >= 1 samples of x and of delta, got {len(xs)} and {len(deltas)}")
        if n > self.info.max_batch:
            raise ValueError(f"a batch holds at most {self.info.max_batch} samples on this board, not {n}")
        xe = np.zeros(n, int) if x_exps is None else np.asarray(x_exps)
        de = np.zeros(n, int) if delta_exps is None else np.asarray(delta_exps)
        if xe.shape != (n,) or de.shape != (n,):
            raise ValueError(f"x_exps and delta_exps must have one exponent per sample ({n})")
        for j in range(n):
            self.sample(xs[j], deltas[j], int(xe[j]), int(de[j]), last=j == n - 1)
        self.wait_update()
        return self.read_update()


__all__ = ["SBEBoard", "BoardInfo", "Update", "Status", "Mode", "LinkStats", "BoardError", "LinkError"]
