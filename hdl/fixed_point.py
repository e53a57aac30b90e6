"""Combinational generators for the fixed-point primitives of contract/fixed_point.py (bit-exact).

Each helper adds comb statements to a Module and returns the result signals:
    rshift_round_hw  -- the ONE rounding rule: round(v / 2**s), ties toward +inf; s <= 0 shifts left
                        (round_amt_hw / round_pre_hw / round_post: the same split over two stages)
    saturate_hw      -- clamp to a signed width, with a "clamped" bit (never wrap-around)
    fnorm_hw         -- exact integer * 2**e -> sfloat (m, e) with the exponent clamp of FloatFormat.fnorm
                        (= bit_length_hw, a leading-one tree, then fnorm_tail_hw: shift, round, clamp;
                        split so a pipeline can register the bit length in between)
    fnorm_pipe_hw    -- fnorm_hw with optional registers after the bit length, the shift, the rounding
    stage_hw         -- a pipeline boundary: registered copies of some values, or the values themselves

The rounding uses floor((floor(v / 2**(s-1)) + 1) / 2) == floor(v / 2**s + 1/2), so no variable-width
"half" constant is needed.
"""
from __future__ import annotations

from amaranth import Const, Mux, Signal, signed, unsigned


def _bits_for(lo: int, hi: int) -> int:
    """Width of a signed signal holding lo..hi."""
    return max(len(Const(lo)), len(Const(hi)), 2) + 1


def rshift_round_hw(m, v, s, *, out_width: int, max_left: int, max_right: int, name: str):
    """Signal (signed out_width) = rshift_round(v, s) for s in [-max_left, max_right] (s a signed Value).

    v is a signed Value; the caller guarantees s is within the range (it is clamped upstream).
    """
    out = Signal(signed(out_width), name=name)
    r_amt = Signal(range(max(max_right, 1)), name=f"{name}_r")
    l_amt = Signal(range(max_left + 1), name=f"{name}_l")
    m.d.comb += [r_amt.eq(Mux(s > 0, s - 1, 0)), l_amt.eq(Mux(s < 0, -s, 0))]
    right = ((v >> r_amt) + 1) >> 1
    left = v << l_amt
    with m.If(s > 0):
        m.d.comb += out.eq(right)
    with m.Elif(s < 0):
        m.d.comb += out.eq(left)
    with m.Else():
        m.d.comb += out.eq(v)
    return out


def round_amt_hw(m, s, *, max_left: int, max_right: int, name: str):
    """Shift amount max_left + s (unsigned, 0 .. max_left + max_right) of round_pre_hw for the signed
    shift s in [-max_left, max_right]; a pipeline registers it before the shifter."""
    amt = Signal(range(max_left + max_right + 1), name=name)
    m.d.comb += amt.eq(s + max_left)
    return amt


def round_pre_hw(m, v, amt, *, max_left: int, name: str):
    """pre = floor(v * 2**(1 - s)) for amt = max_left + s (round_amt_hw): one arithmetic right shift of
    v * 2**(max_left + 1), no rounding logic. Then rshift_round(v, s) = (pre >> 1) + pre[0] (round_post):
    for s > 0 floor((floor(v / 2**(s-1)) + 1) / 2); for s <= 0 pre = v * 2**(1-s) is even. A pipeline
    registers pre and does the increment in the next stage, where it can ride on an adder's carry."""
    pre = Signal(signed(len(v) + max_left + 2), name=name)
    m.d.comb += pre.eq((v.as_signed() << (max_left + 1)) >> amt)
    return pre


def round_post(pre):
    """rshift_round from round_pre_hw's pre: (pre >> 1) + pre[0] (a Value; pre[0] is the increment)."""
    return (pre >> 1) + pre[0]


