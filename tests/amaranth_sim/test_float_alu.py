"""hdl/engine/float_alu.py against contract/fixed_point.py FloatFormat, op by op (Amaranth simulator): one op
issued per cycle, each result checked FloatALU.LATENCY cycles later."""
import numpy as np
import pytest
from amaranth import Cat, Module, Signal, signed
from amaranth.back import verilog
from amaranth.sim import Simulator

from contract import microcode as P
from contract.fixed_point import Flags, FloatFormat
from hdl.engine.float_alu import CUTS, FloatALU


def _simulate(top, bench):
    """Run the async testbench `bench` against `top` with a 1 MHz clock."""
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _golden(ff, op, a, b, k, ival, ival_e=0):
    fl = Flags()
    if op == "MUL":
        r = ff.mul(a, b, fl)
    elif op == "ADD":
        r = ff.add(a, b, fl)
    elif op == "SUB":
        r = ff.sub(a, b, fl)
    elif op in ("SCL", "SCLK"):
        r = ff.scale(a, k, fl)
    elif op == "MOV":
        r = a
    elif op == "SEED":
        r = ff.rsqrt_seed(a)
    elif op == "LDI":
        r = ff.fnorm(ival, ival_e, fl)
    return r, fl.saturated


def _operand(ff, rng, mw, ew):
    kind = rng.integers(0, 6)
    if kind == 0:
        return (0, 0)
    if kind == 1:   # near the exponent limits
        return ff.fnorm(int(rng.integers(-2 ** 30, 2 ** 30)), int(rng.choice([ff.emax - 40, ff.emin + 5])))
    return ff.fnorm(int(rng.integers(-2 ** 40, 2 ** 40)) >> int(rng.integers(0, 40)), int(rng.integers(-60, 60)))


def _mult18x18d_model(a, b, p, *, ce, ce_out=None, **kw):
    """Behavioural stand-in for hdl/dsp_multiplier.py mult18x18d (the primitive cannot be simulated):
    the signed 18 x 18 product with the input registers on `ce` and the output register on `ce_out`
    (else `ce`), as its parameters place them; so the test below checks the ALU's wiring of the four
    partial products (operand extension, product cuts, enables)."""
    assert kw["signed"] and kw.get("reg_in", True) and kw.get("reg_out", True)
    m = Module()
    a_r, b_r, p_r = Signal(signed(18)), Signal(signed(18)), Signal(36)
    with m.If(ce):
        m.d.sync += [a_r.eq(Cat(*a).as_signed()), b_r.eq(Cat(*b).as_signed())]
    with m.If(ce if ce_out is None else ce_out):
        m.d.sync += p_r.eq(a_r * b_r)
    m.d.comb += p.eq(p_r)
    return m



@pytest.mark.parametrize("mw,ew,sb,lat,compact", [(24, 12, 8, lat, False) for lat in sorted(CUTS) if "pre" not in CUTS[lat]]
                         + [(18, 8, 5, 2, False), (18, 8, 5, 6, False), (32, 16, 10, 5, False)]
                         + [(16, 8, 8, 1, True), (24, 12, 8, 1, True), (18, 8, 5, 4, True), (16, 8, 8, 6, True),
                            (16, 8, 8, 7, True), (16, 8, 8, 8, True)]
                         + [(24, 12, 8, 6, "dsp"), (32, 16, 10, 6, "dsp")])
