"""Bit-exact golden twin of the board's command processor (hdl/link/command_processor.py): bytes from the
UART in, reply bytes out, with the engine (golden/rtl/sbe_engine.py SBEFixedEngine) or, in tops with an
update controller, the layer (golden/rtl/sbe_layer.py SBELayer) behind it. The protocol is
contract/host_protocol.py; this file fixes the points it leaves to the implementation.

Receiver (byte by byte, as the RTL: hdl/link/cobs_decoder.py): after power-up every byte up to the first
0x00 is skipped. A frame is the bytes up to the next 0x00; COBS is decoded on the fly (a code byte c opens
a block of c-1 data bytes; the implicit 0x00 of a block with c < 255 is emitted when the next code byte
arrives, so a frame ends without one). Replies are encoded as the `cobs` package does. A frame that
decodes to nothing (two delimiters in a row, or a lone 0x01 block) is ignored: no reply, so a lone 0x00
is how a host ends a partial frame. Decoded bytes beyond max_request_length(a, b) are dropped (the frame
is answered TOO_LONG); a delimiter in the middle of a COBS block means the frame is not valid COBS.
(The RTL also marks a frame with a UART framing error or overrun as not valid COBS; bytes here are whole.)

Checks, in order (contract/host_protocol.py); the first that fails is the reply status and nothing
changes but the ERRORS counter:
    TRUNCATED (not valid COBS: echo 0, 0; fewer than 4 decoded bytes: echo the cmd and seq bytes present),
    TOO_LONG, BAD_CRC, UNKNOWN_CMD, BAD_LENGTH, then per command: BAD_REG (WRITE_REG/READ_REG: unknown,
    read-only for a write, a controller register on a top without controller), BAD_VALUE (register
    value out of range; a SAMPLE with flag bits other than LAST_OF_BATCH, a block exponent outside the
    engine's exp_range, or an element outside signed in_width bits), BUSY (WRITE_REG while a batch is
    open; SAMPLE while an update waits), NOT_READY.
Otherwise a reply echoes the decoded frame's bytes 0 and 1 as cmd and seq; an error reply has no payload.

Registers: LR_MANT, LR_EXP, BL, MODE reset to 0 (BL = 0: every controller write is flagged BL_ZERO until
the host writes BL); ranges from the controller's configuration (lr_width unsigned, lr_exp_width
signed, bl_width unsigned, MODE 3 bits). READ_REG returns 32-bit two's complement.

Timing is not modelled: the engine's read-out and the controller's write finish within the SAMPLE that
closes the batch, so ENGINE_BUSY means "a batch is open" and CONTROLLER_BUSY is never set here. The RTL
may answer STATUS with ENGINE_BUSY/CONTROLLER_BUSY (and READ_UPDATE with NOT_READY, WRITE_REG with BUSY)
for the cycles these take; the host driver polls STATUS until UPDATE_READY, after which both agree.

Batch end: the SAMPLE flagged LAST_OF_BATCH, or the max_batch-th sample of a batch (then FRAMING_ERROR
is set, sticky until CLEAR, as the engine's framing_error). Each closed batch: BATCHES += 1, the update
waits for READ_UPDATE (UPDATE_READY until its first read; it stays readable, the same bytes, until a
SAMPLE is accepted or CLEAR, so a host that lost the reply reads it again), and with a controller the write runs with the registers as they
are (WRITES += 1 for every write, flagged or not; its Status bits are STATUS's controller byte).
CLEAR: engine and controller reset (golden SBELayer.reset), the open batch and an unread update dropped,
SATURATED/FRAMING_ERROR and the controller status cleared; registers and counters kept.
"""
from __future__ import annotations

import pickle
import struct


from contract.engine_config import EngineConfig
from contract.host_protocol import (crc16, encode, with_crc, BAUD, MAX_FRAME_OVERHEAD, REG_READ_FORMAT,
                                    REG_WRITE_FORMAT, REQUEST_PAYLOAD_LENGTH, SAMPLE_HEADER_FORMAT, STATUS_FORMAT,
                                    UPDATE_HEADER_FORMAT, VALUE_FORMAT, CONTROLLER_REGS, READ_ONLY_REGS, Cmd, Err, Reg,
                                    SampleFlag, StatusFlag, id_payload, max_request_length, sample_payload_length)
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.sbe_layer import SBELayer

U32 = (1 << 32) - 1


