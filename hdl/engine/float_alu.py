"""Combinational sfloat ALU of the SBE scalar unit (hdl/engine/scalar_unit.py, one microcode op per cycle).

Golden twin: contract/fixed_point.py FloatFormat (mul, add, sub, scale, rsqrt_seed, fnorm of an integer).
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract.checks import check_int
from contract.fixed_point import rsqrt_seed_table

from hdl.fixed_point import fnorm_hw


class FloatALU(wiring.Component):
    """sfloat ALU: one op of contract/microcode.py on (m, e) operands, bit-exact with FloatFormat.

    Formats: operands and result (m, e), m signed mant_width bits, e signed fexp_width bits
    (contract/fixed_point.py).

    Parameters
    ----------
    mant_width, fexp_width : int
        sfloat mantissa (16..32) and exponent (8..16) bits.
    seed_bits : int
        Index bits of the rsqrt seed table (2 * 2**seed_bits entries; 4..mant_width-3).
    int_width : int
        Width of the LDI integer input (8..128).

    Ports
    -----
    op : In(4)
        Opcode (contract/microcode.py OPCODE): MUL, ADD, SUB, SCL/SCLK (a * 2**k), MOV, SEED, LDI; any
        other gives 0.
    a_m, a_e, b_m, b_e : In
        Operands a = (a_m, a_e), b = (b_m, b_e).
    k : In(signed(8))
        Exponent increment of SCL/SCLK.
    ival, ival_e : In(signed(int_width)), In(signed(10))
        LDI operand: the exact integer ival * 2**ival_e.
    r_m, r_e : Out
        The result.
    flag : Out(1)
        The result's exponent saturated.

    Latency: 0 cycles (combinational); the scalar unit registers the result.
    """

    def __init__(self, *, mant_width: int = 24, fexp_width: int = 12, seed_bits: int = 8, int_width: int = 64):
        self.mw = check_int("mant_width", mant_width, 16, 32)
        self.ew = check_int("fexp_width", fexp_width, 8, 16)
        self.seed_bits = check_int("seed_bits", seed_bits, 4, self.mw - 3)
        self.int_width = check_int("int_width", int_width, 8, 128)
        super().__init__({
            "op": In(4),
            "a_m": In(signed(self.mw)), "a_e": In(signed(self.ew)),
            "b_m": In(signed(self.mw)), "b_e": In(signed(self.ew)),
            "k": In(signed(8)),
            "ival": In(signed(self.int_width)),
            "ival_e": In(signed(10)),
            "r_m": Out(signed(self.mw)), "r_e": Out(signed(self.ew)),
            "flag": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        mw, ew, sb = self.mw, self.ew, self.seed_bits
        op = self.op
        is_sub = op == P.OPCODE["SUB"]

        # b negated for SUB, exactly FloatFormat.neg: operands are always normalised, so only two
        # mantissas renormalise (constant compares, no normaliser on the SUB path).
        top = 1 << (mw - 1)
        emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
        bb_m = Signal(signed(mw))
        bb_e = Signal(signed(ew))
        with m.If(~is_sub | (self.b_m == 0)):
            m.d.comb += [bb_m.eq(self.b_m), bb_e.eq(self.b_e)]
        with m.Elif(self.b_m == -top):
            with m.If(self.b_e == emax):
                m.d.comb += [bb_m.eq(top - 1), bb_e.eq(emax)]
            with m.Else():
                m.d.comb += [bb_m.eq(top >> 1), bb_e.eq(self.b_e + 1)]
        with m.Elif(self.b_m == top >> 1):
            with m.If(self.b_e == emin):
                m.d.comb += [bb_m.eq(0), bb_e.eq(0)]
            with m.Else():
                m.d.comb += [bb_m.eq(-top), bb_e.eq(self.b_e - 1)]
        with m.Else():
            m.d.comb += [bb_m.eq(-self.b_m), bb_e.eq(self.b_e)]

        # ADD: the larger exponent first; exact sum if the exponents differ by <= mw+1.
        swap = Signal()
        m.d.comb += swap.eq(self.a_e < bb_e)
        hi_m, hi_e = Signal(signed(mw)), Signal(signed(ew))
        lo_m, lo_e = Signal(signed(mw)), Signal(signed(ew))
        m.d.comb += [hi_m.eq(Mux(swap, bb_m, self.a_m)), hi_e.eq(Mux(swap, bb_e, self.a_e)),
                     lo_m.eq(Mux(swap, self.a_m, bb_m)), lo_e.eq(Mux(swap, self.a_e, bb_e))]
        d = Signal(ew + 1)
        m.d.comb += d.eq(hi_e - lo_e)
        dsh = Signal(range(mw + 2))
        m.d.comb += dsh.eq(Mux(d > mw + 1, 0, d))
        sum_v = Signal(signed(2 * mw + 3))
        m.d.comb += sum_v.eq((hi_m << dsh) + lo_m)

        # SEED: table of contract/fixed_point.py, indexed by exponent parity and seed_bits mantissa bits.
        table = Array(Const(t, 16) for t in rsqrt_seed_table(sb, mw))
        big_e = Signal(signed(ew + 2))
        m.d.comb += big_e.eq(self.a_e + (mw - 2))
        idx = Signal(sb + 1)
        m.d.comb += idx.eq((big_e[0] << sb) | self.a_m[mw - 2 - sb:mw - 2])
        seed_e = Signal(signed(ew + 2))
        m.d.comb += seed_e.eq(-(sb + 1) - ((big_e - big_e[0]) >> 1))

        # One normaliser for every op: select the exact value v * 2**e to round.
        vw = max(2 * mw + 3, self.int_width, 18)
        v = Signal(signed(vw))
        e = Signal(signed(ew + 4))
        zero = Signal()
        passthru = Signal()
        with m.If(op.matches(P.OPCODE["MUL"])):
            m.d.comb += [v.eq(self.a_m * self.b_m), e.eq(self.a_e + self.b_e),
                         zero.eq((self.a_m == 0) | (self.b_m == 0))]
        with m.Elif(op.matches(P.OPCODE["ADD"], P.OPCODE["SUB"])):
            with m.If(self.a_m == 0):
                m.d.comb += [v.eq(bb_m), e.eq(bb_e), passthru.eq(1)]
            with m.Elif(bb_m == 0):
                m.d.comb += [v.eq(self.a_m), e.eq(self.a_e), passthru.eq(1)]
            with m.Elif(d > mw + 1):
                m.d.comb += [v.eq(hi_m), e.eq(hi_e), passthru.eq(1)]
            with m.Else():
                m.d.comb += [v.eq(sum_v), e.eq(lo_e)]
        with m.Elif(op.matches(P.OPCODE["SCL"], P.OPCODE["SCLK"])):
            m.d.comb += [v.eq(self.a_m), e.eq(self.a_e + self.k), zero.eq(self.a_m == 0)]
        with m.Elif(op.matches(P.OPCODE["MOV"])):
            m.d.comb += [v.eq(self.a_m), e.eq(self.a_e), passthru.eq(1)]
        with m.Elif(op.matches(P.OPCODE["SEED"])):
            m.d.comb += [v.eq(table[idx]), e.eq(seed_e), zero.eq(self.a_m <= 0)]
        with m.Elif(op.matches(P.OPCODE["LDI"])):
            m.d.comb += [v.eq(self.ival), e.eq(self.ival_e)]
        with m.Else():
            m.d.comb += [v.eq(0), e.eq(0)]
        r_m, r_e, flag = fnorm_hw(m, v, e, width=mw, ew=ew, name="norm")
        with m.If(zero):
            m.d.comb += [self.r_m.eq(0), self.r_e.eq(0)]
        with m.Elif(passthru):
            # Operands pass unchanged (FloatFormat returns them as they are, without renormalising).
            m.d.comb += [self.r_m.eq(v), self.r_e.eq(e)]
        with m.Else():
            m.d.comb += [self.r_m.eq(r_m), self.r_e.eq(r_e), self.flag.eq(flag)]
        return m