def test_alu_matches_golden(monkeypatch, mw, ew, sb, lat, compact):
    """Every op on random operands (and the SUB corners) against FloatFormat, at every latency; compact:
    the iCE40 form (FloatALU(compact=True)); "dsp": dsp='ecp5' (the partial products in MULT18X18D
    primitives, simulated by their behavioural stand-in)."""
    ff = FloatFormat(mw, ew, sb)
    dsp = "generic"
    if compact == "dsp":
        import hdl.engine.float_alu as float_alu
        monkeypatch.setattr(float_alu, "mult18x18d", _mult18x18d_model)
        compact, dsp = False, "ecp5"
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=sb, int_width=64, latency=lat, compact=compact,
                   dsp=dsp)
    rng = np.random.default_rng(mw)
    ops = ["MUL", "ADD", "SUB", "SCL", "SCLK", "MOV", "SEED", "LDI"]
    cases = []
    for i in range(1500):
        op = ops[i % len(ops)]
        a, b = _operand(ff, rng, mw, ew), _operand(ff, rng, mw, ew)
        if op in ("ADD", "SUB") and i % 3 == 0 and a[0] and b[0]:
            b = (b[0], a[1] + int(rng.integers(-mw - 3, mw + 3)))     # exponent gaps around the cut-off
            b = ff.fnorm(b[0], max(min(b[1], ff.emax - 30), ff.emin))
        k = int(rng.integers(-8, 26))
        ival = int(rng.integers(-2 ** 62, 2 ** 62)) >> int(rng.integers(0, 62))
        cases.append((op, a, b, k, ival, int(rng.integers(-130, 130)) if op == "LDI" else 0))
    top = 1 << (mw - 1)
    # SUB of the two mantissas whose negation renormalises, also at the exponent ends
    cases += [("SUB", (-top, 3), (-top, 3), 0, 0, 0), ("SUB", (5 << (mw - 4), 0), (-top, 2), 0, 0, 0),
              ("SUB", (5 << (mw - 4), 0), (top >> 1, 1), 0, 0, 0), ("SUB", (3 << (mw - 3), 1), (top >> 1, 1), 0, 0, 0),
              ("SUB", (5 << (mw - 4), ff.emax), (-top, ff.emax), 0, 0, 0),
              ("SUB", (5 << (mw - 4), ff.emin), (top >> 1, ff.emin), 0, 0, 0),
              ("SUB", (0, 0), (top >> 1, ff.emin), 0, 0, 0), ("SUB", (0, 0), (-top, ff.emax), 0, 0, 0),
              ("LDI", (0, 0), (0, 0), 0, -(1 << 63), 0), ("LDI", (0, 0), (0, 0), 0, 0, 0)]
    got = []

    async def bench(ctx):
        for i in range(len(cases) + dut.LATENCY):
            if i >= dut.LATENCY:
                got.append(((ctx.get(dut.r_m), ctx.get(dut.r_e)), bool(ctx.get(dut.flag))))
            op, a, b, k, ival, ival_e = cases[min(i, len(cases) - 1)]
            ctx.set(dut.op, P.OPCODE[op])
            ctx.set(dut.a_m, a[0]); ctx.set(dut.a_e, a[1])
            ctx.set(dut.b_m, b[0]); ctx.set(dut.b_e, b[1])
            ctx.set(dut.k, k); ctx.set(dut.ival, ival); ctx.set(dut.ival_e, ival_e)
            await ctx.tick()

    _simulate(dut, bench)
    for case, g in zip(cases, got):
        assert g == _golden(ff, *case), case


def test_alu_dsp_primitives():
    """dsp='ecp5' puts the four partial products in MULT18X18D primitives (input registers on CE0, the
    output register on CE1) only where cuts "x" and "sum" hold their registers; the default and the
    other latencies stay behavioural."""
    def count(**kw):
        text = verilog.convert(FloatALU(mant_width=24, fexp_width=12, **kw), name="top", emit_src=False)
        return text.count("MULT18X18D"), text
    assert count(latency=6)[0] == 0 and count(latency=5, dsp="ecp5")[0] == 0
    n, text = count(latency=6, dsp="ecp5")
    assert n == 4
    assert text.count('.REG_INPUTA_CE("CE0")') == 4 and text.count('.REG_OUTPUT_CE("CE1")') == 4
    assert count(latency=6, dsp="auto")[0] == 0                  # no ECP5 platform: behavioural
    with pytest.raises(ValueError, match="dsp must be one of"):
        FloatALU(dsp="ECP5")


def _run_cases(dut, cases):
    """(r_m, r_e, flag) of each (op, a, b) case, one issued per cycle."""
    got = []

    async def bench(ctx):
        for i in range(len(cases) + dut.LATENCY):
            if i >= dut.LATENCY:
                got.append(((ctx.get(dut.r_m), ctx.get(dut.r_e)), bool(ctx.get(dut.flag))))
            op, a, b = cases[min(i, len(cases) - 1)]
            ctx.set(dut.op, P.OPCODE[op])
            ctx.set(dut.a_m, a[0]); ctx.set(dut.a_e, a[1])
            ctx.set(dut.b_m, b[0]); ctx.set(dut.b_e, b[1])
            await ctx.tick()

    _simulate(dut, bench)
    return got


