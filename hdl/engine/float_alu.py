"""Pipelined sfloat ALU of the SBE scalar unit (hdl/engine/scalar_unit.py): one microcode op issued per
cycle, result `latency` register stages later (1..6; the scalar unit uses alu_latency - 2).

Golden twin: contract/fixed_point.py FloatFormat (mul, add, sub, scale, rsqrt_seed, fnorm of an integer).

Stages, in order; CUTS[latency] names the boundaries that hold a register (the others are wires), so
that at higher latencies each stage has about one carry chain or one shifter:
    [rd]     the operands as they come (off the register file's block RAM)
    A        SUB negation (three constant compares, no normaliser), exponent compare and swap; the
             SCL/LDI/MOV operand select, the seed table
    [x]
    A2       the alignment shift of the larger operand; the mantissa product (with cut "sum": four
             17-bit partial products, one per DSP)
    [a]      (always: the multiplier's output register)
    B        the exact value v * 2**e to round (ADD: the one wide sum; the partial products' sum)
    [sum]
    C        its bit length (a leading-one tree), then hdl/fixed_point.py fnorm_pipe_hw: [bl]
             normalising shift [sh] round [rnd] rounding overflow, exponent clamp; zero and pass-through
             selects (combinational out to the register file's write port)
latency 1 (alu_latency 3): A, A2 | B, C; latency 2: | B | C; latency 6: rd, x, a, sum, bl, sh. The block
RAM of the register file has a slow clock-to-out (5.8 ns on the ECP5): "rd" keeps it alone in its cycle.
"""
from __future__ import annotations

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract.checks import check_int
from contract.fixed_point import rsqrt_seed_table

from hdl.fixed_point import FNORM_CUTS, fnorm_pipe_hw, stage_hw