def round_post_sat_hw(m, pre, width: int, *, name: str):
    """(Signal signed(width), Signal(1) clamped) = saturate(round_post(pre), width) without a carry chain
    over pre's width: with q = pre >> 1 and c = pre[0], the clamp tests are AND/OR trees over q's bits
    (q beyond the range, or at its edge with the increment crossing it) and only the w-bit increment
    q[:w] + c is an adder."""
    n = len(pre)
    if n - 1 <= width:
        return saturate_hw(m, round_post(pre), width, name=name)
    out = Signal(signed(width), name=name)
    hit = Signal(name=f"{name}_sat")
    q, c = pre[1:], pre[0]                          # q = pre >> 1, n - 1 bits, sign q[-1]
    s = q[-1]
    top = q[width - 1:-1]                           # in range: all equal to the sign
    low = q[:width - 1]
    over, under = Signal(name=f"{name}_over"), Signal(name=f"{name}_under")
    # q + c > hi: q > hi, or q == hi and c;   q + c < lo: q < lo, unless q == lo - 1 and c
    m.d.comb += [over.eq(~s & (top.any() | (low.all() & c))),
                 under.eq(s & ~top.all() & ~(c & q[width:].all() & ~q[width - 1] & low.all()))]
    with m.If(over):
        m.d.comb += [out.eq((1 << (width - 1)) - 1), hit.eq(1)]
    with m.Elif(under):
        m.d.comb += [out.eq(-(1 << (width - 1))), hit.eq(1)]
    with m.Else():
        m.d.comb += out.eq(q[:width] + c)
    return out, hit


def saturate_hw(m, v, width: int, *, name: str):
    """(Signal signed(width), Signal(1) clamped) = saturate(v, width).

    The clamp test looks at the bits above the result's sign bit (all equal to v's sign: in range), a
    LUT tree rather than two wide comparators."""
    out = Signal(signed(width), name=name)
    hit = Signal(name=f"{name}_sat")
    hi, lo = (1 << (width - 1)) - 1, -(1 << (width - 1))
    n = len(v)
    if n <= width:
        m.d.comb += out.eq(v)
        return out, hit
    sign = v[n - 1]
    top = v[width - 1:n - 1]                        # must all equal the sign bit
    over = Signal(name=f"{name}_over")
    under = Signal(name=f"{name}_under")
    m.d.comb += [over.eq(~sign & top.any()), under.eq(sign & ~top.all())]
    with m.If(over):
        m.d.comb += [out.eq(hi), hit.eq(1)]
    with m.Elif(under):
        m.d.comb += [out.eq(lo), hit.eq(1)]
    with m.Else():
        m.d.comb += out.eq(v)
    return out, hit


def bit_length_hw(m, mag, *, name: str):
    """Signal = mag.bit_length() of an unsigned Value: a binary tree of (any-bit, index) pairs, depth
    ceil(log2(width)) 2:1 muxes (not a priority chain of width Ifs)."""
    n = len(mag)
    levels = max(1, (n - 1).bit_length())
    nodes = [(mag[i], Const(i, levels)) for i in range(n)]
    while len(nodes) > 1:
        nxt = []
        for i in range(0, len(nodes), 2):
            if i + 1 == len(nodes):
                nxt.append(nodes[i])
                continue
            (lo_any, lo_idx), (hi_any, hi_idx) = nodes[i], nodes[i + 1]
            nxt.append((lo_any | hi_any, Mux(hi_any, hi_idx, lo_idx)))
        nodes = nxt
    bl = Signal(range(n + 1), name=name)
    m.d.comb += bl.eq(Mux(nodes[0][0], nodes[0][1] + 1, 0))
    return bl


def fnorm_hw(m, v, e, *, width: int, ew: int, name: str, with_flag: bool = True):
    """(m_out signed(width), e_out signed(ew), flag) = FloatFormat(ew=ew).fnorm(v, e, width=width).

    v: signed Value of any width N (>= 2); e: signed Value. Combinational: the bit length
    (bit_length_hw), then fnorm_tail_hw.
    """
    mag = Signal(unsigned(len(v)), name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(v < 0, ~v, v))
    bl = bit_length_hw(m, mag, name=f"{name}_bl")
    return fnorm_tail_hw(m, v, e, bl, width=width, ew=ew, name=name, with_flag=with_flag)