@pytest.mark.parametrize("mw,ew,sb,compact", [(24, 12, 8, False), (18, 8, 5, False), (16, 8, 4, True)])
def test_add_at_the_far_operand_cut_off(mw, ew, sb, compact):
    """ADD/SUB where the larger operand has the smallest normalised mantissa +-2**(mw-2) and the other,
    of opposite sign, sits mw or mw+1 binary places below: the exact sum then crosses a power of two, so
    the result is (+-(2**(mw-1) - 1), e - 1), not the larger operand. Checked against exact rational
    arithmetic (result within half an ulp, normalised) and the RTL against the golden model; these are
    the operands that pin FloatFormat.add's `d > mw + 1` cut-off (a random mantissa almost never is one)."""
    from fractions import Fraction
    ff = FloatFormat(mw, ew, sb)
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=sb, int_width=64, compact=compact,
                   latency=1 if compact else 2)
    low = 1 << (mw - 2)
    cases = []
    for sign in (1, -1):
        for gap in (mw - 1, mw, mw + 1, mw + 2):
            for bm in (low, low + 1, (1 << (mw - 1)) - 1):
                a, b = (sign * low, 10), (-sign * bm, 10 - gap)
                cases += [("ADD", a, b), ("SUB", a, (-b[0], b[1]))]
    got = [r for r, _flag in _run_cases(dut, cases)]
    for (op, a, b), rtl in zip(cases, got):
        want = _golden(ff, op, a, b, 0, 0)[0]
        assert rtl == want, (op, a, b)
        exact = Fraction(a[0]) * Fraction(2) ** a[1] + (1 if op == "ADD" else -1) * Fraction(b[0]) * Fraction(2) ** b[1]
        gap = a[1] - b[1]
        if gap <= mw + 1:            # the documented exact-sum range: correctly rounded, normalised
            m, e = want
            assert abs(m) >> (mw - 2) in (1,) or (m < 0 and -m == 1 << (mw - 1)), (op, a, b, want)
            assert abs(Fraction(m) * Fraction(2) ** e - exact) <= Fraction(2) ** e / 2, (op, a, b, want)
        else:                        # beyond it the larger operand is returned
            assert want == a, (op, a, b, want)


def _fnorm_sim(m, v, e, cases, lat, outputs, tag=None):
    """Drive (v, e) cases into a module holding fnorm_(multi_)pipe_hw, one per cycle, and read each
    case's [((m, e), flag) per output] `lat` cycles later (with `tag` = (input, output): the value
    carried along, else None)."""
    got = []

    async def bench(ctx):
        for i in range(len(cases) + lat):
            cv, ce = cases[min(i, len(cases) - 1)]
            ctx.set(v, cv); ctx.set(e, ce)
            if tag is not None:
                ctx.set(tag[0], i & 0xFF)
            if i >= lat:
                got.append(([((ctx.get(mo), ctx.get(eo)), bool(ctx.get(fl))) for mo, eo, fl in outputs],
                            None if tag is None else ctx.get(tag[1])))
            await ctx.tick()

    _simulate(m, bench)
    return got


@pytest.mark.parametrize("cuts,compact", [(c, False) for c in [(), ("bl",), ("sh",), ("rnd",), ("bl", "sh"),
                                                                ("bl", "sh", "rnd")]]
                         + [((), True), (("bl", "sh", "rnd"), True), (("pre", "bl", "sh"), True),
                            (("pre",), True)])
@pytest.mark.parametrize("width", [18, 16])
def test_fnorm_pipe_matches_golden(cuts, width, compact):
    """hdl/fixed_point.py fnorm_pipe_hw with every set of its pipeline registers (the conversions' COEF/OUTC
    width 18 and SOUT width 16 of a 24-bit mantissa) against FloatFormat.fnorm: one value per cycle, the
    result len(cuts) cycles later, an `extra` value carried along; also its compact form (halving-step
    shifter, one exponent adder, compares without carry chains)."""
    from amaranth import ClockDomain, Module, Signal, signed
    from hdl.fixed_point import fnorm_pipe_hw
    ew = 12
    ff = FloatFormat(24, ew, 8)
    m = Module()
    m.domains.sync = ClockDomain()
    v, e, tag = Signal(signed(24)), Signal(signed(ew + 2)), Signal(8)
    mo, eo, flag, extra = fnorm_pipe_hw(m, v, e, width=width, ew=ew, name="t", cuts=cuts, extra={"tag": tag},
                                        compact=compact)
    rng = np.random.default_rng(width + 7 * len(cuts))
    cases = [(0, 0), (-1, 5), (1 << 23 - 1, 0), (-(1 << 23), ff.emax - 2), ((1 << width) - 1, ff.emax - 8),
             (3, ff.emin), ((1 << 22) + 1, ff.emin - 3), (-(1 << (width - 1)) - 1, 0)]
    cases += [(int(rng.integers(-2 ** 23, 2 ** 23)) >> int(rng.integers(0, 23)),
               int(rng.integers(ff.emin - 30, ff.emax + 10))) for _ in range(600)]
    got = _fnorm_sim(m, v, e, cases, len(cuts), [(mo, eo, flag)], tag=(tag, extra["tag"]))
    for i, ((cv, ce), g) in enumerate(zip(cases, got)):
        fl = Flags()
        want = ff.fnorm(cv, ce, fl, width=width)
        assert g == ([(want, fl.saturated)], i & 0xFF), (cv, ce, cuts)