#: Pipeline registers of the ALU per latency (number of registers), in pipeline order:
#:   rd  the operands as they come   x   after the exponent compare and swap (stage A)
#:   a   after the alignment shift and the DSP products (stage A2)   sum  after the wide add (B)
#:   bl  after the leading-one tree   sh  after the normalising shift   rnd  after the round increment
CUTS = {1: ("a",), 2: ("a", "bl"), 3: ("x", "a", "bl"), 4: ("rd", "x", "a", "bl"),
        5: ("rd", "x", "a", "bl", "sh"), 6: ("rd", "x", "a", "sum", "bl", "sh")}


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

    latency : int
        2 (default): a register after stage A and after stage B; 1: after stage A only.

    Latency: the inputs of cycle c give r_m, r_e, flag in cycle c + latency (combinational out of the
    last stage; the scalar unit writes them to its register file at the end of that cycle). One op per
    cycle, no stall.
    """

    def __init__(self, *, mant_width: int = 24, fexp_width: int = 12, seed_bits: int = 8, int_width: int = 64,
                 latency: int = 2):
        self.mw = check_int("mant_width", mant_width, 16, 32)
        self.ew = check_int("fexp_width", fexp_width, 8, 16)
        self.seed_bits = check_int("seed_bits", seed_bits, 4, self.mw - 3)
        self.int_width = check_int("int_width", int_width, 8, 128)
        #: pipeline registers, inputs to result (CUTS[LATENCY] says where)
        self.LATENCY = check_int("latency", latency, 1, max(CUTS))
        self.cuts = CUTS[self.LATENCY]
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
        cuts = self.cuts
        vw = max(2 * mw + 3, self.int_width, 18)
        # "rd": the operands registered as they come (off the register file's block RAM)
        inp = stage_hw(m, "rd" in cuts, "rd", {n: getattr(self, n) for n in
                                                ("op", "a_m", "a_e", "b_m", "b_e", "k", "ival", "ival_e")})
        op, a_m, a_e, b_m, b_e = inp["op"], inp["a_m"], inp["a_e"], inp["b_m"], inp["b_e"]
        k_in, ival, ival_e = inp["k"], inp["ival"], inp["ival_e"]
        is_sub = op == P.OPCODE["SUB"]

        # ---- stage A ------------------------------------------------------------------------------
        # b negated for SUB, exactly FloatFormat.neg: operands are always normalised, so only two
        # mantissas renormalise (constant compares, no normaliser on the SUB path). The exponent of -b
        # is b_e + de, de in {-1, 0, +1} (or the zero of the emin corner): the exponent differences
        # below are formed from a_e and b_e directly for every de, in parallel with these compares.
        top = 1 << (mw - 1)
        emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
        bb_m = Signal(signed(mw))
        bb_e = Signal(signed(ew))
        de_p, de_m = Signal(), Signal()             # de = +1, de = -1
        with m.If(~is_sub | (b_m == 0)):
            m.d.comb += [bb_m.eq(b_m), bb_e.eq(b_e)]
        with m.Elif(b_m == -top):
            with m.If(b_e == emax):
                m.d.comb += [bb_m.eq(top - 1), bb_e.eq(emax)]
            with m.Else():
                m.d.comb += [bb_m.eq(top >> 1), bb_e.eq(b_e + 1), de_p.eq(1)]
        with m.Elif(b_m == top >> 1):
            with m.If(b_e == emin):
                m.d.comb += [bb_m.eq(0), bb_e.eq(0)]          # -b underflows: the sum is a (pass)
            with m.Else():
                m.d.comb += [bb_m.eq(-top), bb_e.eq(b_e - 1), de_m.eq(1)]
        with m.Else():
            m.d.comb += [bb_m.eq(-b_m), bb_e.eq(b_e)]

        # ADD: the larger exponent first; exact sum if the exponents differ by <= mw+1.
        xw = ew + 2
        ae_x, be_x = a_e.as_signed(), b_e.as_signed()
        da = [Signal(signed(xw), name=f"da{i}") for i in range(3)]      # a_e - bb_e for de = 0, +1, -1
        db = [Signal(signed(xw), name=f"db{i}") for i in range(3)]      # bb_e - a_e
        m.d.comb += [da[0].eq(ae_x - be_x), da[1].eq(ae_x - be_x - 1), da[2].eq(ae_x - be_x + 1),
                     db[0].eq(be_x - ae_x), db[1].eq(be_x - ae_x + 1), db[2].eq(be_x - ae_x - 1)]
        dd_a, dd_b = Signal(signed(xw)), Signal(signed(xw))
        m.d.comb += [dd_a.eq(Mux(de_p, da[1], Mux(de_m, da[2], da[0]))),
                     dd_b.eq(Mux(de_p, db[1], Mux(de_m, db[2], db[0])))]
        swap = Signal()
        m.d.comb += swap.eq(dd_a[-1])                # a_e < bb_e
        hi_m, hi_e = Signal(signed(mw)), Signal(signed(ew))
        lo_m, lo_e = Signal(signed(mw)), Signal(signed(ew))
        m.d.comb += [hi_m.eq(Mux(swap, bb_m, a_m)), hi_e.eq(Mux(swap, bb_e, a_e)),
                     lo_m.eq(Mux(swap, a_m, bb_m)), lo_e.eq(Mux(swap, a_e, bb_e))]
        d = Signal(xw - 1)                           # |a_e - bb_e| >= 0
        m.d.comb += d.eq(Mux(swap, dd_b, dd_a))
        far = Signal()                               # d > mw + 1, as bit logic (no carry chain)
        lo_bits = (mw + 1).bit_length()
        m.d.comb += far.eq((d[lo_bits:] != 0) | (d[:lo_bits] > mw + 1))
        dsh = Signal(range(mw + 2))
        m.d.comb += dsh.eq(Mux(far, 0, d))

        # SEED: table of contract/fixed_point.py, indexed by exponent parity and seed_bits mantissa bits.
        table = Array(Const(t, 16) for t in rsqrt_seed_table(sb, mw))
        big_e = Signal(signed(ew + 2))
        m.d.comb += big_e.eq(a_e + (mw - 2))
        idx = Signal(sb + 1)
        m.d.comb += idx.eq((big_e[0] << sb) | a_m[mw - 2 - sb:mw - 2])
        seed_e = Signal(signed(ew + 2))
        m.d.comb += seed_e.eq(-(sb + 1) - ((big_e - big_e[0]) >> 1))

        # The stage A values (registered at cut "a", and also at cut "x" before the alignment shift and
        # the multiplier): the value to round before the ADD sum (v_a, e_a), or the ADD's two terms.
        is_add = Signal()
        v_a = Signal(signed(vw))
        e_a = Signal(signed(ew + 4))
        zero_a, pass_a = Signal(), Signal()
        if "x" not in cuts:
            # Registered at cut "a" as they are computed: a value no later stage reads (v_a of MUL and of
            # the ADD sum) holds (the flip-flops' clock enable, the smallest form).
            m.d.sync += [is_add.eq(0), zero_a.eq(0), pass_a.eq(0)]
            with m.If(op.matches(P.OPCODE["MUL"])):
                m.d.sync += [e_a.eq(a_e + b_e), zero_a.eq((a_m == 0) | (b_m == 0))]
            with m.Elif(op.matches(P.OPCODE["ADD"], P.OPCODE["SUB"])):
                with m.If(a_m == 0):
                    m.d.sync += [v_a.eq(bb_m), e_a.eq(bb_e), pass_a.eq(1)]
                with m.Elif(bb_m == 0):
                    m.d.sync += [v_a.eq(a_m), e_a.eq(a_e), pass_a.eq(1)]
                with m.Elif(far):
                    m.d.sync += [v_a.eq(hi_m), e_a.eq(hi_e), pass_a.eq(1)]
                with m.Else():
                    m.d.sync += [e_a.eq(lo_e), is_add.eq(1)]
            with m.Elif(op.matches(P.OPCODE["SCL"], P.OPCODE["SCLK"])):
                m.d.sync += [v_a.eq(a_m), e_a.eq(a_e + k_in), zero_a.eq(a_m == 0)]
            with m.Elif(op.matches(P.OPCODE["MOV"])):
                m.d.sync += [v_a.eq(a_m), e_a.eq(a_e), pass_a.eq(1)]
            with m.Elif(op.matches(P.OPCODE["SEED"])):
                m.d.sync += [v_a.eq(table[idx]), e_a.eq(seed_e), zero_a.eq(a_m <= 0)]
            with m.Elif(op.matches(P.OPCODE["LDI"])):
                m.d.sync += [v_a.eq(ival), e_a.eq(ival_e)]
            with m.Else():
                m.d.sync += [v_a.eq(0), e_a.eq(0)]
        else:
            self._stage_a_comb(m, op, a_m, a_e, b_m, b_e, bb_m, bb_e, hi_m, hi_e, lo_e, far, k_in, ival, ival_e,
                               table[idx], seed_e, v_a, e_a, zero_a, pass_a, is_add)
        st = stage_hw(m, "x" in cuts, "x", {"v": v_a, "e": e_a, "zero": zero_a, "pass": pass_a, "add": is_add,
                                            "mul": op == P.OPCODE["MUL"], "hi_m": hi_m, "dsh": dsh, "lo_m": lo_m,
                                            "ma": a_m, "mb": b_m})

        # ---- stage A2: alignment shift; the multiplier ------------------------------------------------
        # The product: one a*b (Yosys splits it over the DSPs and adds the parts in the fabric, all
        # before the register of cut "a"), or, with cut "sum", the four partial products of 17-bit
        # halves registered at the DSP outputs and added after cut "a" (an exact signed split:
        # a = ah * 2**17 + al, al unsigned).
        split = "sum" in cuts and mw > 18
        if split:
            ma, mb = st["ma"], st["mb"]
            al, ah = ma[:17], ma[17:].as_signed()
            bl_, bh = mb[:17], mb[17:].as_signed()
            mul = {"p0": al * bl_, "p1": al * bh, "p2": ah * bl_, "p3": ah * bh}
        else:
            mul = {"prod": st["ma"] * st["mb"]}
        held = {"v": st["v"], "e": st["e"], "zero": st["zero"], "pass": st["pass"], "add": st["add"]}
        st = stage_hw(m, True, "a", {**({} if "x" not in cuts else held), "mul": st["mul"],
                                     "add_hi": (st["hi_m"] << st["dsh"])[:2 * mw + 2].as_signed(),
                                     "add_lo": st["lo_m"], **mul})
        if "x" not in cuts:
            st.update(held)

        # ---- stage B: the exact value v * 2**e to round ----------------------------------------------
        if split:
            prod = Signal(signed(2 * mw), name="prod")
            low = Cat(st["p0"][:34], st["p3"]).as_signed()       # p3 * 2**34 + p0 (0 <= p0 < 2**34)
            m.d.comb += prod.eq(low + ((st["p1"] + st["p2"]) << 17))
        else:
            prod = st["prod"]
        v = Signal(signed(vw))
        m.d.comb += v.eq(Mux(st["mul"], prod, Mux(st["add"], st["add_hi"] + st["add_lo"], st["v"])))
        st = stage_hw(m, "sum" in cuts, "sum", {"v": v, "e": st["e"], "zero": st["zero"], "pass": st["pass"]})

        # ---- stages C..: bit length, normalising shift, round, clamp (hdl/fixed_point.py) -------------
        v_b, e_b = st["v"], st["e"]
        r_m, r_e, flag, st = fnorm_pipe_hw(
            m, v_b, e_b, width=mw, ew=ew, name="norm", cuts=[c for c in cuts if c in FNORM_CUTS],
            extra={"zero": st["zero"], "pass": st["pass"], "pm": v_b[:mw], "pe": e_b[:ew]})
        with m.If(st["zero"]):
            m.d.comb += [self.r_m.eq(0), self.r_e.eq(0)]
        with m.Elif(st["pass"]):
            # Operands pass unchanged (FloatFormat returns them as they are, without renormalising).
            m.d.comb += [self.r_m.eq(st["pm"]), self.r_e.eq(st["pe"])]
        with m.Else():
            m.d.comb += [self.r_m.eq(r_m), self.r_e.eq(r_e), self.flag.eq(flag)]
        return m

    @staticmethod
    def _stage_a_comb(m, op, a_m, a_e, b_m, b_e, bb_m, bb_e, hi_m, hi_e, lo_e, far, k_in, ival, ival_e, seed, seed_e,
                      v_a, e_a, zero_a, pass_a, is_add):
        """The stage A values as combinational logic (for the register of cut "x")."""
        is_addsub = op.matches(P.OPCODE["ADD"], P.OPCODE["SUB"])
        with m.If(op.matches(P.OPCODE["MUL"])):
            m.d.comb += [e_a.eq(a_e + b_e), zero_a.eq((a_m == 0) | (b_m == 0))]
        with m.Elif(is_addsub):
            with m.If(a_m == 0):
                m.d.comb += [e_a.eq(bb_e), pass_a.eq(1)]
            with m.Elif(bb_m == 0):
                m.d.comb += [e_a.eq(a_e), pass_a.eq(1)]
            with m.Elif(far):
                m.d.comb += [e_a.eq(hi_e), pass_a.eq(1)]
            with m.Else():
                m.d.comb += [e_a.eq(lo_e), is_add.eq(1)]
        with m.Elif(op.matches(P.OPCODE["SCL"], P.OPCODE["SCLK"])):
            m.d.comb += [e_a.eq(a_e + k_in), zero_a.eq(a_m == 0)]
        with m.Elif(op.matches(P.OPCODE["MOV"])):
            m.d.comb += [e_a.eq(a_e), pass_a.eq(1)]
        with m.Elif(op.matches(P.OPCODE["SEED"])):
            m.d.comb += [e_a.eq(seed_e), zero_a.eq(a_m <= 0)]
        with m.Elif(op.matches(P.OPCODE["LDI"])):
            m.d.comb += e_a.eq(ival_e)
        with m.Else():
            m.d.comb += zero_a.eq(1)                 # any other op: 0
        # v_a, a don't-care for MUL, the ADD sum and the zero results: a_m unless another value is needed
        # (few mux inputs)
        with m.If(op.matches(P.OPCODE["SEED"])):
            m.d.comb += v_a.eq(seed)
        with m.Elif(op.matches(P.OPCODE["LDI"])):
            m.d.comb += v_a.eq(ival)
        with m.Elif(is_addsub & (a_m == 0)):
            m.d.comb += v_a.eq(bb_m)
        with m.Elif(is_addsub & far & (bb_m != 0)):
            m.d.comb += v_a.eq(hi_m)
        with m.Else():
            m.d.comb += v_a.eq(a_m)