def fnorm_tail_hw(m, v, e, bl, *, width: int, ew: int, name: str, with_flag: bool = True):
    """fnorm_hw given bl = bit length of the magnitude of v (v < 0: of ~v), e.g. from a pipeline register:
    the normalising shift and rounding, the rounding overflow and the exponent clamp."""
    n = len(v)
    emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
    sw = _bits_for(-(width - 1), n)
    s = Signal(signed(sw), name=f"{name}_s")
    m.d.comb += s.eq(bl - Const(width - 1, signed(sw)))
    r = rshift_round_hw(m, v, s, out_width=width + 1, max_left=width - 1, max_right=max(n - width + 1, 1),
                        name=f"{name}_r")
    ovf = Signal(name=f"{name}_ovf")
    m.d.comb += ovf.eq(~r[width] & r[width - 1] & ~r[:width - 1].any())     # r == 2**(width-1)
    ew_wide = max(len(e), ew) + sw + 2
    e_new = Signal(signed(ew_wide), name=f"{name}_e")
    m.d.comb += e_new.eq(e + s + ovf)
    m_out = Signal(signed(width), name=f"{name}_m")
    e_out = Signal(signed(ew), name=f"{name}_eo")
    flag = Signal(name=f"{name}_flag")
    set_flag = [flag.eq(1)] if with_flag else []
    with m.If(v == 0):
        m.d.comb += [m_out.eq(0), e_out.eq(0)]
    with m.Elif(e_new > emax):
        m.d.comb += [m_out.eq(Mux(v > 0, (1 << (width - 1)) - 1, -(1 << (width - 1)))), e_out.eq(emax)] + set_flag
    with m.Elif(e_new < emin):
        m.d.comb += [m_out.eq(0), e_out.eq(0)] + set_flag
    with m.Else():
        m.d.comb += [m_out.eq(Mux(ovf, 1 << (width - 2), r)), e_out.eq(e_new)]
    return m_out, e_out, (flag if with_flag else None)


#: Pipeline cuts of fnorm_pipe_hw, in pipeline order.
FNORM_CUTS = ("bl", "sh", "rnd")


def stage_hw(m, on: bool, name: str, sigs: dict) -> dict:
    """A pipeline boundary: with `on`, registered copies of the values in `sigs` (a register each, named
    name_key); without, `sigs` as they are (the boundary is a wire)."""
    if not on:
        return dict(sigs)
    out = {}
    for key, val in sigs.items():
        reg = Signal(val.shape(), name=f"{name}_{key}")
        m.d.sync += reg.eq(val)
        out[key] = reg
    return out


