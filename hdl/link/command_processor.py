"""Command processor of the host link: decoded request frames in, reply frames out, the engine (and the
update controller's registers) driven in between. The protocol, its formats and error codes are
contract/host_protocol.py; this block implements the board's side of it.

Request handling (one request at a time; the input waits while a request is checked, fed or answered)
-----------------------------------------------------------------------------------------------------
RECV     every decoded byte: counted (saturating at the longest accepted request + 1), the first 7
         (cmd, seq, payload bytes 0..4) latched, the CRC run two bytes behind the input (the CRC is
         little-endian: at the end it covers all bytes but the last two, compared against them), and
         payload bytes 3.. stored pairwise as i16 elements in the sample buffer (a + b words of in_width
         bits; an element outside the signed in_width range is remembered as a BAD_VALUE). No input is
         taken while a BATCHES or ERRORS increment is owed or under way (4 cycles, see below).
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
         contract/layouts.sample_layout), one beat per cycle with one lane (L + 1 cycles per beat with
         L lanes); then the reply. A sample flagged
         LAST_OF_BATCH makes an update pending at once (SAMPLE then answers BUSY until READ_UPDATE);
         an accepted SAMPLE drops the held update of the previous batch.
REPLY    status, cmd, seq, payload, CRC (little-endian) on `o`, `last` on the final byte. STATUS and
         READ_REG answer with the values at CHECK: the flags, controller status and sample count are
         latched there; the counters are read in place and their increments wait for the reply's end.

Area (iCE40 logic cells are the budget): the reply's payload bytes come through one byte mux (~10 LUT4 per
8-bit input), so BATCHES and ERRORS are kept as bytes in rotation (one mux input each, incremented a byte
per cycle); the ID payload is a block-RAM ROM; the request and the reply share one CRC register.

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

from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
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
STATUS_FA = 11         # field byte address of STATUS's payload (see `fields` in elaborate)


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
        id_bytes = id_payload(eng, ctrl, self.clk_hz, self.baud)

        # ---- buffers (block RAM). Each read port's address is the next value of its index register
        # (`*_next`, combinational), so its data is always the word at the index register: no wait
        # states for the read latency. No read whose data is used meets a write of its word (the sample
        # buffer is read after the request is in, the update buffer after the capture is complete), so
        # Yosys is told to leave out its read-during-write bypass (`no_rw_check`: ~100 LC on the iCE40);
        # `buffer_ports` (name, read port, write port, data used) lets the tests check it. ------------
        m.submodules.sbuf = sbuf = Memory(shape=signed(eng.in_width), depth=nelem, init=[], attrs={"no_rw_check": 1})
        s_wr, s_rd = sbuf.write_port(), sbuf.read_port()
        m.submodules.ubuf = ubuf = Memory(shape=unsigned(L * eng.elem_width), depth=words_d + words_x, init=[],
                                            attrs={"no_rw_check": 1})
        u_wr, u_rd = ubuf.write_port(), ubuf.read_port()
        m.submodules.idrom = idrom = Memory(shape=unsigned(8), depth=len(id_bytes), init=list(id_bytes),
                                             attrs={"rom_style": "block"})   # else Yosys builds it of LUTs
        id_rd = idrom.read_port()
        s_used, u_used = Signal(), Signal()         # the sample / update buffer's read data is used
        self.buffer_ports = [("sbuf", s_rd, s_wr, s_used), ("ubuf", u_rd, u_wr, u_used)]

        # ---- counters and flags ----------------------------------------------------------------------
        writes = Signal(32)
        pending = Signal()          # an update is pending (flagged sample fed, or captured) until read or CLEAR
        captured = Signal()         # the update buffer holds a complete update: readable (again) until the
        #                             next accepted SAMPLE or CLEAR (a lost READ_UPDATE reply is re-read)
        hold = Signal()             # a request is being checked or answered (not RECV): counters wait

        def deferred_count(counter, event, name):
            """counter += 1 per `event`, held back while `hold`: STATUS and READ_REG read WRITES straight
            from its counter during the reply, so from CHECK to the reply's end an increment
            waits (one per counter: at most one update completes, and the controller finishes at most one
            write, while a request is handled, as the next needs a sample fed and feeding waits for the
            reply) and is added in the first RECV cycle after."""
            owed = Signal(name=f"{name}_owed")
            with m.If(hold):
                m.d.sync += owed.eq(owed | event)
            with m.Else():
                with m.If(event | owed):
                    m.d.sync += counter.eq(counter + 1)
                m.d.sync += owed.eq(event & owed)

        deferred_count(writes, self.ctrl_done, "writes")

        # BATCHES and ERRORS as bytes in rotation: the reply sends a counter's low byte and rotates it right
        # by a byte per byte sent (back in place after its four bytes), so the reply's byte mux has one
        # input per counter instead of four (~10 LUT4 per 8-bit input). An increment is four such
        # rotations with the low byte + carry going to the top (step = 1..4), started in RECV when owed
        # (an update completed, an error reply sent); RECV takes no input while one is owed or under way,
        # so CHECK sees the counters in place and up to date. One increment is owed at most per counter,
        # as for WRITES above (one error reply per request; one update per batch, fed between replies).
        step = Signal(range(5))                     # 0: no increment under way
        rotors = []

        def byte_counter(name, event):
            c = Signal(32, name=name)
            owed, act, carry, rot = (Signal(name=f"{name}_{x}") for x in ("owed", "act", "carry", "rot"))
            cin = Signal(name=f"{name}_cin")
            m.d.comb += cin.eq(act & (step != 0) & ((step == 1) | carry))
            low = Signal(9, name=f"{name}_low")
            m.d.comb += low.eq(c[:8] + cin)
            with m.If(rot | (act & (step != 0))):
                m.d.sync += [c.eq(Cat(c[8:], low[:8])), carry.eq(low[8])]
            rotors.append((owed, act, event))
            return c, rot

        # ---- update capture ---------------------------------------------------------------------------
        cw = Signal(range(words_d + words_x + 1))
        s_mant = Signal(signed(eng.s_mant_width))
        s_exp = Signal(signed(eng.s_exp_width))
        m.d.comb += [u_wr.addr.eq(cw), u_wr.data.eq(self.upd.elems.as_value()), u_wr.en.eq(self.upd_valid)]
        upd_done = Signal()
        m.d.comb += upd_done.eq(self.upd_valid & (self.upd.vec == Vec.X) & self.upd.last)
        batches, batches_rot = byte_counter("batches", upd_done)
        errors, errors_rot = byte_counter("errors", self.error)
        owed_any = Signal()
        m.d.comb += owed_any.eq(Cat(*[o for o, _, _ in rotors]).any())
        start = Signal()
        m.d.comb += start.eq(~hold & (step == 0) & owed_any)
        with m.If(start):
            m.d.sync += step.eq(1)
        with m.Elif(step != 0):
            m.d.sync += step.eq(Mux(step == 4, 0, step + 1))
        for owed, act, event in rotors:
            with m.If(start):
                m.d.sync += [act.eq(owed), owed.eq(event)]
            with m.Elif(event):
                m.d.sync += owed.eq(1)
        counters_idle = Signal()                    # no increment owed or under way, none arriving
        m.d.comb += counters_idle.eq((step == 0) & ~owed_any & ~upd_done)
        with m.If(self.upd_valid):
            m.d.sync += [s_mant.eq(self.upd.s_mant), s_exp.eq(self.upd.s_exp), cw.eq(cw + 1)]
            with m.If(upd_done):
                m.d.sync += [cw.eq(0), captured.eq(1), pending.eq(1)]

        # ---- request receive state --------------------------------------------------------------------
        n = Signal(range(maxlen + 2))               # decoded bytes so far (saturating at maxlen + 1)
        hdr = Array(Signal(8, name=f"hdr{k}") for k in range(7))   # cmd, seq, payload 0..4
        cmd, seq = hdr[0], hdr[1]
        # One CRC register for the request and the reply. The request's CRC is little-endian, so the
        # register runs two bytes behind the input (b1, the byte two back, goes in) and at the end beat
        # holds the CRC of all bytes but the last two, compared against them.
        crc = Signal(16, init=CRC_INIT)
        b0, b1 = Signal(8), Signal(8)               # last and second-to-last byte
        wa = Signal(range(nelem + 1))               # sample buffer words written
        elem_bad = Signal()
        cobs_err = Signal()

        # ---- reply state --------------------------------------------------------------------------------
        status = Signal(4)                          # an Err (< 16)
        # STATUS's flags, controller status and sample count as at CHECK (they follow the engine)
        snap_flags, snap_cstat, snap_count = Signal(5), Signal(4), Signal(16)
        ri = Signal(range(max(len(id_bytes), 3) + 1))    # header byte, then ID byte index
        ri_next = Signal.like(ri)
        fa = Signal(range(48 if ctrl is not None else 32))   # field byte address (see `fields` below)

        # ---- sample feed state --------------------------------------------------------------------------
        e = Signal(range(nelem + 1))                # element index in the buffer (x first, then delta)
        e_next = Signal.like(e)
        k = Signal(range(max(a, b) + 1))            # index within the vector
        vec = Signal()                              # Vec.X then Vec.D
        flags, xexp, dexp = hdr[2], hdr[3], hdr[4]
        lob = Signal()

        # ---- update read-out state ------------------------------------------------------------------------
        uw = Signal(range(words_d + words_x + 1))
        uw_next = Signal.like(uw)
        ul = Signal(range(L))
        uk = Signal(range(max(a, b) + 1))
        uvec = Signal()
        m.d.comb += [ri_next.eq(ri), e_next.eq(e), uw_next.eq(uw)]
        m.d.sync += [ri.eq(ri_next), e.eq(e_next), uw.eq(uw_next)]
        m.d.comb += [u_rd.addr.eq(uw_next), s_rd.addr.eq(e_next), id_rd.addr.eq(ri_next)]
        u_elem = Signal(signed(eng.elem_width))
        m.d.comb += u_elem.eq(Array(u_rd.data[j * eng.elem_width:(j + 1) * eng.elem_width] for j in range(L))[ul])
        u_elem16 = Signal(16)
        m.d.comb += u_elem16.eq(u_elem)             # sign-extended

        # ---- field bytes: the payloads of STATUS, READ_REG and READ_UPDATE's header, by byte address ----
        #   0..3 s_mant (i32), 4..5 s_exp (i16)      READ_UPDATE: fa = 0, 6 bytes
        #   11..15 flags (u16), controller status, sample count (u16) as at CHECK
        #   16 + 4 (r - BATCHES): BATCHES, WRITES, ERRORS (u32)      STATUS: fa = 11, 17 bytes
        #   32 + 4 r: LR_MANT, LR_EXP, BL, MODE (with a controller)  READ_REG r: fa = reg_addr(r), 4 bytes
        def reg_addr(r):
            return Cat(Const(0, 2), r[:3], ~r[2])
        fields = {}

        def put(addr, value, nbytes):
            v = Value.cast(value)             # sign- or zero-extended to nbytes
            v = Cat(v, (v[-1] if v.shape().signed else Const(0, 1)).replicate(8 * nbytes - len(v)))
            for j in range(nbytes):
                fields[addr + j] = v[8 * j:8 * (j + 1)]

        put(0, s_mant, 4)
        put(4, s_exp, 2)
        fl = Cat(snap_flags, Const(int(ctrl is not None), 1), Const(0, 10))
        put(STATUS_FA, Cat(fl, snap_cstat, Const(0, 4), snap_count), 5)
        readable = {Reg.BATCHES: batches, Reg.ERRORS: errors}
        if ctrl is not None:
            regs_out = {Reg.LR_MANT: self.lr_mant, Reg.LR_EXP: self.lr_exp, Reg.BL: self.bl,
                        Reg.MODE: self.mode.as_value()}
            readable[Reg.WRITES] = writes
            readable.update(regs_out)
        else:
            regs_out = {}
        put(16 + 4 * (Reg.WRITES - Reg.BATCHES), writes, 4)
        for r, sig in ((Reg.BATCHES, batches), (Reg.ERRORS, errors)):
            for j in range(4):
                fields[16 + 4 * (r - Reg.BATCHES) + j] = sig[:8]
        for r, sig in regs_out.items():
            put(32 + 4 * r, sig, 4)
        fbyte = Signal(8)
        with m.Switch(fa):
            for addr, v in fields.items():
                with m.Case(addr):
                    m.d.comb += fbyte.eq(v)

        # Reply byte on `o` (in RECV: b1, the request's CRC input) and the CRC.
        out = Signal(8)
        m.d.comb += self.o.payload.data.eq(out)
        fire_o = self.o.valid & self.o.ready
        in_crc = Signal()                           # the CRC bytes themselves are not covered
        crc_en = Signal()
        with m.If(fire_o & ~in_crc):
            m.d.comb += crc_en.eq(1)
        with m.If(crc_en):
            m.d.sync += crc.eq(crc16_byte(crc, out))

        def in_signed(value, width, bits):
            """value (width bits, two's complement) lies in the signed `bits` range."""
            top = value[bits - 1:width]
            return (top == 0) | (top == (1 << (width - bits + 1)) - 1)

        def load_fields(addr):
            m.d.sync += fa.eq(addr)

        def restart():
            m.d.sync += [n.eq(0), crc.eq(CRC_INIT), wa.eq(0), elem_bad.eq(0), cobs_err.eq(0)]

        def start_reply(st):
            m.d.sync += status.eq(st)
            m.d.comb += ri_next.eq(0)
            with m.If(st != Err.OK):
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
        else:
            writable = {}

        m.d.comb += self.busy.eq(1)
        with m.FSM() as fsm:
            with m.State("RECV"):
                m.d.comb += [self.i.ready.eq(counters_idle), self.busy.eq(n != 0), out.eq(b1)]
                with m.If(self.i.valid & counters_idle):
                    d = self.i.payload.data
                    with m.If(self.i.payload.end):
                        m.d.sync += cobs_err.eq(self.i.payload.error)
                        m.next = "CHECK"
                    with m.Else():
                        with m.If(n <= maxlen):
                            m.d.sync += n.eq(n + 1)
                        with m.If(n < 7):
                            m.d.sync += hdr[n].eq(d)
                        with m.If(n >= 2):
                            m.d.comb += crc_en.eq(1)
                        m.d.sync += [b0.eq(d), b1.eq(b0)]
                        # payload byte 3 + 2k, 4 + 2k = element k (frame bytes 5 + 2k, 6 + 2k; b0 is the low byte)
                        with m.If(~n[0] & (n >= 6) & (wa < nelem)):
                            word = Cat(b0, d)
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
                m.d.sync += [snap_flags.eq(Cat(self.eng_busy, pending, self.saturated, self.framing_error,
                                               self.ctrl_busy)),
                             snap_cstat.eq(self.ctrl_status), snap_count.eq(self.sample_count)]
                # the reply echoes cmd, seq: 0 for the bytes a truncated request did not have
                with m.If(cobs_err):
                    m.d.sync += [cmd.eq(0), seq.eq(0)]
                with m.Elif(n < 2):
                    m.d.sync += seq.eq(0)
                m.next = "REPLY"
                restart()
                with m.If((n == 0) & ~cobs_err):
                    m.next = "RECV"                                      # empty frame: no reply
                with m.Elif(cobs_err):
                    start_reply(Err.TRUNCATED)
                with m.Elif(n < 4):
                    start_reply(Err.TRUNCATED)
                with m.Elif(n > maxlen):
                    start_reply(Err.TOO_LONG)
                with m.Elif(crc != Cat(b1, b0)):
                    start_reply(Err.BAD_CRC)
                with m.Elif(~known):
                    start_reply(Err.UNKNOWN_CMD)
                with m.Elif(plen != exp_len):
                    start_reply(Err.BAD_LENGTH)
                with m.Elif(cmd == Cmd.WRITE_REG):
                    with m.If(~Cat(*[reg == r for r in writable] or [Const(0)]).any()):
                        start_reply(Err.BAD_REG)
                    with m.Elif(~Cat(*[(reg == r) & ok for r, ok in writable.items()] or [Const(0)]).any()):
                        start_reply(Err.BAD_VALUE)
                    with m.Elif(self.eng_busy | self.ctrl_busy):
                        start_reply(Err.BUSY)
                    with m.Else():
                        start_reply(Err.OK)
                        for r, sig in regs_out.items():
                            with m.If(reg == r):
                                m.d.sync += sig.eq(value[:len(sig)])
                with m.Elif(cmd == Cmd.READ_REG):
                    with m.If(~Cat(*[reg == r for r in readable]).any()):
                        start_reply(Err.BAD_REG)
                    with m.Else():
                        start_reply(Err.OK)
                        load_fields(reg_addr(reg))
                with m.Elif(cmd == Cmd.SAMPLE):
                    lo_exp, hi_exp = eng.exp_range
                    bad = (elem_bad | (flags & (0xFF ^ int(SampleFlag.LAST_OF_BATCH))).any()
                           | (xexp.as_signed() < lo_exp) | (xexp.as_signed() > hi_exp)
                           | (dexp.as_signed() < lo_exp) | (dexp.as_signed() > hi_exp))
                    with m.If(bad):
                        start_reply(Err.BAD_VALUE)
                    with m.Elif(pending):
                        start_reply(Err.BUSY)
                    with m.Else():
                        start_reply(Err.OK)
                        m.d.comb += e_next.eq(0)
                        m.d.sync += [k.eq(0), vec.eq(Vec.X), lob.eq(flags[0]), captured.eq(0)]
                        m.next = "FEED"
                with m.Elif(cmd == Cmd.READ_UPDATE):
                    with m.If(~pending & ~captured):
                        start_reply(Err.NOT_READY)
                    with m.Else():
                        start_reply(Err.OK)
                        m.d.comb += uw_next.eq(0)
                        m.d.sync += [ul.eq(0), uk.eq(0), uvec.eq(Vec.D)]
                        m.next = "WAITCAP"
                with m.Elif(cmd == Cmd.STATUS):
                    start_reply(Err.OK)
                    load_fields(STATUS_FA)
                with m.Else():                                           # ID, CLEAR
                    start_reply(Err.OK)
                    with m.If(cmd == Cmd.CLEAR):
                        m.d.comb += self.clear.eq(1)
                        m.d.sync += [pending.eq(0), captured.eq(0), cw.eq(0)]
            self._feed(m, s_rd, s_used, e, e_next, k, vec, lob, xexp, dexp, pending)
            with m.State("WAITCAP"):
                with m.If(captured):
                    load_fields(0)
                    m.d.sync += pending.eq(0)
                    m.next = "REPLY"
            with m.State("REPLY"):                      # status, cmd, seq
                m.d.comb += [self.o.valid.eq(1), out.eq(Array([status, cmd, seq])[ri[:2]])]
                with m.If(fire_o):
                    m.d.comb += ri_next.eq(ri + 1)
                    with m.If(ri == 2):
                        m.d.comb += ri_next.eq(0)
                        m.next = "FIELDS"
            with m.State("FIELDS"):                     # payload bytes from the field bytes
                ok = status == Err.OK
                # the last field byte by its address: STATUS's, READ_UPDATE header's, a register's (aligned)
                last = Mux(cmd == Cmd.STATUS, fa == STATUS_FA + STATUS_BYTES - 1,
                           Mux(cmd == Cmd.READ_UPDATE, fa == UPDATE_HEADER_BYTES - 1, fa[:2] == 3))
                with m.If(ok & ((cmd == Cmd.READ_REG) | (cmd == Cmd.STATUS) | (cmd == Cmd.READ_UPDATE))):
                    m.d.comb += [self.o.valid.eq(1), out.eq(fbyte)]
                    with m.If(fire_o):
                        m.d.sync += fa.eq(fa + 1)
                        m.d.comb += [batches_rot.eq(fa[2:] == 16 // 4), errors_rot.eq(fa[2:] == 24 // 4)]
                        with m.If(last):
                            m.next = "CRC_LO"
                            with m.If(cmd == Cmd.READ_UPDATE):
                                m.next = "UPD_LO"
                with m.Elif(ok & (cmd == Cmd.ID)):
                    m.next = "PAY_ID"
                with m.Else():
                    m.next = "CRC_LO"
            with m.State("PAY_ID"):                     # the ID bytes from their ROM (ri = 0 on entry)
                m.d.comb += [self.o.valid.eq(1), out.eq(id_rd.data)]
                with m.If(fire_o):
                    m.d.comb += ri_next.eq(ri + 1)
                    with m.If(ri == len(id_bytes) - 1):
                        m.next = "CRC_LO"
            with m.State("UPD_LO"):
                m.d.comb += [self.o.valid.eq(1), out.eq(u_elem16[:8]), u_used.eq(1)]
                with m.If(fire_o):
                    m.next = "UPD_HI"
            with m.State("UPD_HI"):
                if L == 1:                              # word = element: Dhat 0..a-1, Xhat a..a+b-1
                    last_k = uw == Mux(uvec == Vec.D, a - 1, a + b - 1)
                else:
                    last_k = uk == Mux(uvec == Vec.D, a, b) - 1
                m.d.comb += [self.o.valid.eq(1), out.eq(u_elem16[8:]), u_used.eq(1)]
                with m.If(fire_o):
                    m.next = "UPD_LO"
                    with m.If(last_k):
                        m.d.comb += uw_next.eq(uw + 1)
                        m.d.sync += [ul.eq(0), uk.eq(0), uvec.eq(Vec.X)]
                        with m.If(uvec == Vec.X):
                            m.next = "CRC_LO"
                    with m.Elif(ul == L - 1):
                        m.d.comb += uw_next.eq(uw + 1)
                        m.d.sync += [ul.eq(0), uk.eq(uk + 1)]
                    with m.Else():
                        m.d.sync += [ul.eq(ul + 1), uk.eq(uk + 1)]
            with m.State("CRC_LO"):
                m.d.comb += [self.o.valid.eq(1), out.eq(crc[:8]), in_crc.eq(1)]
                with m.If(fire_o):
                    m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [self.o.valid.eq(1), out.eq(crc[8:]), self.o.payload.last.eq(1), in_crc.eq(1)]
                with m.If(fire_o):
                    m.d.sync += crc.eq(CRC_INIT)                # ready for the next request
                    m.next = "RECV"
        m.d.comb += hold.eq(~fsm.ongoing("RECV"))
        return m

    def _feed(self, m, s_rd, s_used, e, e_next, k, vec, lob, xexp, dexp, pending):
        """FEED states: the buffered sample to the engine, b x beats then a delta beats. s_rd.data is the
        element at e. One lane: each element is a beat straight from the buffer. More lanes: a beat's
        elements are gathered in `lanes` one per cycle (FEED_GET), then offered (FEED_OUT); the lanes
        after a vector's last element are 0."""
        eng = self.eng
        a, b, L = eng.a, eng.b, eng.lanes
        if L == 1:                                  # e is the element: x 0..b-1, delta b..b+a-1
            is_last = e == Mux(vec == Vec.X, b - 1, a + b - 1)
        else:
            is_last = k == Mux(vec == Vec.X, b, a) - 1
        beat = self.samples.payload
        out = [self.samples.valid.eq(1), beat.vec.eq(vec), beat.last.eq(is_last),
               beat.exp.eq(Mux(vec == Vec.X, xexp, dexp)), beat.last_of_batch.eq(is_last & (vec == Vec.D) & lob)]

        def beat_taken():
            with m.If(is_last & (vec == Vec.D)):
                with m.If(lob):
                    m.d.sync += pending.eq(1)
                m.next = "REPLY"
            with m.Elif(is_last):
                m.d.sync += [vec.eq(Vec.D), k.eq(0)]
            with m.Else():
                m.d.sync += k.eq(k + 1)

        if L == 1:
            with m.State("FEED"):
                m.d.comb += out + [beat.elems[0].eq(s_rd.data), s_used.eq(1)]
                with m.If(self.samples.ready):
                    m.d.comb += e_next.eq(e + 1)
                    beat_taken()
            return
        lane = Signal(range(L))
        lanes = Array(Signal(signed(eng.in_width), name=f"lane{j}") for j in range(L))
        with m.State("FEED"):
            m.d.sync += [lane.eq(0)] + [lanes[j].eq(0) for j in range(L)]
            m.next = "FEED_GET"
        with m.State("FEED_GET"):
            m.d.sync += lanes[lane].eq(s_rd.data)
            m.d.comb += [e_next.eq(e + 1), s_used.eq(1)]
            with m.If((lane == L - 1) | is_last):
                m.next = "FEED_OUT"
            with m.Else():
                m.d.sync += [lane.eq(lane + 1), k.eq(k + 1)]
        with m.State("FEED_OUT"):
            m.d.comb += out + [beat.elems[j].eq(lanes[j]) for j in range(L)]
            with m.If(self.samples.ready):
                beat_taken()
                with m.If(~(is_last & (vec == Vec.D))):
                    m.next = "FEED"