def _fnorm_multi_dut(mw, widths, **kw):
    """fnorm_multi_pipe_hw of a signed mw-bit value and an (ew+2)-bit exponent in a module with a sync
    domain; keywords (cuts, compact, normalised) passed on. Returns (FloatFormat, ew, module, v, e, results)."""
    from amaranth import ClockDomain, Module, Signal, signed
    from hdl.fixed_point import fnorm_multi_pipe_hw
    ew = 8 if mw == 16 else 12
    m = Module()
    m.domains.sync = ClockDomain()
    v, e = Signal(signed(mw)), Signal(signed(ew + 2))
    res, _ = fnorm_multi_pipe_hw(m, v, e, widths=widths, ew=ew, names=[f"w{i}" for i in range(len(widths))], **kw)
    return FloatFormat(mw, ew, 4), ew, m, v, e, res


@pytest.mark.parametrize("cuts,compact", [((), False), (("bl", "sh"), False), (("bl", "sh", "rnd"), False),
                                          ((), True), (("bl", "sh"), True), (("bl", "sh", "rng", "rnd"), True),
                                          (("rng",), True)])
@pytest.mark.parametrize("mw,widths", [(24, (18, 16)), (16, (16, 12)), (16, (12, 8)), (24, (24, 8, 20))])
def test_fnorm_multi_pipe_matches_golden(cuts, mw, widths, compact):
    """hdl/fixed_point.py fnorm_multi_pipe_hw (the scalar unit's COEF/OUTC and SOUT conversions share one
    leading-bit tree and one shift): every width's result against FloatFormat.fnorm of the same value,
    including a width equal to the input's (no rounding needed: the padding must still leave width+1
    bits), one value per cycle, the result len(cuts) cycles later."""
    ff, ew, m, v, e, res = _fnorm_multi_dut(mw, widths, cuts=cuts, compact=compact)
    rng = np.random.default_rng(mw + sum(widths) + len(cuts))
    top = 1 << (mw - 1)
    cases = [(0, 0), (-1, 5), (top - 1, 0), (-top, ff.emax - 2), (3, ff.emin), (top // 2 + 1, ff.emin - 3),
             ((1 << max(widths[1:])) - 1, ff.emax - 8)]
    cases += [(int(rng.integers(-top, top)) >> int(rng.integers(0, mw - 1)),
               int(rng.integers(ff.emin - 30, ff.emax + 10))) for _ in range(500)]
    got = _fnorm_sim(m, v, e, cases, len(cuts), res)
    for (cv, ce), g in zip(cases, got):
        want = []
        for w in widths:
            fl = Flags()
            want.append((ff.fnorm(cv, ce, fl, width=w), fl.saturated))
        assert g == (want, None), (cv, ce, cuts, widths)


@pytest.mark.parametrize("mw,ew,sb,lat,compact", [(24, 12, 8, 1, False), (24, 12, 8, 3, False), (16, 8, 4, 1, False),
                                                  (16, 8, 13, 4, False), (16, 8, 8, 1, True)])
def test_seed_every_table_entry(mw, ew, sb, lat, compact):
    """SEED over every entry of the seed table (both exponent parities; a stride at 2**13 entries), at
    the exponent range's ends: the block-RAM table read and its normalisation by a constant shift
    chosen by the entry's top bits, without the normaliser, with and without ALU cut "x" (the entry arrives in
    stage A2 or B). The golden model never clamps a seed: the flag stays low."""
    ff = FloatFormat(mw, ew, sb)
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=sb, int_width=40, latency=lat, compact=compact)
    n = 1 << sb
    idxs = sorted(set(range(0, n, max(1, n // 300))) | {0, 1, n - 1})
    cases = []
    for e in (ff.emin, ff.emin + 1, -1, 0, ff.emax - 1, ff.emax):
        for i in idxs:
            m = (1 << (mw - 2)) | (i << (mw - 2 - sb)) | (i & ((1 << (mw - 2 - sb)) - 1))
            cases.append(("SEED", (m, e), (0, 0)))
    cases += [("SEED", (0, 0), (0, 0)), ("SEED", (-(1 << (mw - 2)), 3), (0, 0))]
    widths = {ff.seed_table[((e + mw - 2) & 1) << sb | i].bit_length() for (_, (mm, e), _) in cases[:-2]
              for i in [(mm >> (mw - 2 - sb)) & (n - 1)]}
    # entries lie in (2**sb / 2, 2**(sb+1)] (sb+1 bits, and sb+2 for 2**(sb+1) itself): both exercised
    assert {sb + 1, sb + 2} <= widths <= {sb, sb + 1, sb + 2}
    for case, g in zip(cases, _run_cases(dut, cases)):
        assert g == _golden(ff, case[0], case[1], case[2], 0, 0), case


@pytest.mark.parametrize("mw,ew,lat,compact", [(24, 12, 1, False), (24, 12, 3, False), (16, 8, 2, False),
                                               pytest.param(16, 8, 1, True, marks=pytest.mark.slow)])
def test_add_every_exponent_gap(mw, ew, lat, compact):
    """ADD/SUB at every exponent gap d = 0 .. mw+3 (both operand orders) with the mantissas that cancel
    most (the smallest normalised larger operand against the largest smaller one of opposite sign) and
    some others: the sum formed on the larger exponent with 3 guard bits and a floor (exact up to d = 3,
    below fnorm's rounding position beyond) is bit-exact with FloatFormat.add's exact sum."""
    ff = FloatFormat(mw, ew, 8 if mw > 16 else 4)
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=8 if mw > 16 else 4, int_width=40, latency=lat,
                   compact=compact)
    low, top = 1 << (mw - 2), 1 << (mw - 1)
    rng = np.random.default_rng(mw + lat)
    mants = [low, low + 1, top - 1, -low, -low - 1, -(top - 1), -top, top >> 1 | 1] + \
            [int(x) for x in rng.integers(low, top, 3)] + [-int(x) for x in rng.integers(low, top, 3)]
    cases = []
    for d in range(mw + 4):
        for big in mants[:8]:
            for small in mants:
                for op in ("ADD", "SUB"):
                    cases += [(op, (big, 5 + d), (small, 5)), (op, (small, 5), (big, 5 + d))]
    for case, g in zip(cases, _run_cases(dut, cases)):
        assert g == _golden(ff, case[0], case[1], case[2], 0, 0), case


@pytest.mark.parametrize("mw,ew,lat,compact", [(16, 8, 1, True), (24, 12, 1, True), (16, 8, 1, False)])
def test_mul_mantissa_corners(mw, ew, lat, compact):
    """MUL of the extreme register mantissas (the smallest and largest normalised of both signs, fnorm's one
    unnormalised result -2**(mw-2), their neighbours) at exponents that round, clamp high and underflow:
    the compact ALU drops the product's low mw-4 bits before fnorm (fnorm's rounding position s - 1 is at
    least mw-3 for every product of register mantissas; dropping mw-2 bits fails here)."""
    ff = FloatFormat(mw, ew, 4)
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=4, int_width=40, latency=lat, compact=compact)
    low, top = 1 << (mw - 2), 1 << (mw - 1)
    mants = [low, low + 1, top - 1, top - 2, -low, -low - 1, -top, -top + 1, (3 * low) // 2, -(3 * low) // 2 - 1]
    exps = [(0, 0), (-3, 5), (ff.emax // 2 + 2, ff.emax // 2), (ff.emin // 2, ff.emin // 2 + mw - 2),
            (ff.emin // 2 + 2, ff.emin // 2 - 2 + mw - 1)]
    cases = [("MUL", (ma, ea), (mb, eb)) for ma in mants for mb in mants for ea, eb in exps]
    for case, g in zip(cases, _run_cases(dut, cases)):
        assert g == _golden(ff, case[0], case[1], case[2], 0, 0), case


@pytest.mark.parametrize("cuts", [(), ("bl", "sh", "rng", "rnd")])
@pytest.mark.parametrize("mw,widths", [(16, (12, 8)), (24, (18, 16))])
def test_fnorm_multi_pipe_of_register_mantissas(mw, widths, cuts):
    """fnorm_multi_pipe_hw(compact=True, normalised=True), the scalar unit's compact conversions: for the
    values a register holds (0, normalised mantissas of both signs, fnorm's unnormalised -2**(mw-2)) one
    shift by 0 or 1 replaces the normaliser; every width against FloatFormat.fnorm, exponents at the
    clamps included."""
    ff, ew, m, v, e, res = _fnorm_multi_dut(mw, widths, cuts=cuts, compact=True, normalised=True)
    rng = np.random.default_rng(mw)
    low, top = 1 << (mw - 2), 1 << (mw - 1)
    mants = [0, -low, low, -top, top - 1, low + 1, -low - 1, top - 2, -top + 1]
    mants += [int(x) for x in rng.integers(low, top, 40)] + [-int(x) for x in rng.integers(low, top + 1, 40)]
    exps = [ff.emin - 3, ff.emin, ff.emin + 2, -1, 0, 5, ff.emax - 8, ff.emax - 4, ff.emax]
    cases = [(mm, ee) for mm in mants for ee in exps]
    got = _fnorm_sim(m, v, e, cases, len(cuts), res)
    for (cv, ce), g in zip(cases, got):
        want = []
        for w in widths:
            fl = Flags()
            want.append((ff.fnorm(cv, ce, fl, width=w), fl.saturated))
        assert g == (want, None), (cv, ce, widths, cuts)


@pytest.mark.parametrize("lat", [1, 4, 8])
def test_ldi_with_a_deferred_carry(lat):
    """ival_carry_at (the one-lane iCE40 datapath's latches: a partial sum and a carry into bit h): LDI of
    (ival, ival_c) gives FloatFormat's fnorm of (ival + ival_c * 2**h) mod 2**int_width, signed, at the
    range's ends too (where the carry wraps the partial word's sign)."""
    mw, ew, sb, iw, h = 16, 8, 8, 36, 18
    ff = FloatFormat(mw, ew, sb)
    dut = FloatALU(mant_width=mw, fexp_width=ew, seed_bits=sb, int_width=iw, latency=lat, compact=True,
                   ival_carry_at=h)
    rng = np.random.default_rng(lat)
    values = [int(rng.integers(-2 ** 35, 2 ** 35)) >> int(rng.integers(0, 35)) for _ in range(300)]
    values += [-(1 << 35), (1 << 35) - 1, 0, -1, 1 << h, -(1 << h), (1 << h) - 1]
    cases = []
    for i, v in enumerate(values):
        c = i % 2 if i < 300 else 1
        partial = ((v - (c << h)) + (1 << (iw - 1))) % (1 << iw) - (1 << (iw - 1))
        cases.append((v, partial, c, int(rng.integers(-20, 20))))
    got = []

    async def bench(ctx):
        for i in range(len(cases) + dut.LATENCY):
            if i >= dut.LATENCY:
                got.append((ctx.get(dut.r_m), ctx.get(dut.r_e)))
            _, partial, c, e = cases[min(i, len(cases) - 1)]
            ctx.set(dut.op, P.OPCODE["LDI"])
            ctx.set(dut.ival, partial); ctx.set(dut.ival_c, c); ctx.set(dut.ival_e, e)
            await ctx.tick()

    _simulate(dut, bench)
    for (v, partial, c, e), g in zip(cases, got):
        assert g == _golden(ff, "LDI", (0, 0), (0, 0), 0, v, e)[0], (v, partial, c, e)


def test_ival_carry_at_is_checked():
    with pytest.raises(ValueError, match="ival_carry_at"):
        FloatALU(mant_width=16, fexp_width=8, seed_bits=8, int_width=36, compact=True, ival_carry_at=36)


@pytest.mark.parametrize("cut", ["pre", "rng"])
def test_fnorm_compact_only_cuts_are_checked(cut):
    """The compact normaliser's own cuts ("pre", "rng") name stages the full form does not have: asking
    for them without compact is an error at elaboration, not a cut silently left out."""
    with pytest.raises(ValueError, match=f"cut '{cut}' needs compact"):
        _fnorm_multi_dut(16, (12, 8), cuts=(cut,), compact=False)
