"""Microcoded scalar unit of the SBE engine: register file, FloatALU, and the hand-over registers.

Runs the segments of contract/microcode.py (CHAIN per sample, FINAL and RESCALE per batch, INIT after a
state reset), one instruction per cycle, from a ROM built from that same list: the golden model
(golden/rtl/scalar_unit.py) interprets it, the RTL executes it, so the two agree by construction as long
as the ALU and the conversions are exact (tests/amaranth_sim/test_float_alu.py,
tests/amaranth_sim/test_sbe_engine.py).
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract.checks import check_int
from contract.enums import Segment, Vec
from contract.fixed_point import FloatFormat
from contract.engine_config import KMIN, LMAX, EngineConfig

from hdl.fixed_point import fnorm_hw, rshift_round_hw
from hdl.engine.float_alu import FloatALU


def latch_layout(acc_width: int, exp_width: int) -> data.StructLayout:
    """The dot-product latches (exact integers) and the input block exponents of their sample."""
    return data.StructLayout({**{name: signed(acc_width) for name in P.SOURCES[:6]},
                              "EX": signed(exp_width), "ED": signed(exp_width)})


def axpy_layout(coef_width: int) -> data.StructLayout:
    """An AXPY word: M' = sat(rnd(M, k) + rnd(cm * v, sh)) (golden/rtl/sbe_engine.py)."""
    return data.StructLayout({"k": signed(8), "cm": signed(coef_width), "sh": signed(8)})


def scale_layout(coef_width: int) -> data.StructLayout:
    """A read-out scale: element = sat(rnd(m * M, sh))."""
    return data.StructLayout({"m": signed(coef_width), "sh": signed(8)})


