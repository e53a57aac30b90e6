"""Command processor of the host link: decoded request frames in, reply frames out, the engine (and the
update controller's registers) driven in between. The protocol, its formats and error codes are
contract/host_protocol.py; this block implements the board's side of it.

Request handling (one request at a time; the input waits while a request is checked, fed or answered)
-----------------------------------------------------------------------------------------------------
RECV     every decoded byte: counted (saturating at the longest accepted request + 1), the first 7
         (cmd, seq, payload bytes 0..4) latched, the running CRC kept together with its values one and
         two bytes back (the CRC is little-endian, so it is compared against the CRC two bytes before the
         end), and payload bytes 3.. stored pairwise as i16 elements in the sample buffer (a + b words of
         in_width bits; an element outside the signed in_width range is remembered as a BAD_VALUE).
CHECK    on the end beat, the status in this order (the first that applies):
         an empty frame: ignored, no reply (a host may send delimiters to resynchronise);
         TRUNCATED (not COBS / UART error: echo 0, 0; shorter than 4 bytes: echo cmd, seq if present),
         TOO_LONG, BAD_CRC, UNKNOWN_CMD, BAD_LENGTH, then per command:
           WRITE_REG  BAD_REG (unknown, read-only, or controller register without a controller), BAD_VALUE
                      (outside the register's width), BUSY (engine busy: a batch open or reading out, or
                      the controller writing) -> the register is written
           READ_REG   BAD_REG (unknown, or controller register without a controller)
           SAMPLE     BAD_VALUE (flags other than LAST_OF_BATCH, a block exponent outside exp_width, an
                      element outside in_width), BUSY (an update waits for READ_UPDATE) -> FEED
           READ_UPDATE NOT_READY (no update pending and none held) -> waits for the update's capture; the
                      update stays held (read again, same bytes) until a SAMPLE is accepted or CLEAR
           ID, STATUS, CLEAR: always OK (CLEAR pulses `clear` and drops a pending update)
         Every non-OK status counts in ERRORS and pulses `error`.
FEED     the buffered sample goes to the engine: b x beats then a delta beats (lanes elements per beat,
         contract/layouts.sample_layout), two cycles per element; then the reply. A sample flagged
         LAST_OF_BATCH makes an update pending at once (SAMPLE then answers BUSY until READ_UPDATE);
         an accepted SAMPLE drops the held update of the previous batch.
REPLY    status, cmd, seq, payload, CRC (little-endian) on `o`, `last` on the final byte.

Update capture (in parallel): every beat with `upd_valid` (the engine's update stream as it is
transferred) is written to the update buffer (ceil(a/L) + ceil(b/L) words of L x elem_width bits); s is
latched; the Xhat beat flagged last completes the update (BATCHES + 1, pending). READ_UPDATE replies
once the capture is complete (the read-out takes ~a+b cycles, a few UART bytes).

Ports
-----
i            : In(stream(DECODED_LAYOUT))     decoded request bytes and end beats (hdl/link/cobs_decoder.py)
o            : Out(stream(FRAME_BYTE_LAYOUT)) reply bytes (hdl/link/cobs_encoder.py)
samples      : Out(stream(sample_layout))     to the engine
upd_valid, upd : In                           the engine's update stream, sampled on upd_valid (no back-pressure)
eng_busy, saturated, framing_error, sample_count : In   engine status (hdl/engine/sbe_engine.py)
ctrl_busy, ctrl_status, ctrl_done : In        controller status (tie 0 without a controller)
lr_mant, lr_exp, bl, mode : Out               controller registers (with a controller; reset 0: bl = 0
                                              makes the controller flag BL_ZERO and write nothing until set)
clear        : Out(1)                         one-cycle strobe: engine (and controller) reset
busy, error  : Out(1)                         a request is being handled / strobe per error reply
"""
from __future__ import annotations

import struct

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.engine_config import EngineConfig
from contract.enums import Vec
from contract.host_protocol import (BAUD, CONTROLLER_REGS, READ_ONLY_REGS, REQUEST_PAYLOAD_LENGTH, Cmd, Err, Reg, SampleFlag, StatusFlag,
                                    id_payload, max_request_length, sample_payload_length)