def fnorm_pipe_hw(m, v, e, *, width: int, ew: int, name: str, cuts=(), extra: dict | None = None,
                  with_flag: bool = True):
    """fnorm_hw with optional pipeline registers: (m_out, e_out, flag, extra_out), len(cuts) cycles after
    v, e (and the values of `extra`, carried along as extra_out).

    cuts, a subset of FNORM_CUTS, puts a register after
        "bl"   the bit length (leading-one tree); with "sh" or "rnd" also the shift amounts
        "sh"   the normalising shift (and, in parallel, e + s, e + s + 1 and their range compares)
        "rnd"  the round increment and its overflow
    so each stage has at most one short carry chain or one shifter. Without "sh" and "rnd" this is
    bit_length_hw, an optional register, fnorm_tail_hw (the logic of fnorm_hw).
    """
    cuts = set(cuts)
    if any(k.startswith("_") for k in extra or {}):
        raise ValueError("extra keys must not start with '_'")
    if not cuts <= set(FNORM_CUTS):
        raise ValueError(f"fnorm cuts must be a subset of {FNORM_CUTS}, not {sorted(cuts)}")
    extra = dict(extra or {})
    mag = Signal(unsigned(len(v)), name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(v < 0, ~v, v))
    bl = bit_length_hw(m, mag, name=f"{name}_bl")
    if not cuts & {"sh", "rnd"}:
        st = stage_hw(m, "bl" in cuts, f"{name}_pbl", {"_v": v, "_e": e, "_bl": bl, **extra})
        m_out, e_out, flag = fnorm_tail_hw(m, st["_v"], st["_e"], st["_bl"], width=width, ew=ew, name=name,
                                           with_flag=with_flag)
        return m_out, e_out, flag, {k: st[k] for k in extra}

    # Split form: the same arithmetic as fnorm_tail_hw / rshift_round_hw, bit for bit.
    n = len(v)
    emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
    sw = _bits_for(-(width - 1), n)
    s = Signal(signed(sw), name=f"{name}_s")
    m.d.comb += s.eq(bl - Const(width - 1, signed(sw)))
    max_right = max(n - width + 1, 1)
    r_amt = Signal(range(max(max_right, 1)), name=f"{name}_ra")
    l_amt = Signal(range(width), name=f"{name}_la")
    m.d.comb += [r_amt.eq(Mux(s > 0, s - 1, 0)), l_amt.eq(Mux(s < 0, -s, 0))]
    st = stage_hw(m, "bl" in cuts, f"{name}_pbl", {"_v": v, "_e": e, "_s": s, "_ra": r_amt, "_la": l_amt,
                                                   "_right": s > 0, "_left": s < 0, **extra})
    # shift: |v >> (bl - width)| < 2**width, |v << (width - 1 - bl)| < 2**(width-1)
    shw = width + 2
    sh = Signal(signed(shw), name=f"{name}_sh")
    with m.If(st["_right"]):
        m.d.comb += sh.eq(st["_v"] >> st["_ra"])
    with m.Elif(st["_left"]):
        m.d.comb += sh.eq(st["_v"] << st["_la"])
    with m.Else():
        m.d.comb += sh.eq(st["_v"])
    ew_wide = max(len(st["_e"]), sw) + 3
    e_s, e_s1 = Signal(signed(ew_wide), name=f"{name}_es"), Signal(signed(ew_wide), name=f"{name}_es1")
    m.d.comb += [e_s.eq(st["_e"] + st["_s"]), e_s1.eq(st["_e"] + st["_s"] + 1)]
    st = stage_hw(m, "sh" in cuts, f"{name}_psh", {
        "_sh": sh, "_right": st["_right"], "_es": e_s[:ew], "_es1": e_s1[:ew],
        "_hi0": e_s > emax, "_hi1": e_s1 > emax, "_lo0": e_s < emin, "_lo1": e_s1 < emin,
        "_zero": st["_v"] == 0, "_pos": st["_v"] > 0, **{k: st[k] for k in extra}})
    # round: (sh + 1) >> 1 for a right shift (the ties-up rule), else exact
    r = Signal(signed(width + 1), name=f"{name}_r")
    m.d.comb += r.eq(Mux(st["_right"], (st["_sh"] + 1) >> 1, st["_sh"]))
    ovf = Signal(name=f"{name}_ovf")
    m.d.comb += ovf.eq(~r[width] & r[width - 1] & ~r[:width - 1].any())     # r == 2**(width-1)
    keep = ("_es", "_es1", "_hi0", "_hi1", "_lo0", "_lo1", "_zero", "_pos")
    st = stage_hw(m, "rnd" in cuts, f"{name}_prnd", {"_r": r, "_ovf": ovf, **{k: st[k] for k in keep},
                                                    **{k: st[k] for k in extra}})
    m_out = Signal(signed(width), name=f"{name}_m")
    e_out = Signal(signed(ew), name=f"{name}_eo")
    flag = Signal(name=f"{name}_flag")
    set_flag = [flag.eq(1)] if with_flag else []
    ovf = st["_ovf"]
    with m.If(st["_zero"]):
        m.d.comb += [m_out.eq(0), e_out.eq(0)]
    with m.Elif(Mux(ovf, st["_hi1"], st["_hi0"])):
        m.d.comb += [m_out.eq(Mux(st["_pos"], (1 << (width - 1)) - 1, -(1 << (width - 1)))),
                     e_out.eq(emax)] + set_flag
    with m.Elif(Mux(ovf, st["_lo1"], st["_lo0"])):
        m.d.comb += [m_out.eq(0), e_out.eq(0)] + set_flag
    with m.Else():
        m.d.comb += [m_out.eq(Mux(ovf, 1 << (width - 2), st["_r"])), e_out.eq(Mux(ovf, st["_es1"], st["_es"]))]
    return m_out, e_out, (flag if with_flag else None), {k: st[k] for k in extra}