class ScalarUnit(wiring.Component):
    """Microcoded sfloat scalar unit: runs one microcode segment per `start`, one instruction per cycle.

    Parameters
    ----------
    acc_width : int
        Width of the dot-product latches (`lat`), 8..128.
    **params
        The keyword parameters of contract.engine_config.EngineConfig.

    Ports
    -----
    start, seg : In(1), In(2)
        Start segment `seg` (enums.Segment) when idle (ignored while `busy`).
    jc : In(16)
        1-based index of the sample whose CHAIN runs (n, the batch's last, for FINAL); LDI NSQ loads
        (jc + 1)**2.
    busy : Out(1)
        A segment is running.
    rel, rdy, done : Out(1), Out(2), Out(1)
        Pulses, the cycle REL, RDY v (bit v) and DONE execute.
    flag : Out(1)
        Sticky: a float exponent, an AXPY coefficient, a read-out scale or s was clamped.
    lat : In(latch_layout)
        The dot-product latches XM, XX1, XX, DM, DD1, DD (exact integers, read by LDI) and the input
        block exponents EX, ED of their sample, captured when a CHAIN starts (with the previous sample's):
        LDI adds them to the dot products' exponents, COEF adds its vector's to the coefficient's.
    coef : Out(2 x 2 x axpy_layout)
        coef[v][parity] = (k, cm, sh): AXPY word of vector v written by COEF in the CHAIN of sample j
        (parity j % 2); used by the pass of sample j + 2 and by the read-out.
    scale : Out(2 x scale_layout)
        scale[v] = (m, sh): read-out scale of vector v, written by OUTC.
    s_mant, s_exp : Out
        s in the update-stream format (contract/layouts.py), written by SOUT.

    Formats: golden/rtl/sbe_engine.py. Latency: a segment of N instructions takes N cycles from `start`
    to `done` (CHAIN: len(contract.microcode.CHAIN)); hand-over registers change the cycle after the
    instruction that writes them.
    """

    def __init__(self, *, acc_width: int, **params):
        self.cfg = cfg = EngineConfig(**params)
        self.acc_width = check_int("acc_width", acc_width, 8, 128)
        cw = cfg.coef_width
        self.rom, self.seg_start = P.rom()
        super().__init__({
            "start": In(1), "seg": In(2), "jc": In(16),
            "busy": Out(1), "rel": Out(1), "rdy": Out(2), "done": Out(1), "flag": Out(1),
            "lat": In(latch_layout(acc_width, cfg.exp_width)),
            "coef": Out(data.ArrayLayout(data.ArrayLayout(axpy_layout(cw), 2), 2)),
            "scale": Out(data.ArrayLayout(scale_layout(cw), 2)),
            "s_mant": Out(signed(cfg.s_mant_width)), "s_exp": Out(signed(cfg.s_exp_width)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        mw, ew, cw = cfg.mant_width, cfg.fexp_width, cfg.coef_width
        ff = FloatFormat(mw, ew, cfg.seed_bits)
        init = cfg.reset_registers(ff)
        int_width = max(self.acc_width, 40)
        m.submodules.alu = alu = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=cfg.seed_bits,
                                          int_width=int_width)

        # Every Array is padded to the full range of its index (no incomplete case in the Verilog).
        regs_m = [Signal(signed(mw), init=init[i][0], name=f"rm_{n}") for i, n in enumerate(P.REGS)]
        regs_e = [Signal(signed(ew), init=init[i][1], name=f"re_{n}") for i, n in enumerate(P.REGS)]
        reg_m = Array(regs_m + [Const(0, signed(mw))] * (64 - len(regs_m)))
        reg_e = Array(regs_e + [Const(0, signed(ew))] * (64 - len(regs_e)))
        k_regs = [Signal(signed(8), name=f"k_{v}") for v in (0, 1)]
        k_reg = Array(k_regs)

        fields = [P.encode(ins) for ins in self.rom]
        pc = Signal(range(len(fields) + 1))
        pad = (1 << len(pc)) - len(fields)
        rom_op = Array([Const(f[0], 4) for f in fields] + [Const(P.OPCODE["DONE"], 4)] * pad)
        rom_d = Array([Const(f[1], 6) for f in fields] + [Const(0, 6)] * pad)
        rom_a = Array([Const(f[2], 6) for f in fields] + [Const(0, 6)] * pad)
        rom_b = Array([Const(f[3], 6) for f in fields] + [Const(0, 6)] * pad)
        rom_imm = Array([Const(f[4], signed(P.IMM_BITS)) for f in fields] + [Const(0, signed(P.IMM_BITS))] * pad)

        running = Signal()
        op, d, a, b, imm = (Signal(4), Signal(6), Signal(6), Signal(6), Signal(signed(P.IMM_BITS)))
        m.d.comb += [op.eq(rom_op[pc]), d.eq(rom_d[pc]), a.eq(rom_a[pc]), b.eq(rom_b[pc]), imm.eq(rom_imm[pc])]
        am, ae = Signal(signed(mw)), Signal(signed(ew))
        m.d.comb += [am.eq(reg_m[a]), ae.eq(reg_e[a])]

        # LDI sources: the six latches and (jc + 1)**2.
        jc2 = Signal(17)
        m.d.comb += jc2.eq(self.jc + Const(1, 17))
        srcs = Array([self.lat[n] for n in P.SOURCES[:6]] + [jc2 * jc2]
                     + [Const(0, signed(self.acc_width))] * (64 - len(P.SOURCES)))
        # Input block exponents of this chain's sample (cur) and of the previous one (prev), per vector.
        xw = cfg.exp_width
        ex_cur = [Signal(signed(xw), name=f"ex_cur_{v}") for v in (0, 1)]
        ex_prev = [Signal(signed(xw), name=f"ex_prev_{v}") for v in (0, 1)]
        with m.If(self.start & ~running & (self.seg == Segment.CHAIN)):
            m.d.sync += [ex_prev[0].eq(ex_cur[0]), ex_prev[1].eq(ex_cur[1]),
                         ex_cur[Vec.D].eq(self.lat.ED), ex_cur[Vec.X].eq(self.lat.EX)]
        X, D = Vec.X, Vec.D
        src_e = Array([ex_cur[X], ex_cur[X] + ex_prev[X], ex_cur[X] * 2, ex_cur[D], ex_cur[D] + ex_prev[D],
                       ex_cur[D] * 2, Const(0, signed(xw + 2))] + [Const(0, signed(xw + 2))] * (64 - len(P.SOURCES)))
        m.d.comb += [alu.op.eq(op), alu.a_m.eq(am), alu.a_e.eq(ae), alu.b_m.eq(reg_m[b]), alu.b_e.eq(reg_e[b]),
                     alu.ival.eq(srcs[a]), alu.ival_e.eq(src_e[a])]
        m.d.comb += alu.k.eq(Mux(op == P.OPCODE["SCLK"], Mux(imm < 0, -k_reg[b[0]], k_reg[b[0]]), imm))

        # KSEL: k = floor((e + mw - 2 - (2*SW - 6)) / 2), clamped; 0 for a zero norm.
        kraw = Signal(signed(ew + 2))
        m.d.comb += kraw.eq((ae + (mw - 2 - (2 * cfg.state_width - 6))) >> 1)
        ksel = Signal(signed(8))
        with m.If(am == 0):
            m.d.comb += ksel.eq(0)
        with m.Elif(kraw < KMIN):
            m.d.comb += ksel.eq(KMIN)
        with m.Elif(kraw > cfg.kmax):
            m.d.comb += ksel.eq(cfg.kmax)
        with m.Else():
            m.d.comb += ksel.eq(kraw)

        # COEF / OUTC: round to coef_width bits, shift from the exponent (clamped as in golden).
        # COEF scales the coefficient by 2**e_v(j): it multiplies sample j's integers.
        ae_c = Signal(signed(ew + 2))
        m.d.comb += ae_c.eq(ae + Mux(op == P.OPCODE["COEF"], Mux(d[0], ex_cur[1], ex_cur[0]), 0))
        cm, ce, cflag = fnorm_hw(m, am, ae_c, width=cw, ew=ew, name="coef")
        csh_raw = Signal(signed(ew + 2))
        m.d.comb += csh_raw.eq(Mux(op == P.OPCODE["OUTC"], -(ce + cfg.elem_width - 1), -ce))
        cmax = Mux(op == P.OPCODE["OUTC"], cfg.rmax_out, cfg.rmax)
        csh = Signal(signed(8))
        clamp_flag = Signal()
        with m.If(csh_raw < -LMAX):
            m.d.comb += [csh.eq(-LMAX), clamp_flag.eq(cm != 0)]
        with m.Elif(csh_raw > cmax):
            m.d.comb += csh.eq(cmax)
        with m.Else():
            m.d.comb += csh.eq(csh_raw)

        # SOUT: s_mant bits, exponent in real units, clamped to the s_exp range.
        smw, sew = cfg.s_mant_width, cfg.s_exp_width
        sm, se, sflag = fnorm_hw(m, am, ae, width=smw, ew=ew, name="sout")
        se_real = Signal(signed(ew + 8))
        m.d.comb += se_real.eq(se - (cfg.x_frac + cfg.delta_frac))
        s_emax, s_emin = (1 << (sew - 1)) - 1, -(1 << (sew - 1))
        under_sh = Signal(signed(ew + 8))
        m.d.comb += under_sh.eq(Mux(s_emin - se_real > smw + 1, smw + 1, s_emin - se_real))
        sm_under = rshift_round_hw(m, sm, under_sh, out_width=smw, max_left=1, max_right=smw + 2, name="sunder")
        s_m_new, s_e_new, s_ovf = Signal(signed(smw)), Signal(signed(sew)), Signal()
        with m.If(sm == 0):
            m.d.comb += [s_m_new.eq(0), s_e_new.eq(0)]
        with m.Elif(se_real > s_emax):
            m.d.comb += [s_m_new.eq(Mux(sm > 0, (1 << (smw - 1)) - 1, -(1 << (smw - 1)))), s_e_new.eq(s_emax),
                         s_ovf.eq(1)]
        with m.Elif(se_real < s_emin):
            m.d.comb += [s_m_new.eq(sm_under), s_e_new.eq(s_emin)]
        with m.Else():
            m.d.comb += [s_m_new.eq(sm), s_e_new.eq(se_real)]

        m.d.comb += self.busy.eq(running)
        with m.If(self.start & ~running):
            m.d.sync += [running.eq(1),
                         pc.eq(Array([Const(self.seg_start[s]) for s in ("CHAIN", "RESCALE", "INIT", "FINAL")])
                               [self.seg])]
        with m.If(running):
            m.d.sync += pc.eq(pc + 1)
            with m.If(op.matches(P.OPCODE["MUL"], P.OPCODE["ADD"], P.OPCODE["SUB"], P.OPCODE["SCL"], P.OPCODE["SCLK"],
                                 P.OPCODE["MOV"], P.OPCODE["SEED"], P.OPCODE["LDI"])):
                for i in range(P.NREGS):
                    with m.If(d == i):
                        m.d.sync += [regs_m[i].eq(alu.r_m), regs_e[i].eq(alu.r_e)]
                with m.If(alu.flag):
                    m.d.sync += self.flag.eq(1)
            with m.Elif(op.matches(P.OPCODE["KSEL"])):
                for v in (0, 1):
                    with m.If(d[0] == v):
                        m.d.sync += k_regs[v].eq(ksel)
            with m.Elif(op.matches(P.OPCODE["COEF"])):
                for v in (0, 1):
                    for par in (0, 1):
                        with m.If((d[0] == v) & (self.jc[0] == par)):
                            word = self.coef[v][par]
                            m.d.sync += [word.k.eq(k_regs[v]), word.cm.eq(cm), word.sh.eq(csh)]
                with m.If(cflag | clamp_flag):
                    m.d.sync += self.flag.eq(1)
            with m.Elif(op.matches(P.OPCODE["OUTC"])):
                for v in (0, 1):
                    with m.If(d[0] == v):
                        m.d.sync += [self.scale[v].m.eq(cm), self.scale[v].sh.eq(csh)]
                with m.If(cflag | clamp_flag):
                    m.d.sync += self.flag.eq(1)
            with m.Elif(op.matches(P.OPCODE["SOUT"])):
                m.d.sync += [self.s_mant.eq(s_m_new), self.s_exp.eq(s_e_new)]
                with m.If(sflag | s_ovf):
                    m.d.sync += self.flag.eq(1)
            with m.Elif(op.matches(P.OPCODE["REL"])):
                m.d.comb += self.rel.eq(1)
            with m.Elif(op.matches(P.OPCODE["RDY"])):
                m.d.comb += self.rdy.eq(Mux(d[0], 2, 1))
            with m.Elif(op.matches(P.OPCODE["DONE"])):
                m.d.comb += self.done.eq(1)
                m.d.sync += running.eq(0)
            with m.Else():
                m.d.sync += running.eq(0)
        return m