from contract.layouts import MODE_LAYOUT, sample_layout, update_layout

from hdl.link.cobs_decoder import DECODED_LAYOUT
from hdl.link.cobs_encoder import FRAME_BYTE_LAYOUT
from hdl.link.crc16 import INIT as CRC_INIT, crc16_byte

STATUS_BYTES = 17      # struct.calcsize(STATUS_FORMAT)
UPDATE_HEADER_BYTES = 6


class CommandProcessor(wiring.Component):
    """See the module docstring. `eng` EngineConfig, `ctrl` ControllerConfig or None (engine-only top),
    `clk_hz`, `baud` reported by ID."""

    def __init__(self, eng: EngineConfig, ctrl: ControllerConfig | None = None, *, clk_hz: int = 12_000_000,
                 baud: int = BAUD):
        if eng.elem_width > 16:
            raise ValueError(f"elem_width {eng.elem_width} does not fit the protocol's i16 update elements: use <= 16")
        if eng.s_exp_width > 16:
            raise ValueError(f"s_exp_width {eng.s_exp_width} does not fit the protocol's i16 s_exp: use <= 16")
        self.eng, self.ctrl, self.clk_hz, self.baud = eng, ctrl, int(clk_hz), int(baud)
        self.in_layout = sample_layout(eng.lanes, eng.in_width, eng.exp_width)
        self.upd_layout = update_layout(lanes=eng.lanes, elem_width=eng.elem_width, mant_width=eng.s_mant_width,
                                        exp_width=eng.s_exp_width)
        sig = {
            "i": In(stream.Signature(DECODED_LAYOUT)),
            "o": Out(stream.Signature(FRAME_BYTE_LAYOUT)),
            "samples": Out(stream.Signature(self.in_layout)),
            "upd_valid": In(1), "upd": In(self.upd_layout),
            "eng_busy": In(1), "saturated": In(1), "framing_error": In(1), "sample_count": In(16),
            "ctrl_busy": In(1), "ctrl_status": In(4), "ctrl_done": In(1),
            "clear": Out(1), "busy": Out(1), "error": Out(1),
        }
        if ctrl is not None:
            sig.update(lr_mant=Out(ctrl.lr_width), lr_exp=Out(signed(ctrl.lr_exp_width)), bl=Out(ctrl.bl_width),
                       mode=Out(MODE_LAYOUT))
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        eng, ctrl = self.eng, self.ctrl
        a, b, L = eng.a, eng.b, eng.lanes
        maxlen = max_request_length(a, b)
        nelem = a + b
        words_d, words_x = eng.words(Vec.D), eng.words(Vec.X)

        # ---- buffers -------------------------------------------------------------------------------
        m.submodules.sbuf = sbuf = Memory(shape=signed(eng.in_width), depth=nelem, init=[])
        s_wr, s_rd = sbuf.write_port(), sbuf.read_port()
        m.submodules.ubuf = ubuf = Memory(shape=unsigned(L * eng.elem_width), depth=words_d + words_x, init=[])
        u_wr, u_rd = ubuf.write_port(), ubuf.read_port()

        # ---- counters and flags ----------------------------------------------------------------------
        batches, writes, errors = Signal(32), Signal(32), Signal(32)
        pending = Signal()          # an update is pending (flagged sample fed, or captured) until read or CLEAR
        captured = Signal()         # the update buffer holds a complete update: readable (again) until the
        #                             next accepted SAMPLE or CLEAR (a lost READ_UPDATE reply is re-read)
        with m.If(self.ctrl_done):
            m.d.sync += writes.eq(writes + 1)

        # ---- update capture ---------------------------------------------------------------------------
        cw = Signal(range(words_d + words_x + 1))
        s_mant = Signal(signed(eng.s_mant_width))
        s_exp = Signal(signed(eng.s_exp_width))
        m.d.comb += [u_wr.addr.eq(cw), u_wr.data.eq(self.upd.elems.as_value()), u_wr.en.eq(self.upd_valid)]
        with m.If(self.upd_valid):
            m.d.sync += [s_mant.eq(self.upd.s_mant), s_exp.eq(self.upd.s_exp), cw.eq(cw + 1)]
            with m.If((self.upd.vec == Vec.X) & self.upd.last):
                m.d.sync += [cw.eq(0), captured.eq(1), pending.eq(1), batches.eq(batches + 1)]

        # ---- request receive state --------------------------------------------------------------------
        n = Signal(range(maxlen + 2))               # decoded bytes so far (saturating at maxlen + 1)
        hdr = Array(Signal(8, name=f"hdr{k}") for k in range(7))   # cmd, seq, payload 0..4
        cmd, seq = hdr[0], hdr[1]
        c0, c1, c2 = (Signal(16, init=CRC_INIT, name=f"crc{k}") for k in range(3))
        b0, b1 = Signal(8), Signal(8)               # last and second-to-last byte
        lo = Signal(8)
        wa = Signal(range(nelem + 1))               # sample buffer words written
        elem_bad = Signal()
        cobs_err = Signal()

        # ---- reply state --------------------------------------------------------------------------------
        status = Signal(8)
        echo_cmd, echo_seq = Signal(8), Signal(8)
        sr_bytes = max(STATUS_BYTES, UPDATE_HEADER_BYTES, 4)
        pl = Signal(8 * sr_bytes)                   # payload shift register (LSB byte goes out first)
        pl_n = Signal(range(sr_bytes + 1))          # bytes left in pl
        rcrc = Signal(16, init=CRC_INIT)
        ri = Signal(range(max(len(id_payload(eng, ctrl, self.clk_hz, self.baud)), 3) + 1))
        id_rom = Array(Const(v, 8) for v in id_payload(eng, ctrl, self.clk_hz, self.baud))
        id_len = len(id_rom)

        # ---- sample feed state --------------------------------------------------------------------------
        e = Signal(range(nelem + 1))                # element index in the buffer (x first, then delta)
        k = Signal(range(max(a, b) + 1))            # index within the vector
        vec = Signal()                              # Vec.X then Vec.D
        lane = Signal(range(L))
        lanes = Array(Signal(signed(eng.in_width), name=f"lane{j}") for j in range(L))
        flags, xexp, dexp = hdr[2], hdr[3], hdr[4]
        lob = Signal()

        # ---- update read-out state ------------------------------------------------------------------------
        uw = Signal(range(words_d + words_x + 1))
        ul = Signal(range(L))
        uk = Signal(range(max(a, b) + 1))
        uvec = Signal()
        m.d.comb += [u_rd.addr.eq(uw), s_rd.addr.eq(e)]
        u_elem = Signal(signed(eng.elem_width))
        m.d.comb += u_elem.eq(Array(u_rd.data[j * eng.elem_width:(j + 1) * eng.elem_width] for j in range(L))[ul])
        u_elem16 = Signal(16)
        m.d.comb += u_elem16.eq(u_elem)             # sign-extended

        # Reply byte on `o` and its CRC.
        out = Signal(8)
        m.d.comb += self.o.payload.data.eq(out)
        fire_o = self.o.valid & self.o.ready
        in_crc = Signal()                           # the CRC bytes themselves are not covered
        with m.If(fire_o & ~in_crc):
            m.d.sync += rcrc.eq(crc16_byte(rcrc, out))

        def in_signed(value, width, bits):
            """value (width bits, two's complement) lies in the signed `bits` range."""
            top = value[bits - 1:width]
            return (top == 0) | (top == (1 << (width - bits + 1)) - 1)

        def load_pl(data_bytes):
            m.d.sync += [pl.eq(Cat(*data_bytes)), pl_n.eq(sum(len(v) for v in data_bytes) // 8)]

        def restart():
            m.d.sync += [n.eq(0), c0.eq(CRC_INIT), c1.eq(CRC_INIT), c2.eq(CRC_INIT), wa.eq(0), elem_bad.eq(0),
                         cobs_err.eq(0)]

        def start_reply(st, ecmd, eseq):
            m.d.sync += [status.eq(st), echo_cmd.eq(ecmd), echo_seq.eq(eseq), ri.eq(0), rcrc.eq(CRC_INIT)]
            with m.If(st != Err.OK):
                m.d.sync += [pl_n.eq(0), errors.eq(errors + 1)]
                m.d.comb += self.error.eq(1)

        # Register writes: decoded in CHECK.
        reg = hdr[2]
        value = Cat(hdr[3], hdr[4], hdr[5], hdr[6])
        if ctrl is not None:
            writable = {Reg.LR_MANT: in_signed(value, 32, ctrl.lr_width + 1),     # unsigned: top bits zero
                        Reg.LR_EXP: in_signed(value, 32, ctrl.lr_exp_width),
                        Reg.BL: in_signed(value, 32, ctrl.bl_width + 1),
                        Reg.MODE: in_signed(value, 32, MODE_LAYOUT.size + 1)}
            # unsigned ranges: the value must also be non-negative
            writable = {r: ok & ~value[31] if r != Reg.LR_EXP else ok for r, ok in writable.items()}
            regs_out = {Reg.LR_MANT: self.lr_mant, Reg.LR_EXP: self.lr_exp, Reg.BL: self.bl,
                        Reg.MODE: self.mode.as_value()}
        else:
            writable, regs_out = {}, {}
        readable = {Reg.BATCHES: batches, Reg.ERRORS: errors}
        if ctrl is not None:
            readable[Reg.WRITES] = writes
            for r, sig in regs_out.items():
                readable[r] = sig.as_signed() if r == Reg.LR_EXP else sig

        m.d.comb += self.busy.eq(1)
        with m.FSM():
            with m.State("RECV"):
                m.d.comb += [self.i.ready.eq(1), self.busy.eq(n != 0)]
                with m.If(self.i.valid):
                    d = self.i.payload.data
                    with m.If(self.i.payload.end):
                        m.d.sync += cobs_err.eq(self.i.payload.error)
                        m.next = "CHECK"
                    with m.Else():
                        with m.If(n <= maxlen):
                            m.d.sync += n.eq(n + 1)
                        with m.If(n < 7):
                            m.d.sync += hdr[n].eq(d)
                        m.d.sync += [c0.eq(crc16_byte(c0, d)), c1.eq(c0), c2.eq(c1), b0.eq(d), b1.eq(b0)]
                        # payload byte 3 + 2k, 4 + 2k = element k (frame bytes 5 + 2k, 6 + 2k)
                        with m.If(n[0] & (n >= 5)):
                            m.d.sync += lo.eq(d)
                        with m.If(~n[0] & (n >= 6) & (wa < nelem)):
                            word = Cat(lo, d)
                            m.d.comb += [s_wr.en.eq(1), s_wr.addr.eq(wa), s_wr.data.eq(word[:eng.in_width])]
                            m.d.sync += wa.eq(wa + 1)
                            with m.If(~in_signed(word, 16, eng.in_width)):
                                m.d.sync += elem_bad.eq(1)
            with m.State("CHECK"):
                plen = n - 4
                known = Signal()
                m.d.comb += known.eq(Cat(*[cmd == int(c) for c in Cmd]).any())
                exp_len = Signal(range(maxlen + 1))
                m.d.comb += exp_len.eq(Mux(cmd == Cmd.SAMPLE, sample_payload_length(a, b),
                                           Array(Const(REQUEST_PAYLOAD_LENGTH.get(Cmd(c), 0) if c in set(map(int, Cmd)) else 0, 16)
                                                 for c in range(8))[cmd[:3]]))
                m.next = "REPLY"
                restart()
                with m.If((n == 0) & ~cobs_err):
                    m.next = "RECV"                                      # empty frame: no reply
                with m.Elif(cobs_err):
                    start_reply(Err.TRUNCATED, 0, 0)
                with m.Elif(n < 4):
                    start_reply(Err.TRUNCATED, Mux(n >= 1, cmd, 0), Mux(n >= 2, seq, 0))
                with m.Elif(n > maxlen):
                    start_reply(Err.TOO_LONG, cmd, seq)
                with m.Elif(c2 != Cat(b1, b0)):
                    start_reply(Err.BAD_CRC, cmd, seq)
                with m.Elif(~known):
                    start_reply(Err.UNKNOWN_CMD, cmd, seq)
                with m.Elif(plen != exp_len):
                    start_reply(Err.BAD_LENGTH, cmd, seq)
                with m.Elif(cmd == Cmd.WRITE_REG):
                    with m.If(~Cat(*[reg == r for r in writable] or [Const(0)]).any()):
                        start_reply(Err.BAD_REG, cmd, seq)
                    with m.Elif(~Cat(*[(reg == r) & ok for r, ok in writable.items()] or [Const(0)]).any()):
                        start_reply(Err.BAD_VALUE, cmd, seq)
                    with m.Elif(self.eng_busy | self.ctrl_busy):
                        start_reply(Err.BUSY, cmd, seq)
                    with m.Else():
                        start_reply(Err.OK, cmd, seq)
                        m.d.sync += pl_n.eq(0)
                        for r, sig in regs_out.items():
                            with m.If(reg == r):
                                m.d.sync += sig.eq(value[:len(sig)])
                with m.Elif(cmd == Cmd.READ_REG):
                    with m.If(~Cat(*[reg == r for r in readable]).any()):
                        start_reply(Err.BAD_REG, cmd, seq)
                    with m.Else():
                        start_reply(Err.OK, cmd, seq)
                        v32 = Signal(32)
                        with m.Switch(reg):
                            for r, sig in readable.items():
                                with m.Case(int(r)):
                                    m.d.comb += v32.eq(sig)
                        load_pl([v32])
                with m.Elif(cmd == Cmd.SAMPLE):
                    lo_exp, hi_exp = eng.exp_range
                    bad = (elem_bad | (flags & (0xFF ^ int(SampleFlag.LAST_OF_BATCH))).any()
                           | (xexp.as_signed() < lo_exp) | (xexp.as_signed() > hi_exp)
                           | (dexp.as_signed() < lo_exp) | (dexp.as_signed() > hi_exp))
                    with m.If(bad):
                        start_reply(Err.BAD_VALUE, cmd, seq)
                    with m.Elif(pending):
                        start_reply(Err.BUSY, cmd, seq)
                    with m.Else():
                        start_reply(Err.OK, cmd, seq)
                        m.d.sync += [pl_n.eq(0), e.eq(0), k.eq(0), vec.eq(Vec.X), lane.eq(0),
                                     lob.eq(flags[0]), captured.eq(0)]
                        m.d.sync += [lanes[j].eq(0) for j in range(L)]
                        m.next = "FEED_RD"
                with m.Elif(cmd == Cmd.READ_UPDATE):
                    with m.If(~pending & ~captured):
                        start_reply(Err.NOT_READY, cmd, seq)
                    with m.Else():
                        start_reply(Err.OK, cmd, seq)
                        m.d.sync += [uw.eq(0), ul.eq(0), uk.eq(0), uvec.eq(Vec.D)]
                        m.next = "WAITCAP"
                with m.Elif(cmd == Cmd.STATUS):
                    start_reply(Err.OK, cmd, seq)
                    fl = Cat(self.eng_busy, pending, self.saturated, self.framing_error, self.ctrl_busy,
                             Const(int(ctrl is not None), 1), Const(0, 10))
                    load_pl([fl, self.ctrl_status, Const(0, 4), self.sample_count, batches, writes, errors])
                with m.Else():                                           # ID, CLEAR
                    start_reply(Err.OK, cmd, seq)
                    m.d.sync += pl_n.eq(0)
                    with m.If(cmd == Cmd.CLEAR):
                        m.d.comb += self.clear.eq(1)
                        m.d.sync += [pending.eq(0), captured.eq(0), cw.eq(0)]
            with m.State("FEED_RD"):                    # the buffer read of element e is under way
                m.next = "FEED_GET"
            with m.State("FEED_GET"):
                length = Mux(vec == Vec.X, b, a)
                m.d.sync += [lanes[lane].eq(s_rd.data), e.eq(e + 1)]
                with m.If((lane == L - 1) | (k == length - 1)):
                    m.next = "FEED_OUT"
                with m.Else():
                    m.d.sync += [lane.eq(lane + 1), k.eq(k + 1)]
                    m.next = "FEED_RD"
            with m.State("FEED_OUT"):
                length = Mux(vec == Vec.X, b, a)
                is_last = k == length - 1
                beat = self.samples.payload
                m.d.comb += [self.samples.valid.eq(1), beat.vec.eq(vec), beat.last.eq(is_last),
                             beat.exp.eq(Mux(vec == Vec.X, xexp, dexp)),
                             beat.last_of_batch.eq(is_last & (vec == Vec.D) & lob)]
                m.d.comb += [beat.elems[j].eq(lanes[j]) for j in range(L)]
                with m.If(self.samples.ready):
                    m.d.sync += [lane.eq(0)] + [lanes[j].eq(0) for j in range(L)]
                    with m.If(is_last & (vec == Vec.D)):
                        with m.If(lob):
                            m.d.sync += pending.eq(1)
                        m.next = "REPLY"
                    with m.Elif(is_last):
                        m.d.sync += [vec.eq(Vec.D), k.eq(0)]
                        m.next = "FEED_RD"
                    with m.Else():
                        m.d.sync += k.eq(k + 1)
                        m.next = "FEED_RD"
            with m.State("WAITCAP"):
                with m.If(captured):
                    load_pl([Cat(s_mant, s_mant[-1].replicate(32 - len(s_mant))),
                             Cat(s_exp, s_exp[-1].replicate(16 - len(s_exp)))])
                    m.d.sync += pending.eq(0)
                    m.next = "REPLY"
            with m.State("REPLY"):                      # status, cmd, seq
                m.d.comb += [self.o.valid.eq(1), out.eq(Array([status, echo_cmd, echo_seq])[ri[:2]])]
                with m.If(fire_o):
                    m.d.sync += ri.eq(ri + 1)
                    with m.If(ri == 2):
                        m.d.sync += ri.eq(0)
                        m.next = "PAY_SR"
            with m.State("PAY_SR"):                     # payload bytes from the shift register
                with m.If(pl_n != 0):
                    m.d.comb += [self.o.valid.eq(1), out.eq(pl[:8])]
                    with m.If(fire_o):
                        m.d.sync += [pl.eq(pl >> 8), pl_n.eq(pl_n - 1)]
                with m.Elif((status == Err.OK) & (echo_cmd == Cmd.ID)):
                    m.next = "PAY_ID"
                with m.Elif((status == Err.OK) & (echo_cmd == Cmd.READ_UPDATE)):
                    m.next = "UPD_ADDR"
                with m.Else():
                    m.next = "CRC_LO"
            with m.State("PAY_ID"):
                m.d.comb += [self.o.valid.eq(1), out.eq(id_rom[ri])]
                with m.If(fire_o):
                    m.d.sync += ri.eq(ri + 1)
                    with m.If(ri == id_len - 1):
                        m.next = "CRC_LO"
            with m.State("UPD_ADDR"):                   # the update buffer read of word uw is under way
                m.next = "UPD_LO"
            with m.State("UPD_LO"):
                m.d.comb += [self.o.valid.eq(1), out.eq(u_elem16[:8])]
                with m.If(fire_o):
                    m.next = "UPD_HI"
            with m.State("UPD_HI"):
                ulen = Mux(uvec == Vec.D, a, b)
                last_k = uk == ulen - 1
                m.d.comb += [self.o.valid.eq(1), out.eq(u_elem16[8:])]
                with m.If(fire_o):
                    with m.If(last_k):
                        m.d.sync += [uw.eq(uw + 1), ul.eq(0), uk.eq(0), uvec.eq(Vec.X)]
                        m.next = "UPD_ADDR"
                        with m.If(uvec == Vec.X):
                            m.next = "CRC_LO"
                    with m.Elif(ul == L - 1):
                        m.d.sync += [uw.eq(uw + 1), ul.eq(0), uk.eq(uk + 1)]
                        m.next = "UPD_ADDR"
                    with m.Else():
                        m.d.sync += [ul.eq(ul + 1), uk.eq(uk + 1)]
                        m.next = "UPD_LO"
            with m.State("CRC_LO"):
                m.d.comb += [self.o.valid.eq(1), out.eq(rcrc[:8]), in_crc.eq(1)]
                with m.If(fire_o):
                    m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [self.o.valid.eq(1), out.eq(rcrc[8:]), self.o.payload.last.eq(1), in_crc.eq(1)]
                with m.If(fire_o):
                    m.next = "RECV"
        return m
