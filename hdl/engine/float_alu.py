"""Pipelined sfloat ALU of the SBE scalar unit (hdl/engine/scalar_unit.py): one microcode op issued per
cycle, result `latency` register stages later (1..8, 8 compact only; the scalar unit uses alu_latency - 2).

Golden twin: contract/fixed_point.py FloatFormat (mul, add, sub, scale, rsqrt_seed, fnorm of an integer).

Stages, in order; CUTS[latency] names the boundaries that hold a register (the others are wires), so
that at higher latencies each stage has about one carry chain or one shifter (ECP5, latency 6: every
stage within 8 ns, the scalar unit's own paths at 125 MHz):
    [rd]     the operands as they come (off the register file's read registers: a block RAM's, its 5.6 ns
             clock-to-out alone; the full form's at more than one lane distributed RAM's, fabric flip-flops)
    A        decode; SUB's -b as FloatFormat.neg (constant compares, one negation: no normaliser); the
             raw exponent difference a_e - b_e, the operands ordered by it (the larger exponent's `big`,
             the other `small`) and the shift amount; the ADD cut-off's compares of it (not compact); the MUL/SCL exponent sums; the seed table's address
             (a block-RAM ROM, read into A2 or B)
    [x]
    A2       the alignment: `small` shifted right (with 3 guard bits, `big` is not shifted); the DSP
             products (with cut "sum": four 17-bit partial products);
             the ADD cut-off (on the renormalised exponent: a_e - b_e - de: the compare for that de; compact:
             the compares too) and the pass-through selects
    [a]      (always: the multiplier's output register)
    B        the exact value v * 2**e to round: one carry chain (the partial products through a
             carry-save layer)
    [sum]
    C        hdl/fixed_point.py fnorm_pipe_hw: leading-bit index tree [bl] normalising left shift by
             that index [sh] round [rnd] rounding overflow, exponent clamp; zero and pass-through selects
             (combinational out to the register file's write port)
latency 1 (alu_latency 3): A, A2 | B, C; latency 2: | B | C; latency 6: rd, x, a, sum, bl, sh;
latency 7: also rnd; latency 8 (compact): also pre.

compact=True (the iCE40 builds: fewer logic cells, longer paths; bit-exact, same latency): the product
registered in the SB_MAC16 (a register without reset) and taken without its low mw-4 bits (they lie below
fnorm's rounding position for every product of register mantissas); the adder for ADD/SUB only, the
product and the SCL/LDI value selected after it; the pass-through operand selected before cut "a"; the
MUL/ADD/SCL exponents as one sum; one adder each for SEED's and -b's exponents; the cut-off's constant
compares as logic; fnorm's compact form (hdl/fixed_point.py: a halving-step normaliser, one exponent adder);
cut "sum" after the normaliser's first (widest) halving step instead of after the add (fnorm cut "pre": the
UP5K engine's sum -> bl stage held three steps, 9 LUT levels); at latency 8 both: the add, then that step.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract.checks import check_int
from contract.fixed_point import rsqrt_seed_table

from hdl.dsp_multiplier import check_dsp, dsp_kind, mult18x18d
from hdl.fixed_point import FNORM_CUTS, fnorm_pipe_hw, gt_const_hw, lt_const_hw, stage_hw

#: Pipeline registers of the ALU per latency (number of registers), in pipeline order:
#:   rd  the operands as they come   x   after the decode, compares and exponent arithmetic (stage A)
#:   a   after the alignment shifts and the DSP products (stage A2)   sum  after the wide add (B)
#:   bl  after the leading-bit index tree   sh  after the normalising shift   rnd  after the round increment
#:   pre  (compact only) after fnorm's first halving step: with "sum" too, the add and that step each
#:        have a stage (latency 8); without "sum" (latencies 6, 7), compact puts "sum"'s register there
CUTS = {1: ("a",), 2: ("a", "bl"), 3: ("x", "a", "bl"), 4: ("rd", "x", "a", "bl"),
        5: ("rd", "x", "a", "bl", "sh"), 6: ("rd", "x", "a", "sum", "bl", "sh"),
        7: ("rd", "x", "a", "sum", "bl", "sh", "rnd"), 8: ("rd", "x", "a", "sum", "pre", "bl", "sh", "rnd")}
#: The largest latency of the full (not compact) form: the larger ones hold cut "pre"
FULL_MAX_LATENCY = max(k for k, c in CUTS.items() if "pre" not in c)


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
    ival_c : In(1), with ival_carry_at only
        A carry into ival's bit ival_carry_at: the LDI integer is (ival + ival_c * 2**ival_carry_at) mod
        2**int_width, signed.
    r_m, r_e : Out
        The result.
    flag : Out(1)
        The result's exponent saturated.
    a_q : Out(signed(mant_width)), compact only
        a_m of the op issued `latency` - (the registers of cuts "rd", "x") cycles before: the register of
        cut "a" (with LDI: ival's low bits). The scalar unit's conversions read it instead of a register
        of their own.
    ov, ov_m, ov_e : In(1), In(signed(mant_width)), In(signed(fexp_width)), not compact only
        Override: with `ov`, the result of this cycle is (ov_m, ov_e), no flag (combinational; selected
        beside the last stage's round, hdl/fixed_point.py force_out: the scalar unit's reset values).

    latency : int
        Register stages, 1..8 (default 2; 8 needs compact), placed as CUTS[latency] says.
    compact : bool
        Fewer logic cells, longer paths (the iCE40 builds; default False; bit-exact either way): fnorm's
        compact form (hdl/fixed_point.py), the product in the DSP's output register (no reset) and without
        its low mw-4 bits, an adder for ADD/SUB only with the other values selected after it, the
        pass-through operand selected before cut "a", the cut-off's constant compares as logic.
    ival_carry_at : int or None
        With an int: the port ival_c, added into ival's bit ival_carry_at (1..int_width-1) between cuts "rd"
        and "x" (a chain of the upper bits from the register of cut "rd"): the latches of the one-lane
        iCE40 datapath defer their accumulators' carry to here (hdl/engine/scalar_unit.py latch_layout).
        Default None: no carry port.
    dsp : str
        The multiplier's implementation (hdl/dsp_multiplier.py; same results and latency): "generic"
        (default: `*` between fabric registers), "ecp5" or "auto" (on an ECP5-family platform): with cuts
        "x" and "sum" and not compact, each of the four partial products in a MULT18X18D whose input
        registers are the operand registers of cut "x" (loaded for MUL) and whose output register is the
        product's register of cut "a" (always loaded): synth_ecp5 packs no fabric register into an
        inferred DSP, which left the multiply and the routing into and out of the DSP in one cycle (8.5 ns
        in the 100x784 engine). Elsewhere as "generic".

    Latency: the inputs of cycle c give r_m, r_e, flag in cycle c + latency (combinational out of the
    last stage; the scalar unit writes them to its register file at the end of that cycle). One op per
    cycle, no stall.
    """

    def __init__(self, *, mant_width: int = 24, fexp_width: int = 12, seed_bits: int = 8, int_width: int = 64,
                 latency: int = 2, compact: bool = False, dsp: str = "generic", ival_carry_at: int | None = None):
        self.mw = check_int("mant_width", mant_width, 16, 32)
        self.ew = check_int("fexp_width", fexp_width, 8, 16)
        self.seed_bits = check_int("seed_bits", seed_bits, 4, self.mw - 3)
        self.int_width = check_int("int_width", int_width, 8, 128)
        #: pipeline registers, inputs to result (CUTS[LATENCY] says where)
        self.LATENCY = check_int("latency", latency, 1, max(CUTS))
        if self.LATENCY > FULL_MAX_LATENCY and not compact:
            raise ValueError(f"latency {self.LATENCY} (the scalar unit's alu_latency {self.LATENCY + 2}) needs "
                             f"compact=True: cut 'pre' splits the compact normaliser; the full form has "
                             f"{FULL_MAX_LATENCY} stages at most")
        self.cuts = CUTS[self.LATENCY]
        self.compact = bool(compact)
        self.dsp = check_dsp(dsp)
        self.ival_carry_at = (None if ival_carry_at is None
                              else check_int("ival_carry_at", ival_carry_at, 1, self.int_width - 1))
        super().__init__({
            "op": In(4),
            "a_m": In(signed(self.mw)), "a_e": In(signed(self.ew)),
            "b_m": In(signed(self.mw)), "b_e": In(signed(self.ew)),
            "k": In(signed(8)),
            "ival": In(signed(self.int_width)),
            "ival_e": In(signed(10)),
            **({"ival_c": In(1)} if self.ival_carry_at is not None else {}),
            "r_m": Out(signed(self.mw)), "r_e": Out(signed(self.ew)),
            "flag": Out(1),
            **({"a_q": Out(signed(self.mw))} if self.compact else
               {"ov": In(1), "ov_m": In(signed(self.mw)), "ov_e": In(signed(self.ew))}),
        })

    def elaborate(self, platform):
        m = Module()
        mw, ew, sb = self.mw, self.ew, self.seed_bits
        cuts = self.cuts
        OPC = P.OPCODE
        # compact: MUL's product without its low mw-4 bits (below fnorm's rounding position for every product
        # of normalised operands, stage B)
        pt = mw - 4 if self.compact else 0
        vw = max(2 * mw - pt, self.int_width, mw + 5, 18)     # MUL's product, LDI's integer, the ADD sum
        top = 1 << (mw - 1)
        emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
        # "rd": the operands registered as they come (off the register file's block RAM)
        # (compact with "rd": the operands' constant compares too, ahead of that register: the wide
        # compares then stay off stage A's selects)
        early = {}
        if self.compact and "rd" in cuts:
            early = {"a_zero": self.a_m == 0, "b_zero": self.b_m == 0, "c_negtop": self.b_m == -top,
                     "c_half": self.b_m == top >> 1, "be_max": self.b_e == emax, "be_min": self.b_e == emin}
        carry = {} if self.ival_carry_at is None else {"ival_c": self.ival_c}
        inp = stage_hw(m, "rd" in cuts, "rd", {**{n: getattr(self, n) for n in
                                                  ("op", "a_m", "a_e", "b_m", "b_e", "k", "ival", "ival_e")},
                                               **early, **carry})
        ival = inp["ival"]
        if carry:           # the deferred carry: the upper bits plus ival_c, wrapping at int_width
            h = self.ival_carry_at
            ival = Signal(signed(self.int_width), name="ival_full")
            m.d.comb += ival.eq(Cat(inp["ival"][:h], inp["ival"][h:] + inp["ival_c"]))
        op, a_m, a_e, b_m, b_e = inp["op"], inp["a_m"], inp["a_e"], inp["b_m"], inp["b_e"]

        # ---- stage A: decode, compares, one carry chain each, all in parallel ---------------------------
        is_mul, is_sub = op == OPC["MUL"], op == OPC["SUB"]
        is_addsub = op.matches(OPC["ADD"], OPC["SUB"])
        is_scl, is_mov = op.matches(OPC["SCL"], OPC["SCLK"]), op == OPC["MOV"]
        is_seed, is_ldi = op == OPC["SEED"], op == OPC["LDI"]
        a_zero, b_zero = (inp["a_zero"], inp["b_zero"]) if early else (a_m == 0, b_m == 0)
        # SUB: b negated exactly as FloatFormat.neg (operands are normalised: only two mantissas
        # renormalise, constant compares): -b = (bb_m, b_e + de), de in {-1, 0, +1}, or the two
        # saturating corners at the exponent ends.
        c_negtop, c_half = (inp["c_negtop"], inp["c_half"]) if early else (b_m == -top, b_m == top >> 1)
        be_max, be_min = (inp["be_max"], inp["be_min"]) if early else (b_e == emax, b_e == emin)
        de_p = Signal(name="de_p")              # -b = (2**(mw-2), b_e + 1)
        de_m = Signal(name="de_m")              # -b = (-2**(mw-1), b_e - 1)
        c_max = Signal(name="c_max")            # -b = (2**(mw-1) - 1, emax), not exact
        c_min = Signal(name="c_min")            # -b underflows to 0
        m.d.comb += [de_p.eq(is_sub & c_negtop & ~be_max), de_m.eq(is_sub & c_half & ~be_min),
                     c_max.eq(is_sub & c_negtop & be_max), c_min.eq(is_sub & c_half & be_min)]
        bneg = Signal(signed(mw + 1), name="bneg")
        m.d.comb += bneg.eq(-b_m)
        # The sum's addend b: its exact value with the exponent b_e (mw+1 bits: -(-2**(mw-1)) fits), so the
        # ADD/SUB alignment never waits for de: the exact sum is the same, and fnorm depends on the value
        # only. The renormalised -b (bb) is only needed as a pass-through result and for the cut-off.
        nb = Signal(signed(mw + 1), name="nb")
        if self.compact:
            # -b's carry chain is the stage's last input: the other choices (b itself, the corners) selected
            # beside it (`alt`), so after it one 3-input select for nb and for each of big and small below
            # (kept as nets: else ABC merges them back, two LUT levels after the chain; rd_b -> -b -> x_nb
            # was the UP5K engine's worst path, 21.1 ns, at nextpnr seed 1)
            sel_neg = Signal(name="sel_neg", attrs={"keep": 1})
            alt = Signal(signed(mw + 1), name="nb_alt", attrs={"keep": 1})
            m.d.comb += [sel_neg.eq(is_sub & ~c_max & ~c_min), alt.eq(Mux(is_sub, Mux(c_max, top - 1, 0), b_m))]
            m.d.comb += nb.eq(Mux(sel_neg, bneg, alt))
        else:
            m.d.comb += nb.eq(Mux(is_sub, Mux(c_max, top - 1, Mux(c_min, 0, bneg)), b_m))
        # (compact: bb_m = nb but for de, selected in stage A2 from registers: not after -b's carry chain
        # and the corner compares in stage A)
        if not self.compact:
            bb_m = Signal(signed(mw), name="bb_m")
            m.d.comb += bb_m.eq(Mux(~is_sub, b_m, Mux(de_p, top >> 1, Mux(de_m, -top, Mux(c_max, top - 1,
                                                                                          Mux(c_min, 0, bneg))))))
        bb_e = Signal(signed(ew), name="bb_e")
        if self.compact:        # one adder of a selected constant (not one per constant and a select)
            m.d.comb += bb_e.eq(Mux(c_min, 0, b_e + Mux(de_p, 1, Mux(de_m, -1, 0))))
        else:
            m.d.comb += bb_e.eq(Mux(de_p, b_e + 1, Mux(de_m, b_e - 1, Mux(c_min, 0, b_e))))
        # The sum on the raw exponents, aligned on the larger one, e_max, with 3 guard bits:
        #     v' = (big << 3) + floor((small << 3) / 2**d),   d = |a_e - b_e|,   at exponent e_max - 3
        # (big: the operand with the larger exponent, small: the other, their exact values a_m and the
        # mw+1-bit -b). For d <= 3 v' is FloatFormat.add's exact sum v = big * 2**d + small (at e_min) times
        # 2**(3-d). For d > 3 it is floor(v / 2**(d-3)): with normalised operands (|m| >= 2**(mw-2); zero
        # passes) |v| >= 2**(mw-3+d), so fnorm's rounding position s-1 = mag_bits(v) - mw >= d-3, and
        # rshift_round(v, s) depends on floor(v / 2**(s-1)) only: the floor drops no bit fnorm reads, and
        # fnorm(v', e_max - 3) == fnorm(v, e_min) bit for bit (2 guard bits would do; 1 would not: d = 2 with
        # full cancellation, a case the tests hold). So the sum needs mw+5 bits (not 2*mw+4) and
        # one right shifter of the smaller operand. Within the cut-off (|a_e - bb_e| <= mw+1)
        # d <= mw+2 fits `sbits`; beyond it the sum is not used (the larger operand passes).
        sbits = (mw + 2).bit_length()
        da, db = Signal(signed(ew + 1), name="da"), Signal(signed(ew + 1), name="db")
        m.d.comb += [da.eq(a_e - b_e), db.eq(b_e - a_e)]
        big, small = Signal(signed(mw + 1), name="big"), Signal(signed(mw + 1), name="small")
        if self.compact:
            # big = Mux(da < 0, nb, a_m) as one select after -b's chain: -b where (da < 0 and -b is taken),
            # else a net selected beside the chain (small likewise)
            g_big, g_small = (Signal(name=f"neg_{k}", attrs={"keep": 1}) for k in ("big", "small"))
            h_big, h_small = (Signal(signed(mw + 1), name=f"alt_{k}", attrs={"keep": 1}) for k in ("big", "small"))
            m.d.comb += [g_big.eq(da[-1] & sel_neg), g_small.eq(~da[-1] & sel_neg),
                         h_big.eq(Mux(da[-1], alt, a_m)), h_small.eq(Mux(da[-1], a_m, alt)),
                         big.eq(Mux(g_big, bneg, h_big)), small.eq(Mux(g_small, bneg, h_small))]
        else:
            m.d.comb += [big.eq(Mux(da[-1], nb, a_m)), small.eq(Mux(da[-1], a_m, nb))]
        dsh = Signal(sbits, name="dsh")
        m.d.comb += dsh.eq(Mux(da[-1], db[:sbits], da[:sbits]))
        e_mul, e_scl = Signal(signed(ew + 1), name="e_mul"), Signal(signed(ew + 2), name="e_scl")
        e_add = Signal(signed(ew + 1), name="e_add")
        m.d.comb += [e_mul.eq(a_e + b_e + pt if pt else a_e + b_e), e_scl.eq(a_e + inp["k"]), e_add.eq(Mux(da[-1], b_e - 3, a_e - 3))]
        if self.compact:
            # MUL a_e + b_e + pt, SCL a_e + k as one sum a_e + Y + C (two adders, no select of sums); ADD's
            # e_max - 3 in stage A2 (its select waits for the exponent difference's carry chain)
            e_lin = Signal(signed(ew + 3), name="e_lin")
            m.d.comb += e_lin.eq(a_e + Mux(is_mul, b_e, Mux(is_scl, inp["k"], 0)) + Mux(is_mul, pt, 0))
            e_ops = {"e_lin": e_lin, "be": b_e}
        else:
            e_ops = {"e_mul": e_mul, "e_scl": e_scl, "e_add": e_add}
        # SEED: table of contract/fixed_point.py, indexed by exponent parity and seed_bits mantissa bits;
        # its exponent -(sb+1) - floor((a_e + mw - 2) / 2), the second half in stage A2. The table is a
        # block-RAM ROM (2 * 2**sb entries of sb+2 bits; in LUTs it cost ~240 LUT4 at sb = 8): addressed
        # in stage A, its synchronous read gives the entry t one cycle later (in stage A2 when cut "x"
        # holds a register, else in stage B). The result fnorm(t, e) needs no normaliser: t has sb, sb+1
        # or sb+2 bits (its top two bits tell which), so it is t shifted left by one of three constants,
        # and it is never clamped (|e| <= 2**(ew-2) + 1.5 mw for every a_e, inside the range for
        # ew >= 8, mw <= 32). It joins the pass-through results in stage B: the block RAM's clock-to-out
        # stays off the adder and the normaliser.
        table = rsqrt_seed_table(sb, mw)
        m.submodules.seed_rom = seed_rom = Memory(shape=unsigned(max(t.bit_length() for t in table)),
                                                  depth=len(table), init=table)
        seed_rd = seed_rom.read_port()
        idx = Signal(sb + 1)
        m.d.comb += idx.eq(((a_e[0] ^ ((mw - 2) & 1)) << sb) | a_m[mw - 2 - sb:mw - 2])
        m.d.comb += seed_rd.addr.eq(idx)
        half_e = Signal(signed(ew + 1), name="half_e")
        m.d.comb += half_e.eq((a_e + (mw - 2)) >> 1)
        # The cut-off of FloatFormat.add, |a_e - bb_e| > mw + 1 with bb_e = b_e + de: compares of da against
        # the limits for each de (+1: de_p, -1: de_m, 0), selected by de in stage A2. Not compact: here,
        # after da's subtraction, registered at cut "x" (in stage A2 the compares' carry chains and the
        # selects after them to the pass-through registers were the L=1 ECP5 engine's worst path, x_da ->
        # a_pass, 8.2-8.3 ns on two seeds); compact: in stage A2. Both as logic over da's bits, not carry
        # chains: a compare's chain behind da's (two chains and the route between them) was then the
        # L=4 ECP5 engine's worst path, rd_a_e -> x_far_0, 8.2 ns, and the 10x33 layer's in the network.
        lim = mw + 1
        gt, lt = gt_const_hw, lt_const_hw

        def far_cmp(d):
            return {"far_p": gt(d, lim + 1) | lt(d, -lim + 1), "far_m": gt(d, lim - 1) | lt(d, -lim - 1),
                    "far_0": gt(d, lim) | lt(d, -lim)}
        st = stage_hw(m, "x" in cuts, "x", {**({} if self.compact else far_cmp(da)),
            "mul": is_mul, "addsub": is_addsub, "scl": is_scl, "mov": is_mov, "seed": is_seed, "ldi": is_ldi,
            "a_zero": a_zero, "b_zero": b_zero, "bb_zero": b_zero | c_min, "de_p": de_p, "de_m": de_m,
            "ma": a_m, **({} if "x" in cuts else {"mb": b_m}), "ae": a_e, "big": big, "small": small, "bb_e": bb_e,
            "da": da if self.compact else da[-1:],     # (not compact: the cut-off compares are made here)
            **({"nb": nb[:mw].as_signed()} if self.compact else {"bb_m": bb_m}),
            "dsh": dsh, **e_ops, "half_e": half_e,
            "seed_zero": a_m <= 0, "ival": ival, "ival_e": inp["ival_e"]})

        # ---- stage A2: the alignment shifts; the multiplier; the cut-off and pass-through selects -------
        # The product: one a*b (Yosys splits it over the DSPs and adds the parts in the fabric, all
        # before the register of cut "a"), or, with cut "sum", the four partial products of 17-bit
        # halves registered at the DSP outputs and added after cut "a" (an exact signed split:
        # a = ah * 2**17 + al, al unsigned).
        split = "sum" in cuts and mw > 18 and not self.compact
        # the partial products in MULT18X18D primitives with their registers (the ECP5): `dsp_regs`
        use_dsp = split and "x" in cuts and dsp_kind(self.dsp, platform, 18) == "ecp5"
        ma, mb = st["ma"], st.get("mb", b_m)    # with cut "x" the multiplier has operand registers of its own
        if use_dsp:
            # operand halves as 18-bit signed DSP operands (low halves zero-extended, high halves
            # sign-extended), registered in the DSP on MUL (CE0); the product register always (CE1); each
            # product cut from the DSP's 36 bits to the shape of the generic form's (exact)
            def ext(x, sgn):
                return [x[min(i, len(x) - 1)] if sgn or i < len(x) else Const(0, 1) for i in range(18)]
            lo_a, hi_a, lo_b, hi_b = (ext(a_m[:17], False), ext(a_m[17:], True),
                                      ext(b_m[:17], False), ext(b_m[17:], True))
            shp = {"p0": (ma[:17] * mb[:17]).shape(), "p1": (ma[:17] * mb[17:].as_signed()).shape(),
                   "p2": (ma[17:].as_signed() * mb[:17]).shape(), "p3": (ma[17:].as_signed() * mb[17:].as_signed()).shape()}
            dsp_regs = {}
            for key, (x, y) in {"p0": (lo_a, lo_b), "p1": (lo_a, hi_b), "p2": (hi_a, lo_b), "p3": (hi_a, hi_b)}.items():
                p = Signal(36, name=f"dsp_{key}")
                m.submodules[f"mul_{key}"] = mult18x18d(x, y, p, signed=True, ce=is_mul, rst=Const(0, 1),
                                                        ce_out=Const(1, 1))
                dsp_regs[key] = Signal(shp[key], name=f"a_{key}")
                m.d.comb += dsp_regs[key].eq(p[:shp[key].width])
        elif "x" in cuts:
            # The multiplier's own operand registers, loaded for MUL only: not merged with the other copies
            # of the operands (the conversions' registers hold the same value), so they sit by the DSPs.
            ma, mb = Signal(signed(mw), name="x_mul_a"), Signal(signed(mw), name="x_mul_b")
            with m.If(is_mul):
                m.d.sync += [ma.eq(a_m), mb.eq(b_m)]
        if use_dsp:
            mul = {}
        elif split:
            al, ah = ma[:17], ma[17:].as_signed()
            bl_, bh = mb[:17], mb[17:].as_signed()
            mul = {"p0": al * bl_, "p1": al * bh, "p2": ah * bl_, "p3": ah * bh}
        else:
            mul = {"prod": ma * mb}
        # cut-off of FloatFormat.add on the renormalised exponents: a_e - bb_e = da - de (compares of stage A,
        # or here in the compact form)
        fc = far_cmp(st["da"]) if self.compact else st
        far = Signal(name="far")
        m.d.comb += far.eq(Mux(st["de_p"], fc["far_p"], Mux(st["de_m"], fc["far_m"], fc["far_0"])))
        swap = st["da"][-1]                          # beyond the cut-off: b the larger (its sign is de-proof)
        # pass-through results (FloatFormat returns them as they are, without renormalising)
        a_pass = Signal(name="a_pass")               # the result is a
        m.d.comb += a_pass.eq(st["mov"] | (st["addsub"] & ~st["a_zero"] & (st["bb_zero"] | (far & ~swap))))
        pss = Signal(name="pss")
        m.d.comb += pss.eq(st["mov"] | (st["addsub"] & (st["a_zero"] | st["bb_zero"] | far)))
        zero = Signal(name="zero")
        m.d.comb += zero.eq(Mux(st["mul"], st["a_zero"] | st["b_zero"], Mux(st["scl"], st["a_zero"], Mux(
            st["seed"], st["seed_zero"], ~(st["addsub"] | st["mov"] | st["ldi"])))))
        seed_e = Signal(signed(ew + 2), name="seed_e")
        m.d.comb += seed_e.eq(-(sb + 1) - st["half_e"])
        e = Signal(signed(ew + 4), name="e")
        if self.compact:
            e_max = Signal(signed(ew + 1), name="e_max3")
            m.d.comb += e_max.eq(Mux(swap, st["be"], st["ae"]) - 3)
            m.d.comb += e.eq(Mux(st["seed"], seed_e, Mux(st["ldi"], st["ival_e"],
                                                         Mux(st["addsub"], e_max, st["e_lin"]))))
        else:
            m.d.comb += e.eq(Mux(st["mul"], st["e_mul"], Mux(st["addsub"], st["e_add"], Mux(
                st["scl"], st["e_scl"], Mux(st["seed"], seed_e, st["ival_e"])))))
        # the value to round of SCL and LDI
        v_o = Signal(signed(max(self.int_width, mw, 16)), name="v_o")
        # (compact: a_m for every op but LDI, so that its register also serves as a_q)
        m.d.comb += v_o.eq(Mux(st["ldi"], st["ival"], st["ma"]) if self.compact else
                           Mux(st["scl"], st["ma"], st["ival"]))
        # the seed table's entry: registered here when it arrives in stage A2
        seed_a2 = {"seed_t": seed_rd.data} if "x" in cuts else {}
        aw = mw + 4
        st = stage_hw(m, True, "a", {
            "mul": st["mul"], "addsub": st["addsub"], "seed": st["seed"], "zero": zero, "pass": pss, "e": e,
            "v_o": v_o, **seed_a2,
            **({"pm": Mux(a_pass, st["ma"], Mux(st["de_p"] | st["de_m"], Mux(st["de_p"], top >> 1, -top),
                                                   st["nb"])),
                "pe": Mux(a_pass, st["ae"], st["bb_e"])} if self.compact else
               {"a_pass": a_pass, "ma": st["ma"], "ae": st["ae"], "bb_m": st["bb_m"], "bb_e": st["bb_e"]}),
            "add_a": Cat(Const(0, 3), st["big"]).as_signed(),
            "add_b": (Cat(Const(0, 3), st["small"]).as_signed() >> st["dsh"])[:aw].as_signed(),
            **({} if self.compact or use_dsp else mul)})
        if use_dsp:
            st.update(dsp_regs)
        if self.compact:
            m.d.comb += self.a_q.eq(st["v_o"][:mw])
        if self.compact:
            # the product registers without a reset: Yosys's ice40_dsp then takes them into the SB_MAC16's
            # output register (a register with a synchronous reset stays in the fabric: 32 logic cells)
            for key, val in mul.items():
                reg = Signal(val.shape(), name=f"a_{key}", reset_less=True)
                m.d.sync += reg.eq(val)
                st[key] = reg

        # ---- stage B: the exact value v * 2**e to round: one carry chain ---------------------------------
        # MUL with split products: p3 * 2**34 + p0 (0 <= p0 < 2**34) + (p1 + p2) * 2**17, reduced to two
        # terms by a carry-save layer (exact modulo 2**vw, where the product fits).
        if split:
            X = Cat(st["p0"][:34], st["p3"]).as_signed()
            Y, Z = st["p1"] << 17, st["p2"] << 17
            xs, xc = Signal(vw, name="csa_s"), Signal(vw, name="csa_c")
            m.d.comb += [xs.eq(X ^ Y ^ Z), xc.eq(((X & Y) | (X & Z) | (Y & Z)) << 1)]
            t0, t1 = xs, xc
        else:
            t0, t1 = st["prod"], Const(0, 1)
        v = Signal(signed(vw), name="v")
        if self.compact:
            # the adder for ADD/SUB only (mw+5 bits), the other values selected after it; the product
            # without its low pt bits (floor: exact for fnorm, the exponent has + pt)
            add = Signal(signed(aw + 1), name="add")
            m.d.comb += [add.eq(st["add_a"] + st["add_b"]),
                         v.eq(Mux(st["addsub"], add, Mux(st["mul"], t0[pt:].as_signed(), st["v_o"])))]
        else:
            x_in, y_in = Signal(vw, name="x_in"), Signal(vw, name="y_in")
            m.d.comb += [x_in.eq(Mux(st["mul"], t0, Mux(st["addsub"], st["add_a"], st["v_o"]))),
                         y_in.eq(Mux(st["mul"], t1, Mux(st["addsub"], st["add_b"], 0)))]
            m.d.comb += v.eq(x_in + y_in)
        # SEED's result: t << (mw - 1 - bitlen(t)) at e + bitlen(t) - (mw - 1), bitlen(t) in sb .. sb+2
        t = st["seed_t"] if "x" in cuts else seed_rd.data
        seed_m, seed_e2 = Signal(signed(mw), name="seed_m"), Signal(signed(ew), name="seed_e2")
        m.d.comb += [
            seed_m.eq(Mux(t[sb + 1], t << (mw - 3 - sb), Mux(t[sb], t << (mw - 2 - sb), t << (mw - 1 - sb)))),
            seed_e2.eq(st["e"] + Mux(t[sb + 1], sb + 3 - mw, Mux(t[sb], sb + 2 - mw, sb + 1 - mw))) if self.compact
            else seed_e2.eq(Mux(t[sb + 1], st["e"] + (sb + 3 - mw), Mux(t[sb], st["e"] + (sb + 2 - mw),
                                                                      st["e"] + (sb + 1 - mw))))]
        # the pass-through results (selected here, off the cut-off compare's path)
        if self.compact:        # selected before cut "a", after the cut-off compare
            pm, pe = Mux(st["seed"], seed_m, st["pm"]), Mux(st["seed"], seed_e2, st["pe"])
        else:
            pm = Mux(st["seed"], seed_m, Mux(st["a_pass"], st["ma"], st["bb_m"]))
            pe = Mux(st["seed"], seed_e2, Mux(st["a_pass"], st["ae"], st["bb_e"]))
        # (compact: cut "sum" after fnorm's first halving step instead, its cut "pre": stage B's one carry
        # chain, of ADD/SUB only, leaves room for it, the normaliser's steps none)
        st = stage_hw(m, "sum" in cuts and (not self.compact or "pre" in cuts), "sum", {"v": v, "e": st["e"], "zero": st["zero"],
                                                                    "pass": st["pass"] | st["seed"], "pm": pm,
                                                                    "pe": pe})

        # ---- stages C..: leading-bit index, normalising shift, round, clamp (hdl/fixed_point.py) --------
        fn_cuts = [c for c in cuts if c in FNORM_CUTS]
        if not self.compact:
            # zero and the pass-through results as fnorm's `force`: selected beside its normalising shift, so
            # after its round only the overflow selects (that stage ends at the register file's write port)
            fm, fe = Signal(signed(mw), name="force_m"), Signal(signed(ew), name="force_e")
            m.d.comb += [fm.eq(Mux(st["zero"], 0, st["pm"])), fe.eq(Mux(st["zero"], 0, st["pe"]))]
            r_m, r_e, flag, _ = fnorm_pipe_hw(m, st["v"], st["e"], width=mw, ew=ew, name="norm", cuts=fn_cuts,
                                              force=(st["zero"] | st["pass"], fm, fe),
                                              force_out=(self.ov, self.ov_m, self.ov_e))
            m.d.comb += [self.r_m.eq(r_m), self.r_e.eq(r_e), self.flag.eq(flag)]
            return m
        # zero and the pass-through results as fnorm's `force` here too (selected beside its round: after
        # it, the UP5K engine's path from the round's overflow register to the register file's write
        # data was seven LUT levels)
        fm, fe = Signal(signed(mw), name="force_m"), Signal(signed(ew), name="force_e")
        m.d.comb += [fm.eq(Mux(st["zero"], 0, st["pm"])), fe.eq(Mux(st["zero"], 0, st["pe"]))]
        r_m, r_e, flag, _ = fnorm_pipe_hw(
            m, st["v"], st["e"], width=mw, ew=ew, name="norm", cuts=(["pre"] if {"sum", "pre"} & set(cuts) else []) + fn_cuts,
            compact=self.compact, force=(st["zero"] | st["pass"], fm, fe))
        m.d.comb += [self.r_m.eq(r_m), self.r_e.eq(r_e), self.flag.eq(flag)]
        return m