class BoardModel:
    """The command processor of a board top with an a x b engine (and a controller when `controller`).

    Parameters as the top's (hdl/link/host_top.py HostTop): a, b, lanes, controller, seed (controller LFSR
    seed), clk_hz and baud (reported by ID), led_stretch (LED timing: ignored), and engine keyword
    parameters (EngineConfig) or, prefixed ctrl_, controller ones (contract/layer_config.py).
    `feed(bytes) -> bytes` is the UART: received bytes in, transmitted bytes out.
    """

    def __init__(self, a: int, b: int, *, lanes: int = 1, controller: bool = False, seed: int = 0,
                 clk_hz: int = 12_000_000, baud: int = BAUD, led_stretch: int | None = None, **params):
        if controller:
            self.layer = SBELayer(a, b, lanes=lanes, seed=seed, **params)
            self.engine = self.layer.engine
            self.ctrl_cfg = self.layer.controller.cfg
        else:
            bad = [k for k in params if k.startswith("ctrl_")]
            if bad:
                raise ValueError(f"{', '.join(bad)}: controller parameters need controller=True")
            self.layer, self.ctrl_cfg = None, None
            self.engine = SBEFixedEngine(EngineConfig(a=a, b=b, lanes=lanes, **params))
        self.cfg: EngineConfig = self.engine.cfg
        self.clk_hz, self.baud = int(clk_hz), int(baud)
        self.max_request = max_request_length(a, b)
        self.regs = {Reg.LR_MANT: 0, Reg.LR_EXP: 0, Reg.BL: 0, Reg.MODE: 0}
        self.batches = self.writes = self.errors = 0
        self.replies: list[tuple[int, int, int]] = []   # (status, cmd, seq) of every reply, for tests
        self._clear_state()
        self._skipping = True                          # power-up: skip up to the first delimiter
        self._rx_reset()

    # -- state -------------------------------------------------------------------------------------
    def _clear_state(self) -> None:
        self.update: dict | None = None               # the completed update, held until a SAMPLE is accepted or CLEAR
        self.update_pending = False                   # ... and not read yet (UPDATE_READY; SAMPLE answers BUSY)
        self.framing_error = False
        self.ctrl_status = 0
        self.last_write = None

    def snapshot(self) -> bytes:
        """Everything a request can change except the ERRORS counter (for "changes nothing" tests)."""
        return pickle.dumps((self.engine.M, self.engine.buf, self.engine.j, self.engine.samples_total,
                             self.engine.scalar.regs, sorted(self.engine.scalar.coef.items()),
                             self.engine.flags.saturated, self.update, self.update_pending, self.framing_error, self.ctrl_status,
                             sorted(self.regs.items()), self.batches, self.writes,
                             None if self.layer is None else pickle.dumps(self.layer.controller)))

    # -- receiver ----------------------------------------------------------------------------------
    def _rx_reset(self) -> None:
        self._buf = bytearray()
        self._n = 0             # decoded bytes of this frame (counting those dropped as too long)
        self._remaining = 0     # data bytes left in the current COBS block
        self._code = 0          # code byte of the current block (0: none yet)
        self._too_long = False

    def _emit(self, byte: int) -> None:
        self._n += 1
        if len(self._buf) >= self.max_request:
            self._too_long = True
        else:
            self._buf.append(byte)

    def feed(self, data: bytes) -> bytes:
        """Bytes received on the UART; returns the bytes transmitted in answer (whole reply frames)."""
        out = bytearray()
        for byte in bytes(data):
            if byte == 0:
                if not self._skipping and (self._n or self._remaining):
                    out += self._frame_end()
                self._skipping = False
                self._rx_reset()
                continue
            if self._skipping:
                continue
            if self._remaining == 0:            # a code byte
                if self._code and self._code < 255:
                    self._emit(0)
                self._code, self._remaining = byte, byte - 1
            else:
                self._emit(byte)
                self._remaining -= 1
        return bytes(out)

    def _frame_end(self) -> bytes:
        f = bytes(self._buf)
        cmd, seq = (f[0] if len(f) > 0 else 0), (f[1] if len(f) > 1 else 0)
        if self._remaining:                    # not valid COBS
            status, payload, cmd, seq = Err.TRUNCATED, b"", 0, 0
        elif len(f) < MAX_FRAME_OVERHEAD:
            status, payload = Err.TRUNCATED, b""
        elif self._too_long:
            status, payload = Err.TOO_LONG, b""
        elif crc16(f[:-2]) != struct.unpack("<H", f[-2:])[0]:
            status, payload = Err.BAD_CRC, b""
        else:
            status, payload = self._command(cmd, f[2:-2])
        if status != Err.OK:
            self.errors = (self.errors + 1) & U32
            payload = b""
        self.replies.append((int(status), cmd, seq))
        return encode(with_crc(bytes([status, cmd, seq]) + payload))

    # -- commands ----------------------------------------------------------------------------------
    def _command(self, cmd: int, p: bytes) -> tuple[Err, bytes]:
        try:
            cmd = Cmd(cmd)
        except ValueError:
            return Err.UNKNOWN_CMD, b""
        want = sample_payload_length(self.cfg.a, self.cfg.b) if cmd == Cmd.SAMPLE else REQUEST_PAYLOAD_LENGTH[cmd]
        if len(p) != want:
            return Err.BAD_LENGTH, b""
        return getattr(self, "_cmd_" + cmd.name.lower())(p)

    def _cmd_id(self, p: bytes):
        c, k = self.cfg, self.ctrl_cfg
        return Err.OK, id_payload(c, k, self.clk_hz, self.baud)

    def _reg(self, number: int, write: bool) -> Reg | None:
        try:
            reg = Reg(number)
        except ValueError:
            return None
        if (write and reg in READ_ONLY_REGS) or (self.layer is None and reg in CONTROLLER_REGS):
            return None
        return reg

    def _range(self, reg: Reg) -> tuple[int, int]:
        k = self.ctrl_cfg
        return {Reg.LR_MANT: (0, (1 << k.lr_width) - 1),
                Reg.LR_EXP: (-(1 << (k.lr_exp_width - 1)), (1 << (k.lr_exp_width - 1)) - 1),
                Reg.BL: (0, (1 << k.bl_width) - 1), Reg.MODE: (0, 7)}[reg]

    def _cmd_write_reg(self, p: bytes):
        number, raw = struct.unpack(REG_WRITE_FORMAT, p)
        reg = self._reg(number, write=True)
        if reg is None:
            return Err.BAD_REG, b""
        value = raw - (1 << 32) if reg == Reg.LR_EXP and raw >> 31 else raw
        lo, hi = self._range(reg)
        if not lo <= value <= hi:
            return Err.BAD_VALUE, b""
        if self.engine.j:
            return Err.BUSY, b""
        self.regs[reg] = value
        return Err.OK, b""

    def _cmd_read_reg(self, p: bytes):
        (number,) = struct.unpack(REG_READ_FORMAT, p)
        reg = self._reg(number, write=False)
        if reg is None:
            return Err.BAD_REG, b""
        value = {Reg.BATCHES: self.batches, Reg.WRITES: self.writes, Reg.ERRORS: self.errors}.get(reg)
        if value is None:
            value = self.regs[reg]
        return Err.OK, struct.pack(VALUE_FORMAT, value & U32)

    def _cmd_sample(self, p: bytes):
        c = self.cfg
        flags, xe, de = struct.unpack_from(SAMPLE_HEADER_FORMAT, p)
        h = struct.calcsize(SAMPLE_HEADER_FORMAT)
        words = struct.unpack_from(f"<{c.b + c.a}h", p, h)
        x, d = list(words[:c.b]), list(words[c.b:])
        lo, hi = -(1 << (c.in_width - 1)), (1 << (c.in_width - 1)) - 1
        elo, ehi = c.exp_range
        if (flags & ~int(SampleFlag.LAST_OF_BATCH) or not (elo <= xe <= ehi and elo <= de <= ehi)
                or any(not lo <= t <= hi for t in words)):
            return Err.BAD_VALUE, b""
        if self.update_pending:
            return Err.BUSY, b""
        self.update = None
        self.engine.sample(x, d, xe, de)
        last = bool(flags & SampleFlag.LAST_OF_BATCH)
        if last or self.engine.j >= c.max_batch:
            if not last:
                self.framing_error = True
            self._close_batch()
        return Err.OK, b""

    def _close_batch(self) -> None:
        self.update = self.engine.end_batch()
        self.update_pending = True
        self.batches = (self.batches + 1) & U32
        if self.layer is not None:
            m = self.regs[Reg.MODE]
            self.last_write = self.layer.write(self.update, lr_mant=self.regs[Reg.LR_MANT],
                                               lr_exp=self.regs[Reg.LR_EXP], bl=self.regs[Reg.BL],
                                               det=bool(m & 1), bl_mgmt=bool(m & 2), two_phase=bool(m & 4))
            self.ctrl_status = int(self.last_write.plan.status)
            self.writes = (self.writes + 1) & U32

    def _cmd_read_update(self, p: bytes):
        if self.update is None:
            return Err.NOT_READY, b""
        u, self.update_pending = self.update, False
        n = len(u["dhat"]) + len(u["xhat"])
        return Err.OK, (struct.pack(UPDATE_HEADER_FORMAT, u["s_mant"], u["s_exp"])
                        + struct.pack(f"<{n}h", *u["dhat"], *u["xhat"]))

    def status_flags(self) -> StatusFlag:
        f = StatusFlag(0)
        if self.engine.j:
            f |= StatusFlag.ENGINE_BUSY
        if self.update_pending:
            f |= StatusFlag.UPDATE_READY
        if self.engine.flags.saturated:
            f |= StatusFlag.SATURATED
        if self.framing_error:
            f |= StatusFlag.FRAMING_ERROR
        if self.layer is not None:
            f |= StatusFlag.HAS_CONTROLLER
        return f

    def _cmd_status(self, p: bytes):
        return Err.OK, struct.pack(STATUS_FORMAT, int(self.status_flags()), self.ctrl_status, self.engine.j,
                                   self.batches, self.writes, self.errors)

    def _cmd_clear(self, p: bytes):
        if self.layer is not None:
            self.layer.reset()
        else:
            self.engine.reset()
        self._clear_state()
        return Err.OK, b""
