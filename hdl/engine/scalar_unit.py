"""Microcoded scalar unit of the SBE engine: register file, pipelined FloatALU, and the hand-over registers.

Runs the segments of contract/microcode.py (CHAIN per sample, FINAL and RESCALE per batch, INIT after a
state reset) as statically scheduled for its ALU latency LAT = cfg.alu_latency
(contract/microcode_schedule.py), one slot per cycle, from a ROM holding that schedule: the golden model
(golden/rtl/scalar_unit.py) runs the same schedule with a write-back queue, so the two agree by
construction as long as the ALU and the conversions are exact (tests/amaranth_sim/test_float_alu.py,
tests/amaranth_sim/test_sbe_engine.py). No interlocks: the schedule has no hazards (the golden model
asserts that).

Pipeline (an instruction issued in cycle t)
    fetch    ROM (block memory, registered output) read in t-2, registered again: the fields are valid in
             t (a segment's first word: from a table registered in every cycle; while idle, the ROM reads
             the second word of the segment the scheduler's `seg`, `last` name, started or not)
    t        issue: register-file read addresses (block memory, two read ports, registered output);
             REL / RDY / DONE pulse (from a register: predicted from pc in t-1, not decoded from the word)
    t+1      operands valid; FloatALU (LAT - 2 register stages, float_alu.CUTS); KSEL at LAT 3; the
             conversions' operand (COEF adds the block exponent)
    t+2      COEF/OUTC/SOUT rounding to their widths (fnorm_multi_pipe_hw: one tree and shift, CONV_CUTS[LAT]
             registers inside);
             KSEL at LAT >= 4: its tests (zero mantissa, clamps) and raw k registered at t+3, the select
             after them
    then     clamps of the conversions (with "post" in CONV_CUTS: their exponent arithmetic registered
             before the selects and the s underflow shift)
    t+LAT-1  ALU/KSEL result written (register file, k_v); an instruction issued at t+LAT reads it
    t+LAT    a hand-over word (COEF/OUTC/SOUT) written (after delay registers): one cycle more
             (microcode_schedule.HANDOVER_EXTRA)
The register file resets by rewriting its reset values (NREGS cycles after reset or `clear`, `busy`).

compact=True (the iCE40 builds: fewer logic cells, longer paths; bit-exact, the same cycles): the ROM word
straight off its block RAM (one-cycle fetch: the read at t-1); the reset values read from the register
file's own block RAM (a second bank at 64 + r, through read port a) and written one cycle later (the last
in the first cycle after `busy`); FloatALU(compact=True); the conversions take a_m from the ALU's cut-a
register and normalise it by a shift of 0 or 1 (a register's mantissa is normalised, -2**(mw-2) or 0);
constant compares as logic; jc + 1 only as wide as max_batch + 1.
"""
from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract import microcode_schedule as S
from contract.checks import check_int
from contract.enums import Segment, Vec
from contract.fixed_point import FloatFormat
from contract.engine_config import KMIN, LMAX, EngineConfig

from hdl.dsp_multiplier import check_dsp
from hdl.fixed_point import FNORM_COMPACT_CUTS, FNORM_CUTS, fnorm_multi_pipe_hw, gt_const_hw, lt_const_hw, rshift_round_hw, stage_hw
from hdl.engine.delay_line import DelayLine
from hdl.engine.float_alu import FULL_MAX_LATENCY, FloatALU

#: The instructions that are pulses to the engine (ports rel, rdy, done) rather than ALU operations.
PULSE_OPS = ("REL", "RDY", "DONE")

#: Extra pipeline registers of the conversions (COEF/OUTC/SOUT: fnorm_multi_pipe_hw cuts, and "post": the
#: clamps' exponent arithmetic; "post2": the s underflow shift) per LAT (larger LAT: as many as the largest
#: key), delay registers after
CONV_CUTS = {3: (), 4: ("bl",), 5: ("bl", "post"), 6: ("bl", "sh", "post"), 7: ("bl", "sh", "rnd", "post"),
             8: ("bl", "sh", "rnd", "post", "post2"), 9: ("bl", "sh", "rng", "rnd", "post", "post2")}
#: ("rng" is one of fnorm_multi_pipe_hw's compact-only cuts, FNORM_COMPACT_CUTS: the full form registers
#: its range compares at "sh" already and leaves it out)


def latch_layout(acc_width: int, exp_width: int, carries: bool = False) -> data.StructLayout:
    """The dot-product latches (exact integers) and the input block exponents of their sample. With
    `carries` (the one-lane iCE40 datapath, VectorDatapath `deferred_carry`) a latch holds its sum as a
    partial word and a carry "C" (bit i for P.SOURCES[i]) into bit latch_split(acc_width): the sum is
    (latch + C[i] * 2**split) mod 2**acc_width, as a signed acc_width-bit integer."""
    return data.StructLayout({**{name: signed(acc_width) for name in P.SOURCES[:6]},
                              "EX": signed(exp_width), "ED": signed(exp_width),
                              **({"C": unsigned(6)} if carries else {})})


def latch_split(acc_width: int) -> int:
    """The bit a latch's deferred carry adds into (latch_layout `carries`): two chains of about half the
    accumulator's width."""
    return acc_width // 2


def axpy_layout(coef_width: int) -> data.StructLayout:
    """An AXPY word: M' = sat(rnd(M, k) + rnd(cm * v, sh)) (golden/rtl/sbe_engine.py)."""
    return data.StructLayout({"k": signed(8), "cm": signed(coef_width), "sh": signed(8)})


def scale_layout(coef_width: int) -> data.StructLayout:
    """A read-out scale: element = sat(rnd(m * M, sh))."""
    return data.StructLayout({"m": signed(coef_width), "sh": signed(8)})


MIN_LATENCY = 3     #: register-file read + two ALU stages (at most 2 + max(float_alu.CUTS))


def check_rtl_latency(cfg: EngineConfig, compact: bool = False) -> None:
    """ValueError unless the RTL scalar unit (compact or not) can run at cfg.alu_latency."""
    if cfg.alu_latency < MIN_LATENCY:
        raise ValueError(f"alu_latency must be at least {MIN_LATENCY} for the RTL scalar unit (register-file "
                         f"read, two ALU stages), not {cfg.alu_latency}")
    if not compact and cfg.alu_latency - 2 > FULL_MAX_LATENCY:
        raise ValueError(f"alu_latency {cfg.alu_latency} needs compact=True: its ALU stage splits the compact "
                         f"normaliser (hdl/engine/float_alu.py CUTS); the full form runs at alu_latency "
                         f"{2 + FULL_MAX_LATENCY} at most")


class ScalarUnit(wiring.Component):
    """Microcoded sfloat scalar unit: runs one scheduled microcode segment per `start`, one slot per cycle.

    Parameters
    ----------
    acc_width : int
        Width of the dot-product latches (`lat`), 8..128.
    compact : bool
        Fewer logic cells for longer paths (the iCE40 builds; default False, bit-exact either way, the same
        cycles): FloatALU(compact=True), the conversions' compact fnorm (hdl/fixed_point.py), constant
        compares as logic instead of carry chains, the register file's reset values read from a block-RAM
        ROM, the LDI source jc + 1 as wide as max_batch + 1 needs.
    latch_carries : bool
        The latches hold partial sums and carries (latch_layout `carries`, from the one-lane iCE40
        datapath: VectorDatapath `deferred_carry`); LDI adds the carry in the ALU (FloatALU `ival_carry_at`).
        Needs compact and acc_width >= 18. Default False.
    bram_delays : bool
        KSEL's result on its way to the write-back in a block-RAM delay line (hdl/engine/delay_line.py)
        instead of registers, where it is two or more cycles (the iCE40 builds, SBEEngine bram_delays: 40
        logic cells fewer at ALU latency 10). Its op and register stay in registers, which reset: a stale
        word out of the RAM after a reset is never written. Default False.
    **params
        The keyword parameters of contract.engine_config.EngineConfig.

    Ports
    -----
    start, seg : In(1), In(2)
        Start segment `seg` (enums.Segment) when idle (ignored while `busy`).
    last : In(1)
        With a CHAIN start: the batch's last sample; runs microcode.LAST (that CHAIN fused with FINAL,
        RDY pulses included) instead.
    jc : In(16)
        1-based index of the sample whose CHAIN runs (n, the batch's last, for FINAL); LDI NJ loads
        jc + 1.
    gpar : In(1)
        Parity of that sample counted since the reset (across batches): COEF writes coef[v][gpar].
    busy : Out(1)
        A segment is running, or the register file is being reset.
    rel, rdy, done : Out(1), Out(2), Out(1)
        Pulses, the cycle REL, RDY v (bit v) and DONE execute.
    chain_done : Out(1)
        `done` of a CHAIN or LAST segment (one more AXPY word made).
    flag : Out(1)
        Sticky: a float exponent, an AXPY coefficient, a read-out scale or s was clamped (an ALU result's
        clamp: from the cycle after its write; in the compact form from its write).
    lat : In(latch_layout)
        The dot-product latches XM, XX1, XX, DM, DD1, DD (exact integers, read by LDI) and the input
        block exponents EX, ED of their sample, captured when a CHAIN starts (with the previous sample's):
        LDI adds them to the dot products' exponents, COEF adds its vector's to the coefficient's.
    coef : Out(2 x 2 x axpy_layout)
        coef[v][parity] = (k, cm, sh): AXPY word of vector v written by COEF in the CHAIN of sample g
        (counted since the reset, parity g % 2: `gpar`); used by the pass of sample g + 2 (in this batch
        or the next) and by the read-out. Reset: 0, the identity.
    scale : Out(2 x scale_layout)
        scale[v] = (m, sh): read-out scale of vector v, written by OUTC.
    s_mant, s_exp : Out
        s in the update-stream format (contract/layouts.py), written by SOUT.

    Formats: golden/rtl/sbe_engine.py. Latency: a scheduled segment of N slots takes N cycles from
    `start` to `done` (contract.microcode_schedule.segment_lengths(LAT)); a hand-over register changes
    LAT cycles after the instruction that writes it issues, by the `done` of its segment at the latest.
    """

    def __init__(self, *, acc_width: int, compact: bool = False, dsp: str = "generic", latch_carries: bool = False,
                 bram_delays: bool = False, **params):
        self.cfg = cfg = EngineConfig(**params)
        self.compact = bool(compact)
        self.dsp = check_dsp(dsp)     # the ALU's multiplier (FloatALU `dsp`)
        self.acc_width = check_int("acc_width", acc_width, 8, 128)
        if not isinstance(latch_carries, bool):
            raise TypeError(f"latch_carries must be True or False, not {latch_carries!r}")
        if latch_carries and not (self.compact and self.acc_width >= 18):
            raise ValueError(f"latch_carries needs compact=True and acc_width >= 18 (the LDI integer exactly "
                             f"acc_width wide), not compact={self.compact}, acc_width={self.acc_width}")
        self.latch_carries = latch_carries
        if not isinstance(bram_delays, bool):
            raise TypeError(f"bram_delays must be True or False, not {bram_delays!r}")
        self.bram_delays = bram_delays
        cw = cfg.coef_width
        check_rtl_latency(cfg, self.compact)
        self.rom, self.seg_start = S.rom(cfg.alu_latency)
        # The pulses (REL, RDY, DONE) are predicted from pc a cycle ahead (elaborate), which needs a
        # segment's first slot not to be one: the cycle before a segment starts, nothing runs.
        for name, at in self.seg_start.items():
            if self.rom[at][0] in PULSE_OPS:
                raise ValueError(f"segment {name} starts with {self.rom[at][0]}: a pulse cannot be a segment's first slot")
        super().__init__({
            "start": In(1), "seg": In(2), "last": In(1), "jc": In(16), "gpar": In(1),
            "busy": Out(1), "rel": Out(1), "rdy": Out(2), "done": Out(1), "chain_done": Out(1), "flag": Out(1),
            "lat": In(latch_layout(acc_width, cfg.exp_width, carries=latch_carries)),
            "coef": Out(data.ArrayLayout(data.ArrayLayout(axpy_layout(cw), 2), 2)),
            "scale": Out(data.ArrayLayout(scale_layout(cw), 2)),
            "s_mant": Out(signed(cfg.s_mant_width)), "s_exp": Out(signed(cfg.s_exp_width)),
        })

    def _segment_at(self, addr: int) -> str:
        """The name of the segment holding ROM address `addr`."""
        return max((at, name) for name, at in self.seg_start.items() if at <= addr)[1]

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        LAT = cfg.alu_latency
        mw, ew, cw = cfg.mant_width, cfg.fexp_width, cfg.coef_width
        ff = FloatFormat(mw, ew, cfg.seed_bits)
        init = cfg.reset_registers(ff)
        int_width = max(self.acc_width, 18)      # LDI: the latches and jc + 1 (17 bits)
        short = LAT == 3            # ALU stages B and C in one cycle, conversions' stages 2 and 3 too
        # The ALU's registers: operands valid at t+1, result written at the end of t+LAT-1.
        m.submodules.alu = alu = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=cfg.seed_bits,
                                          int_width=int_width, latency=LAT - 2, compact=self.compact, dsp=self.dsp,
                                          ival_carry_at=latch_split(int_width) if self.latch_carries else None)
        conv_cuts = CONV_CUTS[min(LAT, max(CONV_CUTS))]
        if not self.compact:
            conv_cuts = tuple(c for c in conv_cuts if c not in FNORM_COMPACT_CUTS)
        OPC = P.OPCODE
        if self.compact:        # constant compares as logic (no carry chain: a logic cell per bit on the iCE40)
            gt, lt = gt_const_hw, lt_const_hw
        else:
            gt, lt = (lambda x, c: x > c), (lambda x, c: x < c)

        # -- register file: a memory (block RAM; full form at L > 1: distributed RAM), word = (e, m); reset by
        # rewriting the reset values
        rw = mw + ew
        pack = lambda f: (f[0] & ((1 << mw) - 1)) | ((f[1] & ((1 << ew) - 1)) << mw)   # noqa: E731
        # no_rw_check: Yosys leaves out the read-during-write bypass (a register and a select after the
        # block RAM's slow clock-to-out): the schedule never reads a register in the cycle it is written
        # (golden/rtl/scalar_unit.py asserts it: a read while a write is pending is a hazard), and a read
        # of a NOP (addresses from the ROM's fields) is not used.
        # compact: the reset values also sit at addresses 64 + r (the block RAM has room), read through
        # read port a during the reset and written one cycle later (no table of constants in logic)
        rbank = 1 << P.REG_BITS
        rf_init = [pack(f) for f in init]
        if self.compact:
            rf_init = rf_init + [0] * (rbank - P.NREGS) + rf_init
        # full form with more than one lane: in distributed RAM (LUT RAM with its read registers in the
        # fabric), placed beside the ALU: in a DP16KD the route from the ALU's last select into the block
        # RAM's write data (2.3 ns) was the L = 4 ECP5 engine's worst path (120.6 -> 125.3 MHz). At one
        # lane that path is not critical and the block RAM stays (the engine L = 1 placed at 128.6 MHz
        # with it, 124.8 with the distributed form: its sample buffer -> DSP path, moved by placement).
        distributed = not self.compact and cfg.lanes > 1
        m.submodules.rf = rf = Memory(shape=unsigned(rw), depth=len(rf_init), init=rf_init,
                                      attrs={"no_rw_check": 1, **({"ram_style": "distributed"} if distributed else {})})
        rd_a, rd_b, wr = rf.read_port(), rf.read_port(), rf.write_port()
        rst_cnt = Signal(range(P.NREGS + 1), init=0)
        rst_busy = Signal(init=1)
        if self.compact:
            rst_wr, rst_wa = Signal(), Signal.like(rst_cnt)
            m.d.sync += [rst_wr.eq(rst_busy), rst_wa.eq(rst_cnt)]
        else:
            init_rom = Array(Const(pack(f), rw) for f in init)

        # -- microcode ROM (the schedule), registered output --------------------------------------------
        fields = [P.encode(ins) for ins in self.rom]
        ob, rb, ib = P.OP_BITS, P.REG_BITS, P.IMM_BITS
        words = [f[0] | f[1] << ob | f[2] << (ob + rb) | f[3] << (ob + 2 * rb) | (f[4] & ((1 << ib) - 1)) << (ob + 3 * rb)
                 for f in fields]
        m.submodules.rom = rom = Memory(shape=unsigned(ob + 3 * rb + ib), depth=len(words), init=words)
        # Two-cycle fetch: the block RAM's slow clock-to-out (5.6 ns on the ECP5) goes into a register, not
        # into the register file's addresses; the ROM reads the word of cycle t at t-2, a segment's first
        # word comes from a small table registered with `go` (its address is known only at t-1).
        rom_rd = rom.read_port()
        pc = Signal(range(len(words) + 2))
        running = Signal()
        op, d, a, b = Signal(ob), Signal(rb), Signal(rb), Signal(rb)
        imm = Signal(signed(ib))
        q_rom, q_first, first = Signal(len(rom_rd.data)), Signal(len(rom_rd.data)), Signal()
        if self.compact:
            # one-cycle fetch: the ROM's registered output is the word (read at t-1, no second register)
            m.d.comb += q_rom.eq(rom_rd.data)
        else:
            m.d.sync += q_rom.eq(rom_rd.data)
        q = Signal(len(rom_rd.data))
        m.d.comb += q.eq(Mux(first, q_first, q_rom))
        m.d.comb += [op.eq(Mux(running, q[:ob], OPC["NOP"])), d.eq(q[ob:ob + rb]), a.eq(q[ob + rb:ob + 2 * rb]),
                     b.eq(q[ob + 2 * rb:ob + 3 * rb]), imm.eq(q[ob + 3 * rb:])]
        go = Signal()
        m.d.comb += go.eq(self.start & ~running & ~rst_busy)
        segs = sorted(Segment, key=int)
        is_last = Signal()
        m.d.comb += is_last.eq(self.last & (self.seg == Segment.CHAIN))
        seg_start = Array([Const(self.seg_start[sg.name], len(pc)) for sg in segs])
        seg_word = Array([Const(words[self.seg_start[sg.name]], len(q)) for sg in segs])
        start_addr = Signal.like(pc)
        m.d.comb += start_addr.eq(Mux(is_last, self.seg_start["LAST"], seg_start[self.seg]))
        if self.compact:
            m.d.comb += rom_rd.addr.eq(pc + 1)
        else:
            # While idle the ROM reads the second word of the segment a start would start (start_addr + 1
            # as a select of constants of the scheduler's `seg`, `last`: registers), whether it starts or
            # not: the address selects on `running` (a register), not on `go` (the scheduler's `start`
            # after `busy` and the latches' `full`: late, and a block RAM's address wants its setup).
            seg_next = Array([Const(self.seg_start[sg.name] + 1, len(pc)) for sg in segs])
            m.d.comb += rom_rd.addr.eq(Mux(running, pc + 2,
                                           Mux(is_last, self.seg_start["LAST"] + 1, seg_next[self.seg])))
        m.d.sync += [first.eq(go), q_first.eq(Mux(is_last, words[self.seg_start["LAST"]], seg_word[self.seg]))]
        # pc follows start_addr while idle (not loaded by `go`): it is the started segment's first address
        # in the cycle after `go`
        with m.If(~running):
            m.d.sync += pc.eq(start_addr)
            with m.If(go):
                m.d.sync += running.eq(1)
        with m.Else():
            m.d.sync += pc.eq(pc + 1)
            with m.If(self.done):
                m.d.sync += running.eq(0)
        m.d.comb += self.busy.eq(running | rst_busy)

        # The pulses from registers: a running segment's next word is at pc + 1, so whether it is REL,
        # RDY v or DONE is a compare of pc (a register) with constants, registered, instead of a decode of
        # the ROM word in its own cycle (the iCE40's ROM -> decode -> scheduler -> issue-decision path).
        # Not running, the next cycle is at most a segment's first slot, never a pulse (__init__).
        def next_is(op, vec=None, segs=None) -> Signal:
            """Registered: the next cycle runs `op` (of vector `vec`, in one of segments `segs`)."""
            at = Signal()
            m.d.sync += at.eq(running & Cat(pc == i - 1 for i, ins in enumerate(self.rom)
                                            if ins[0] == op and (vec is None or ins[1] == vec)
                                            and (segs is None or self._segment_at(i) in segs)).any())
            return at
        m.d.comb += [self.rel.eq(next_is("REL")), self.rdy.eq(Cat(next_is("RDY", v) for v in sorted(Vec, key=int))),
                     self.done.eq(next_is("DONE")), self.chain_done.eq(next_is("DONE", segs=("CHAIN", "LAST")))]

        # -- issue (cycle t): read addresses, pulses --------------------------------------------------
        if self.compact:
            m.d.comb += [rd_a.addr.eq(Cat(Mux(rst_busy, rst_cnt, a), rst_busy)), rd_b.addr.eq(b)]
        else:
            m.d.comb += [rd_a.addr.eq(a), rd_b.addr.eq(b)]

        # Input block exponents of this chain's sample (cur) and of the previous one (prev), per vector.
        xw = cfg.exp_width
        ex_cur = [Signal(signed(xw), name=f"ex_cur_{v}") for v in (0, 1)]
        ex_prev = [Signal(signed(xw), name=f"ex_prev_{v}") for v in (0, 1)]
        with m.If(go & (self.seg == Segment.CHAIN)):
            m.d.sync += [ex_prev[0].eq(ex_cur[0]), ex_prev[1].eq(ex_cur[1]),
                         ex_cur[Vec.D].eq(self.lat.ED), ex_cur[Vec.X].eq(self.lat.EX)]

        # -- stage 1 (t+1): operands ------------------------------------------------------------------
        p1_op, p1_d, p1_a, p1_b = Signal(ob), Signal(rb), Signal(rb), Signal(rb)
        p1_imm = Signal(signed(ib))
        m.d.sync += [p1_op.eq(op), p1_d.eq(d), p1_a.eq(a), p1_b.eq(b), p1_imm.eq(imm)]
        am, ae = Signal(signed(mw)), Signal(signed(ew))
        bm, be = Signal(signed(mw)), Signal(signed(ew))
        m.d.comb += [am.eq(rd_a.data[:mw]), ae.eq(rd_a.data[mw:]), bm.eq(rd_b.data[:mw]), be.eq(rd_b.data[mw:])]
        k_regs = [Signal(signed(8), name=f"k_{v}") for v in (0, 1)]
        k_sel = Signal(signed(8))
        m.d.comb += k_sel.eq(Mux(p1_b[0], k_regs[1], k_regs[0]))

        # LDI sources: the six latches and jc + 1 (the latches are held until REL, which issues after
        # every LDI: reading them a cycle after issue is the same).
        # jc + 1 in a register (no adder chain from the scheduler's counters in front of the ALU's operand
        # register): jc changes only between segments (the scheduler's `chains` on a DONE, its segment at
        # a start) and the first LDI of a segment reads its source two cycles after the start, when the
        # register already follows the new jc.
        # (compact: as wide as max_batch + 1 needs, jc <= max_batch: a batch has at most max_batch samples)
        jw = (cfg.max_batch + 1).bit_length() if self.compact else 17
        jc1 = Signal(jw)
        m.d.sync += jc1.eq(self.jc[:jw] + Const(1, jw))
        srcs = Array([self.lat[n] for n in P.SOURCES[:6]] + [jc1]
                     + [Const(0, signed(self.acc_width))] * (8 - len(P.SOURCES)))
        X, D = Vec.X, Vec.D
        src_e = Array([ex_cur[X], ex_cur[X] + ex_prev[X], ex_cur[X] * 2, ex_cur[D], ex_cur[D] + ex_prev[D],
                       ex_cur[D] * 2, Const(0, signed(xw + 2)), Const(0, signed(xw + 2))])
        m.d.comb += [alu.op.eq(p1_op), alu.a_m.eq(am), alu.a_e.eq(ae), alu.b_m.eq(bm), alu.b_e.eq(be),
                     alu.ival.eq(srcs[p1_a[:3]]), alu.ival_e.eq(src_e[p1_a[:3]])]
        if self.latch_carries:          # the latches' deferred carries (jc + 1 has none)
            m.d.comb += alu.ival_c.eq(Array([self.lat.C[i] for i in range(6)] + [Const(0, 1)] * 2)[p1_a[:3]])
        m.d.comb += alu.k.eq(Mux(p1_op == OPC["SCLK"], Mux(p1_imm < 0, -k_sel, k_sel), p1_imm))

        def ksel_hw(mant, exp, name, cut=False):
            """KSEL: k = floor((e + mw - 2 - (2*SW - 6)) / 2), clamped; 0 for a zero norm. With `cut`, its
            tests and the raw k registered (stage_hw `name`) and the select after them: one cycle later."""
            c = mw - 2 - (2 * cfg.state_width - 6)
            kraw = Signal(signed(len(exp) + 2), name=f"{name}_raw")
            m.d.comb += kraw.eq((exp + c) >> 1)
            # the clamps as compares of e itself (beside the add, not after it):
            # floor((e + c) / 2) < KMIN <=> e < 2 KMIN - c;  > kmax <=> e > 2 kmax + 1 - c
            t = stage_hw(m, cut, name, {"zero": mant == 0, "lo": lt(exp, 2 * KMIN - c),
                                        "hi": gt(exp, 2 * cfg.kmax + 1 - c), "raw": kraw[:8].as_signed()})
            ksel = Signal(signed(8), name=f"{name}_k")
            with m.If(t["zero"]):
                m.d.comb += ksel.eq(0)
            with m.Elif(t["lo"]):
                m.d.comb += ksel.eq(KMIN)
            with m.Elif(t["hi"]):
                m.d.comb += ksel.eq(cfg.kmax)
            with m.Else():
                m.d.comb += ksel.eq(t["raw"])
            return ksel
        # at LAT 3 from the operands (t+1), registered at t+2; else from the stage 2 registers (t+2; p2_e =
        # ae there), below
        ksel = ksel_hw(am, ae, "ksel1") if short else None
        # COEF scales the coefficient by 2**e_v(j): it multiplies sample j's integers.
        ex_c = Signal(signed(xw))
        m.d.comb += ex_c.eq(Mux(p1_op == OPC["COEF"], Mux(p1_d[0], ex_cur[1], ex_cur[0]), 0))
        ae_c = Signal(signed(ew + 2))
        m.d.comb += ae_c.eq(ae + ex_c)

        # -- stage 2 (t+2): conversions rounded to their widths -----------------------------------------
        p2_op, p2_d = Signal(ob), Signal(rb)
        p2_m, p2_e = Signal(signed(mw)), Signal(signed(ew + 2))
        m.d.sync += [p2_op.eq(p1_op), p2_d.eq(p1_d)]
        k_extra = {}
        if not self.compact:        # COEF v: k_v, carried (compact: read again in stage 3, below)
            p2_k = Signal(signed(8))
            m.d.sync += p2_k.eq(Mux(p1_d[0], k_regs[1], k_regs[0]))
            k_extra = {"k": p2_k}
        if self.compact and short:
            # the ALU's register of cut "a" holds a_m of the same op (its stage A2 ends at t+1 at LAT 3)
            m.d.comb += p2_m.eq(alu.a_q)
        else:
            m.d.sync += p2_m.eq(am)
        if short:
            p2_ksel = Signal(signed(8))
            m.d.sync += [p2_e.eq(ae_c), p2_ksel.eq(ksel)]
        else:
            # the register file's output (block RAM, slow clock-to-out) straight into registers: the
            # block exponent added after them, in parallel with fnorm's leading-one tree
            p2_ae, p2_ex = Signal(signed(ew)), Signal(signed(xw))
            m.d.sync += [p2_ae.eq(ae), p2_ex.eq(ex_c)]
            m.d.comb += p2_e.eq(p2_ae + p2_ex)
        # fnorm_multi_pipe_hw with conv_cuts: len(conv_cuts) registers inside, the stage 3 registers after
        smw, sew = cfg.s_mant_width, cfg.s_exp_width
        fn_cuts = [c for c in conv_cuts if c in FNORM_CUTS or c in FNORM_COMPACT_CUTS]
        # COEF/OUTC (coef_width) and SOUT (s_mant_width) round the same value: one leading-bit tree and one
        # normalising shift, a rounding and clamp each (compact: a register's mantissa is normalised or
        # -2**(mw-2) or 0, as every ALU result and reset value is: a shift by 0 or 1, no tree)
        ((cm, ce, cflag), (sm, se, sflag)), cx = fnorm_multi_pipe_hw(
            m, p2_m, p2_e, widths=(cw, smw), ew=ew, names=("coef", "sout"), cuts=fn_cuts,
            extra={"op": p2_op, "d": p2_d, **k_extra}, compact=self.compact,
            normalised=self.compact)

        # -- stage 3 (t+3+len(fn_cuts)): clamps; the ALU result -----------------------------------------
        p3_op, p3_d = Signal(ob), Signal(rb)
        p3_cm, p3_ce, p3_cflag = Signal(signed(cw)), Signal(signed(ew)), Signal()
        p3_sm, p3_se, p3_sflag = Signal(signed(smw)), Signal(signed(ew)), Signal()
        p3_k = Signal(signed(8))
        m.d.sync += [p3_op.eq(cx["op"]), p3_d.eq(cx["d"]), p3_cm.eq(cm), p3_ce.eq(ce), p3_cflag.eq(cflag),
                     p3_sm.eq(sm), p3_se.eq(se), p3_sflag.eq(sflag)]
        # compact: k_d read again here, not carried: it cannot change between COEF's issue t and t + LAT
        # (a KSEL before it in the schedule is visible by t, one after it at t + 1 + LAT at the earliest),
        # and this is t + 2 + len(fn_cuts) <= t + LAT
        m.d.sync += p3_k.eq(Mux(cx["d"][0], k_regs[1], k_regs[0]) if self.compact else cx["k"])
        # The write-back's op, d: registered at t+3 (LAT >= 4); KSEL's k at t+3 from its tests registered
        # there (the mantissa's zero test and the clamps' compares of t+2 off the select: before, the zero
        # test drove the sync reset of a k register, the L=1 ECP5 engine's worst path at 124.55 MHz)
        kq_op = kq_d = kq_ksel = None
        if not short:
            kq_op, kq_d = Signal(ob), Signal(rb)
            m.d.sync += [kq_op.eq(p2_op), kq_d.eq(p2_d)]
            kq_ksel = ksel_hw(p2_m, p2_ae, "kq", cut=True)
        # The clamps' exponent arithmetic and compares; with "post" registered before their selects and
        # the s underflow shift.
        s_emax, s_emin = (1 << (sew - 1)) - 1, -(1 << (sew - 1))
        csh_raw = Signal(signed(ew + 2))
        se_real = Signal(signed(ew + 8))
        if self.compact:        # -(ce + o) = ~ce + 1 - o: one adder of a two-valued constant
            m.d.comb += csh_raw.eq(~p3_ce + Mux(p3_op == OPC["OUTC"], 2 - cfg.elem_width, 1))
        else:
            m.d.comb += csh_raw.eq(Mux(p3_op == OPC["OUTC"], -(p3_ce + cfg.elem_width - 1), -p3_ce))
        m.d.comb += se_real.eq(p3_se - (cfg.x_frac + cfg.delta_frac))
        cmax = Mux(p3_op == OPC["OUTC"], cfg.rmax_out, cfg.rmax)
        sm_zero, sm_pos = p3_sm == 0, p3_sm > 0
        if "post" in conv_cuts or self.compact:
            # (compact: this form without the "post" registers: one shifter for the s underflow, the
            # compares against constants)
            # the shift clamps as compares of ce itself (beside the negation, not after it):
            # -(ce + o) < -LMAX <=> ce > LMAX - o;  -(ce + o) > r <=> ce < -r - o  (o = elem_width-1 for OUTC)
            is_outc, o = p3_op == OPC["OUTC"], cfg.elem_width - 1
            c_lo_e = Mux(is_outc, gt(p3_ce, LMAX - o), gt(p3_ce, LMAX))
            c_hi_e = Mux(is_outc, lt(p3_ce, -cfg.rmax_out - o), lt(p3_ce, -cfg.rmax))
            # under - 1 for the s underflow shift rshift_round(sm, under) = ((sm >> (under-1)) + 1) >> 1,
            # under = s_emin - se_real (>= 1 where used), at most smw + 1
            # (its clamp and s_hi, s_lo as compares of se itself, beside the subtractions, not after them:
            # under - 1 > smw <=> se < ku - smw;  se_real > s_emax <=> se > s_emax + f;  < s_emin likewise)
            f = cfg.x_frac + cfg.delta_frac
            ku = s_emin - 1 + f
            under_raw = Signal(6)
            m.d.comb += under_raw.eq((ku - p3_se)[:6])
            post = stage_hw(m, "post" in conv_cuts, "post", {
                "op": p3_op, "d": p3_d, "k": p3_k, "cm": p3_cm, "cflag": p3_cflag, "sm": p3_sm, "sflag": p3_sflag,
                "csh_raw": csh_raw, "se_real": se_real[:sew], "under_m1": Mux(lt(p3_se, ku - smw), smw, under_raw),
                "c_lo": c_lo_e, "c_hi": c_hi_e, "s_hi": gt(p3_se, s_emax + f), "s_lo": lt(p3_se, s_emin + f),
                "sm_zero": sm_zero, "sm_pos": sm_pos, "cm_nz": p3_cm != 0})
            # with "post2": the s underflow shift registered before its increment and the selects
            pre = Signal(signed(smw), name="sunder_pre")
            m.d.comb += pre.eq(post["sm"] >> post["under_m1"])
            if "post2" in conv_cuts:
                post = stage_hw(m, True, "post2", {**{key: val for key, val in post.items() if key != "under_m1"},
                                                   "pre": pre})
                pre = post["pre"]
            sm_under = Signal(signed(smw), name="sunder")
            m.d.comb += sm_under.eq((pre + 1) >> 1)
            p3_op, p3_d, p3_k, p3_cm, p3_cflag = post["op"], post["d"], post["k"], post["cm"], post["cflag"]
            p3_sm, p3_sflag = post["sm"], post["sflag"]
            cmax = Mux(p3_op == OPC["OUTC"], cfg.rmax_out, cfg.rmax)
            c_lo, c_hi, s_hi, s_lo = post["c_lo"], post["c_hi"], post["s_hi"], post["s_lo"]
            csh_raw, se_out = post["csh_raw"], post["se_real"]
            sm_zero, sm_pos, cm_nz = post["sm_zero"], post["sm_pos"], post["cm_nz"]
        else:
            c_lo, c_hi, s_hi, s_lo = csh_raw < -LMAX, csh_raw > cmax, se_real > s_emax, se_real < s_emin
            se_out = se_real
            cm_nz = p3_cm != 0
            under_sh = Signal(signed(ew + 8))
            m.d.comb += under_sh.eq(Mux(s_emin - se_real > smw + 1, smw + 1, s_emin - se_real))
            sm_under = rshift_round_hw(m, p3_sm, under_sh, out_width=smw, max_left=1, max_right=smw + 2,
                                       name="sunder")
        csh = Signal(signed(8))
        clamp_flag = Signal()
        with m.If(c_lo):
            m.d.comb += [csh.eq(-LMAX), clamp_flag.eq(cm_nz)]
        with m.Elif(c_hi):
            m.d.comb += csh.eq(cmax)
        with m.Else():
            m.d.comb += csh.eq(csh_raw)
        # SOUT: s_mant bits, exponent in real units, clamped to the s_exp range.
        s_m_new, s_e_new, s_ovf = Signal(signed(smw)), Signal(signed(sew)), Signal()
        with m.If(sm_zero):
            m.d.comb += [s_m_new.eq(0), s_e_new.eq(0)]
        with m.Elif(s_hi):
            m.d.comb += [s_m_new.eq(Mux(sm_pos, (1 << (smw - 1)) - 1, -(1 << (smw - 1)))), s_e_new.eq(s_emax),
                         s_ovf.eq(1)]
        with m.Elif(s_lo):
            m.d.comb += [s_m_new.eq(sm_under), s_e_new.eq(s_emin)]
        with m.Else():
            m.d.comb += [s_m_new.eq(p3_sm), s_e_new.eq(se_out)]

        # Results to the write-back: the ALU's (and KSEL's) of cycle t+3 (t+2 at LAT 3) after delay
        # registers to cycle t+LAT-1; the hand-over words' (COEF/OUTC/SOUT, one cycle longer:
        # microcode_schedule.HANDOVER_EXTRA) of cycle t+3 to cycle t+LAT.
        def delayed(srcs: dict, n: int, tag: str) -> dict:
            out = {}
            for key, val in srcs.items():
                for i in range(n):
                    nxt = Signal.like(val, name=f"{tag}{i}_{key}")
                    m.d.sync += nxt.eq(val)
                    val = nxt
                out[key] = val
            return out
        # op, d, KSEL's k: of cycle t+2 (LAT 3) or t+3 (the select after the kq registers) to t+LAT-1; the
        # ALU's result arrives at t+LAT-1 itself.
        a_op, a_d, a_ksel = (p2_op, p2_d, p2_ksel) if short else (kq_op, kq_d, kq_ksel)
        n_wa = LAT - 1 - (2 if short else 3)
        if self.bram_delays and n_wa >= 2:
            w = delayed({"op": a_op, "d": a_d}, n_wa, "wa")
            m.submodules.wa_ksel = dl = DelayLine(len(a_ksel), n_wa)
            m.d.comb += [dl.en.eq(1), dl.d.eq(a_ksel)]
            w["ksel"] = dl.q.as_signed()
        else:
            w = delayed({"op": a_op, "d": a_d, "ksel": a_ksel}, n_wa, "wa")
        w.update({"rm": alu.r_m, "re": alu.r_e, "aflag": alu.flag})
        cflag_all, sflag_all = Signal(), Signal()
        m.d.comb += [cflag_all.eq(p3_cflag | clamp_flag), sflag_all.eq(p3_sflag | s_ovf)]
        h = delayed({"op": p3_op, "d": p3_d, "k": p3_k, "cm": p3_cm, "csh": csh, "cflag": cflag_all,
                     "sm": s_m_new, "se": s_e_new, "sflag": sflag_all},
                    LAT + S.HANDOVER_EXTRA - 4 - len(conv_cuts), "wh")

        # -- write-back (end of cycle t+LAT-1) ---------------------------------------------------------
        wop = w["op"]
        with m.If(rst_busy):
            m.d.sync += rst_cnt.eq(rst_cnt + 1)
            with m.If(rst_cnt == P.NREGS - 1):
                m.d.sync += rst_busy.eq(0)
        # The write port's address and data select only between the reset and the ALU (not gated by the
        # op decode, which drives the enable alone): the ALU's result is the last of its stage's logic.
        if self.compact:
            # register r's reset value, read at 64 + r the cycle before; the last one is written in the
            # first cycle after `busy` (a segment's first register read comes the cycle after its start)
            rst_sel, rst_a, rst_d = rst_wr, rst_wa, rd_a.data
            m.d.comb += [wr.addr.eq(Mux(rst_sel, rst_a, w["d"])), wr.data.eq(Mux(rst_sel, rst_d, Cat(w["rm"], w["re"])))]
        else:
            # the reset values through the ALU's override (selected beside its round, not after it)
            # (register r's value looked up the cycle before, in a register: no select after rst_cnt into
            # the write port's data)
            # (its address from a counter kept one ahead of rst_cnt, not rst_cnt + 1: Yosys made the
            # constant bits of that lookup the register's synchronous reset, so the reset from `clear` ran
            # through the increment's carry chain into its LSR, the L = 1 engine's worst ECP5 path, 8.1 ns)
            rst_sel, rst_v = rst_busy, Signal(rw, init=pack(init[0]), name="rst_v")
            rst_ahead = Signal(range(P.NREGS + 2), init=1)
            with m.If(rst_busy):
                m.d.sync += rst_ahead.eq(rst_ahead + 1)
            m.d.sync += rst_v.eq(init_rom[rst_ahead])
            m.d.comb += [alu.ov.eq(rst_busy), alu.ov_m.eq(rst_v[:mw]), alu.ov_e.eq(rst_v[mw:mw + ew]),
                         wr.addr.eq(Mux(rst_sel, rst_cnt, w["d"])), wr.data.eq(Cat(w["rm"], w["re"]))]
        # the ALU's flag registered before the sticky `flag` (which then rises a cycle after the write): it
        # comes off the round's carry chain, late in the cycle (ECP5). Not in the compact form: on the
        # iCEBreaker's top it cost the 12 MHz clock (11.17 MHz, within placement noise of the goal either way).
        alu_hit = Signal()
        if not self.compact:
            m.d.sync += alu_hit.eq(0)
            with m.If(alu_hit):
                m.d.sync += self.flag.eq(1)
        with m.If(rst_sel):
            m.d.comb += wr.en.eq(1)
        with m.Elif(wop.matches(OPC["MUL"], OPC["ADD"], OPC["SUB"], OPC["SCL"], OPC["SCLK"], OPC["MOV"], OPC["SEED"],
                                OPC["LDI"])):
            m.d.comb += wr.en.eq(1)
            if self.compact:
                with m.If(w["aflag"]):
                    m.d.sync += self.flag.eq(1)
            else:
                m.d.sync += alu_hit.eq(w["aflag"])
        with m.If(wop == OPC["KSEL"]):
            for v in (0, 1):
                with m.If(w["d"][0] == v):
                    m.d.sync += k_regs[v].eq(w["ksel"])
        hop = h["op"]
        with m.If(hop == OPC["COEF"]):
            for v in (0, 1):
                for par in (0, 1):
                    with m.If((h["d"][0] == v) & (self.gpar == par)):
                        word = self.coef[v][par]
                        m.d.sync += [word.k.eq(h["k"]), word.cm.eq(h["cm"]), word.sh.eq(h["csh"])]
            with m.If(h["cflag"]):
                m.d.sync += self.flag.eq(1)
        with m.If(hop == OPC["OUTC"]):
            for v in (0, 1):
                with m.If(h["d"][0] == v):
                    m.d.sync += [self.scale[v].m.eq(h["cm"]), self.scale[v].sh.eq(h["csh"])]
            with m.If(h["cflag"]):
                m.d.sync += self.flag.eq(1)
        with m.If(hop == OPC["SOUT"]):
            m.d.sync += [self.s_mant.eq(h["sm"]), self.s_exp.eq(h["se"])]
            with m.If(h["sflag"]):
                m.d.sync += self.flag.eq(1)
        return m
