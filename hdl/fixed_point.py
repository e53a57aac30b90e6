"""Combinational generators for the fixed-point primitives of contract/fixed_point.py (bit-exact).

Each helper adds comb statements to a Module and returns the result signals:
    rshift_round_hw  -- the ONE rounding rule: round(v / 2**s), ties toward +inf; s <= 0 shifts left
                        (round_amt_hw / round_pre_hw / round_post: the same split over two stages)
    saturate_hw      -- clamp to a signed width, with a "clamped" bit (never wrap-around)
    gt_const_hw, lt_const_hw -- compares against a constant as AND/OR logic (no carry chain)
    fnorm_hw         -- exact integer * 2**e -> sfloat (m, e) with the exponent clamp of FloatFormat.fnorm
                        (fnorm_pipe_hw without registers)
    fnorm_pipe_hw    -- leading-bit index tree (lead_index_hw), normalising left shift by that index, round,
                        clamp; optional registers after the index, the shift, the rounding
    fnorm_multi_pipe_hw -- the same to several widths at once (one tree and one shift, a rounding each)
    stage_hw         -- a pipeline boundary: registered copies of some values, or the values themselves

The rounding uses floor((floor(v / 2**(s-1)) + 1) / 2) == floor(v / 2**s + 1/2), so no variable-width
"half" constant is needed.
"""
from __future__ import annotations

from amaranth import Cat, Const, Mux, Signal, signed


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


def gt_const_hw(x, k: int, *, equal: bool = False):
    """x > k (x >= k with `equal`) for a Value x (signed or unsigned) and an integer constant k, as AND/OR
    logic over x's bits (no $gt cell, so no carry chain: on the iCE40 a compare's carry chain takes a logic
    cell per bit, its LUT4 tree about one per three bits; the tree is deeper, so the compact builds use it).

    From the least significant bit up, g_i = (x[i:0] > k[i:0]): k_i = 1: x_i & g_(i-1); k_i = 0: x_i | g_(i-1);
    g_(-1) = `equal`. A signed x compares as x + 2**(n-1) (its sign bit flipped) against k + 2**(n-1)."""
    n = len(x)
    signed_ = x.shape().signed
    lo, hi = (-(1 << (n - 1)), (1 << (n - 1)) - 1) if signed_ else (0, (1 << n) - 1)
    t = k if equal else k + 1                      # x > k <=> x >= t
    if t > hi:
        return Const(0, 1)
    if t <= lo:
        return Const(1, 1)
    ku = k + (1 << (n - 1)) if signed_ else k
    bits = [x[i] for i in range(n)]
    if signed_:
        bits[n - 1] = ~x[n - 1]
    g = Const(1 if equal else 0, 1)
    for i in range(n):
        g = (bits[i] & g) if (ku >> i) & 1 else (bits[i] | g)
    return g


def lt_const_hw(x, k: int, *, equal: bool = False):
    """x < k (x <= k with `equal`): the complement of gt_const_hw (no carry chain)."""
    return ~gt_const_hw(x, k, equal=not equal)


def lead_index_hw(m, bits, *, name: str):
    """Signal = index of the highest set bit of `bits` (0 if none), an unsigned Value whose width is a power
    of two: a 4-ary tree of (any-bit, index) pairs, log4(width) levels, each an OR of four and a 4:1 select
    (not a priority chain of width Ifs). The index bits come out of the tree directly: a shifter can take
    them as its amount with no adder in between (fnorm_pipe_hw)."""
    n = len(bits)
    if n & (n - 1) or n < 2:
        raise ValueError(f"lead_index_hw needs a power-of-two width >= 2, not {n}")
    nodes = [(bits[i], None) for i in range(n)]      # (any, index within the node's group)
    while len(nodes) > 1:
        fan = 4 if len(nodes) % 4 == 0 else 2
        hb = fan.bit_length() - 1                   # index bits this level adds
        nxt = []
        for i in range(0, len(nodes), fan):
            grp = nodes[i:i + fan]
            anys = [g[0] for g in grp]
            # the highest child with a set bit: its number (hb bits) above its own index
            low = lambda g: () if g[1] is None else (g[1],)        # noqa: E731
            idx = Cat(*low(grp[0]), Const(0, hb))
            for j in range(1, fan):
                idx = Mux(anys[j], Cat(*low(grp[j]), Const(j, hb)), idx)
            any_ = anys[0]
            for a in anys[1:]:
                any_ = any_ | a
            nxt.append((any_, idx))
        nodes = nxt
    out = Signal((n - 1).bit_length(), name=name)
    m.d.comb += out.eq(nodes[0][1])
    return out


def fnorm_hw(m, v, e, *, width: int, ew: int, name: str, with_flag: bool = True):
    """(m_out signed(width), e_out signed(ew), flag) = FloatFormat(ew=ew).fnorm(v, e, width=width).

    v: signed Value of any width N (>= 2); e: signed Value. Combinational (fnorm_pipe_hw without cuts).
    """
    m_out, e_out, flag, _ = fnorm_pipe_hw(m, v, e, width=width, ew=ew, name=name, with_flag=with_flag)
    return m_out, e_out, flag


#: Pipeline cuts of fnorm_pipe_hw, in pipeline order.
FNORM_CUTS = ("bl", "sh", "rnd")
#: The cuts of its compact form only (fnorm_multi_pipe_hw: "pre" before "bl", "rng" between "sh" and "rnd").
FNORM_COMPACT_CUTS = ("pre", "rng")


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
                  with_flag: bool = True, compact: bool = False, force=None, force_out=None):
    """fnorm_hw with optional pipeline registers: (m_out, e_out, flag, extra_out), len(cuts) cycles after
    v, e (and the values of `extra`, carried along as extra_out). fnorm_multi_pipe_hw with one width."""
    (res,), extra_out = fnorm_multi_pipe_hw(m, v, e, widths=(width,), ew=ew, names=(name,), cuts=cuts,
                                            extra=extra, with_flag=with_flag, compact=compact, force=force,
                                            force_out=force_out)
    return (*res, extra_out)


def fnorm_multi_pipe_hw(m, v, e, *, widths, ew: int, names, cuts=(), extra: dict | None = None,
                        with_flag: bool = True, compact: bool = False, normalised: bool = False, force=None,
                        force_out=None):
    """FloatFormat.fnorm of one value v * 2**e to several mantissa widths at once, sharing the
    leading-bit tree and the normalising shift (each width only rounds and clamps its own top bits):
    ([(m_out, e_out, flag) per width], extra_out), len(cuts) cycles after v, e. names[0] names the
    shared signals.

    A left-normalising form of FloatFormat.fnorm, bit-exact with it: v (N bits) is padded with zeros on
    the right to P = 2**k >= max(N, W+1) bits (W the widest result), vp = v * 2**(P-N); z = the number of
    sign copies below vp's sign bit (from the index i of the highest bit of the magnitude vp ^ sign over
    bits 0..P-2, with a virtual 1 below them: z = P - 1 - i = ~i, the index bits inverted, no adder);
    then vp << z has its leading magnitude bit right below the sign, and fnorm's rshift_round(v, s) with
    s = bitlen - (width-1) is the constant-distance rshift_round(vp << z, P - width) = (x + 1) >> 1 of the
    top width+1 bits x; the exponent is e + s = e - (P - N) + 1 - width + i. The rounding overflows (to
    2**(width-1)) exactly for x = 0b011..1: x >= 0 and the increment carries into bit width (the
    rounding's own carry chain). Without compact, the other results (zero, the exponent clamps) are selected
    from registers for both outcomes of that overflow, beside the round's carry chain, so that only the
    overflow selects after it.

    cuts, a subset of FNORM_CUTS, puts a register after
        "pre"  (compact only) the first halving step (the widest)
        "bl"   the leading-bit index tree (and, in parallel, the exponent plus its constants)
        "sh"   the normalising shift (and, in parallel, e + s, e + s + 1 and their range compares)
        "rng"  (compact only) the range compares of the exponent e + s (after "sh", before the round and
               the special results that they select: the UP5K engine's in8 scalar unit at ALU latency 10,
               whose conversions have delay stages to spare, had sh -> compare -> special -> rnd as its
               worst path, 21.3 ns, six LUT levels)
        "rnd"  the round increment and its overflow
    so each stage has at most one carry chain or one shifter.

    compact (the iCE40 builds: fewer logic cells, longer paths): the normalising shift in k halving steps
    before "bl", each deciding its bit of z from the top bits it shifted (no index tree, no separate
    shifter; "bl" then holds the top W+1 bits); with both "bl" and "sh" the steps by 2**j, j < k // 2, move
    after "bl" ("bl" holds W + 2**(k//2) bits and the index's top bits: at k = 5 the 15 LUT levels of one
    stage become 9 + 6; the UP5K engine at ALU latency 8: 20.8 -> 30.8 MHz, 15 LC fewer); one exponent adder for all
    widths instead of four per width, (e + 1 - W0 - pad) + i, the constant added before "bl" and the
    index after the tree (W0 = widths[0]); the range compares of e + s and e + s + 1 against the exponent
    limits as gt_const_hw/lt_const_hw logic (no carry chains), after "sh" (beside the round's carry
    chain); the rounding's exponent increment as a carry-in after the round, (e + s)[:ew] + d + ovf.
    Bit-exact with the default.

    normalised (with compact): v is 0 or has at most one sign copy below its sign bit (an sfloat register's
    mantissa: normalised, or fnorm's one unnormalised result -2**(N-2)); the normaliser is the last
    halving step only (shift by 0 or 1). Other values give wrong results.

    force: None, or (cond, m, e) given with v and e: where cond, the result is (m, e) (m cut to each width)
    with no flag instead (a caller's own results, e.g. the ALU's zero and pass-through, selected with the
    clamps beside the round rather than after it).
    force_out: the same, (cond, m, e) given in the cycle of the results (combinational into them; the
    scalar unit's register-file reset values): selected with the other results before the rounding
    overflow's select, not after it. Not with compact.
    """
    widths, names = tuple(widths), tuple(names)
    if not widths or len(widths) != len(names):
        raise ValueError("fnorm_multi_pipe_hw needs one name per width and at least one width")
    cuts = set(cuts)
    if any(k.startswith("_") for k in extra or {}):
        raise ValueError("extra keys must not start with '_'")
    if normalised and not compact:
        raise ValueError("fnorm_multi_pipe_hw: normalised needs compact")
    if not cuts <= set(FNORM_CUTS) | set(FNORM_COMPACT_CUTS):
        raise ValueError(f"fnorm cuts must be a subset of {FNORM_CUTS} (and {FNORM_COMPACT_CUTS}, compact), "
                         f"not {sorted(cuts)}")
    for cut in FNORM_COMPACT_CUTS:
        if cut in cuts and not compact:
            raise ValueError(f"fnorm_multi_pipe_hw: cut {cut!r} needs compact")
    extra = dict(extra or {})
    if force_out is not None and compact:
        raise ValueError("fnorm_multi_pipe_hw: force_out needs compact=False")
    if force is not None:
        extra.update({"_fc": force[0], "_fm": force[1], "_fe": force[2]})
    name, W = names[0], max(widths)
    n = len(v)
    # P >= W + 1: the rounding step takes the top width+1 bits (v may be no wider than the result)
    k = max(1, (max(n, W + 1) - 1).bit_length())
    P = 1 << k
    pad = P - n
    emax, emin = (1 << (ew - 1)) - 1, -(1 << (ew - 1))
    vp = Signal(signed(P), name=f"{name}_vp")
    m.d.comb += vp.eq(Cat(Const(0, pad), v) if pad else v)
    sign = v[n - 1]
    # compact with both "bl" and "sh": the halving steps j >= k // 2 (the wide sign-copy tests) before
    # "bl", the others after it, so neither stage holds the whole normaliser (iCE40: ~13 LUT levels)
    late = range(k // 2) if compact and {"bl", "sh"} <= cuts else range(0)

    def sign_copies(x, sh):
        top = x[len(x) - 1 - sh:]
        return ~(top[:-1] ^ top[-1].replicate(sh)).any()

    def halving_steps(x, zb, js):
        # normalised by halving steps: shift by 2**j when the top 2**j + 1 bits are sign copies (the
        # count of sign copies below the sign bit, z, bit by bit from the top; = ~i of the tree below),
        # each step keeping only the bits the later steps can bring into the top W+1.
        # In pairs: the second step's test is made on both outcomes of the first (shifted or not: wires)
        # and selected by it, so the two tests run side by side (iCE40: 2 LUT levels fewer per pair).
        prev = None                                 # the previous step's two outcomes and its select
        for j in js:
            sh = 1 << j
            if normalised and j:
                zb, prev = [Const(0, 1)] + zb, None
                continue
            t = Signal(name=f"{name}_z{j}")
            if prev is None:
                m.d.comb += t.eq(sign_copies(x, sh))
            else:
                m.d.comb += t.eq(Mux(prev[2], sign_copies(prev[0], sh), sign_copies(prev[1], sh)))
            keep = min(len(x), W + 1 + sh - 1)
            shifted, kept = (x << sh)[len(x) - keep:len(x)], x[len(x) - keep:len(x)]
            nx = Signal(signed(keep), name=f"{name}_n{j}")
            m.d.comb += nx.eq(Mux(t, shifted, kept))
            x, zb = nx, [t] + zb
            prev = (shifted, kept, t) if prev is None else None
        return x, zb

    zero = Signal(name=f"{name}_zero")
    m.d.comb += zero.eq(v == 0)
    if compact:
        early = [j for j in reversed(range(k)) if j not in late]
        x, zb = halving_steps(vp, [], early[:1] if "pre" in cuts else [])
        if "pre" in cuts:
            # the first (widest) step before its own register
            pst = stage_hw(m, True, f"{name}_ppre", {"_x": x, **{f"_t{i}": t for i, t in enumerate(zb)}, "_e": e, "_zero": zero, "_neg": sign,
                                                     **extra})
            x, zb, e, zero, sign = pst["_x"], [pst[f"_t{i}"] for i in range(len(zb))], pst["_e"], pst["_zero"], pst["_neg"]
            extra = {key: pst[key] for key in extra}
            early = early[1:]
        x, zb = halving_steps(x, zb, early)
        lead = Signal(k - len(late), name=f"{name}_i")
        m.d.comb += lead.eq(~Cat(*zb))             # the index's top bits (all of it without `late`)
        vp = x                                      # the top W+1 bits, normalised (without `late`)
    else:
        mag = Signal(P - 1, name=f"{name}_mag")
        m.d.comb += mag.eq(vp[:P - 1] ^ sign.replicate(P - 1))
        lead = lead_index_hw(m, Cat(Const(1, 1), mag[:P - 1]), name=f"{name}_i")
    # per width: e + s = (e + 1 - width - pad) + i
    xw = max(len(e), k + 1) + 3
    ecs = {}
    for w, nm in zip(widths, names) if not compact else ():
        ec0, ec1 = Signal(signed(xw), name=f"{nm}_ec0"), Signal(signed(xw), name=f"{nm}_ec1")
        m.d.comb += [ec0.eq(e + (1 - w - pad)), ec1.eq(e + (2 - w - pad))]
        ecs[f"_ec0{nm}"], ecs[f"_ec1{nm}"] = ec0, ec1
    if compact:
        # e + s of widths[0] = (e + c0) + i: the constant added before "bl" (e is there already), so that
        # after the index only one add remains
        c0 = 1 - widths[0] - pad
        ec = Signal(signed(xw), name=f"{name}_ec")
        m.d.comb += ec.eq(e + c0)
        ecs["_e"] = ec
    st = stage_hw(m, "bl" in cuts, f"{name}_pbl", {"_vp": vp, "_i": lead, **ecs, "_zero": zero, "_neg": sign,
                                                   **extra})
    # the normalising shift: only the top W+1 bits are kept
    xt = Signal(signed(W + 1), name=f"{name}_xt")
    base_late = None
    if compact and late:
        x, zb = halving_steps(st["_vp"], [], list(reversed(late)))
        m.d.comb += xt.eq(x)
    if compact and len(late) > 2:
        i_full = Signal(k, name=f"{name}_if")
        m.d.comb += i_full.eq(Cat(~Cat(*zb), st["_i"]))
        st = {**st, "_i": i_full}
    elif compact and late:
        # e + s = (e + c0) + i with i = (top << nl) + lb, lb = ~zb the index's low bits from the halving
        # steps just made: the carry of lb into e's bit nl selects (one LUT) between e's upper part plus
        # the top bits and that plus one, both added beside the steps (from registers; kept as nets), so
        # the late bits meet no carry chain (with one add after the steps, the UP5K engine's path
        # pbl -> base was 24.0 ns, its worst). nl <= 2 (k <= 5; above, the one add): the carry is a
        # LUT of e's and lb's bits.
        nl = len(late)
        e_, top = st["_e"], st["_i"]
        lb = ~Cat(*zb)
        up0 = Signal(signed(xw + 1 - nl), name=f"{name}_eu0", attrs={"keep": 1})
        up1 = Signal(signed(xw + 1 - nl), name=f"{name}_eu1", attrs={"keep": 1})
        m.d.comb += [up0.eq(e_[nl:].as_signed() + top), up1.eq(e_[nl:].as_signed() - ~Cat(top, 0).as_signed())]
        if nl == 1:
            low, carry = e_[0] ^ lb[0], e_[0] & lb[0]
        else:
            c0 = e_[0] & lb[0]
            low = Cat(e_[0] ^ lb[0], e_[1] ^ lb[1] ^ c0)
            carry = (e_[1] & lb[1]) | ((e_[1] ^ lb[1]) & c0)
        base_late = Signal(signed(xw + 1), name=f"{name}_es")
        m.d.comb += base_late.eq(Cat(low, Mux(carry, up1, up0)))
    elif compact:
        m.d.comb += xt.eq(st["_vp"])
    else:
        z = Signal(k, name=f"{name}_z")
        m.d.comb += z.eq(~st["_i"])
        m.d.comb += xt.eq((st["_vp"] << z)[P - W - 1:P])
    shifted = {}
    if compact:
        # e + s of widths[0]: one add of the index (its range compares after "sh", beside the round)
        if base_late is None:
            base = Signal(signed(xw + 1), name=f"{name}_es")
            m.d.comb += base.eq(st["_e"] + st["_i"])
        else:
            base = base_late
        shifted["_base"] = base
    for w, nm in zip(widths, names):
        x = Signal(signed(w + 1), name=f"{nm}_x")
        m.d.comb += x.eq(xt[W - w:])
        if compact:
            shifted[f"_x{nm}"] = x
            continue
        e_s, e_s1 = Signal(signed(xw + 1), name=f"{nm}_es"), Signal(signed(xw + 1), name=f"{nm}_es1")
        m.d.comb += [e_s.eq(st[f"_ec0{nm}"] + st["_i"]), e_s1.eq(st[f"_ec1{nm}"] + st["_i"])]
        shifted.update({f"_x{nm}": x, f"_es{nm}": e_s[:ew], f"_es1{nm}": e_s1[:ew],
                        f"_hi0{nm}": e_s > emax, f"_hi1{nm}": e_s1 > emax,
                        f"_lo0{nm}": e_s < emin, f"_lo1{nm}": e_s1 < emin})
    if not compact:
        # The special results' values, selected here (beside the shift, before cut "sh"): `force`'s (m, e)
        # where fc, else 0 for zero, else the saturated +-max at emax (taken where the exponent is above the
        # range); "_fcz": force or zero. After the round only the range compares choose between these, 0
        # and the rounded value: with the choices of force and zero made after the last cut, the register
        # of fc -> force/zero -> above-range gate -> special mantissa -> select against r -> overflow's
        # select were five LUT levels into the register file's write port (the L=4 ECP5 engine's worst
        # path, 119.4 MHz).
        fc = st["_fc"] if force is not None else Const(0, 1)
        shifted["_fcz"] = st["_zero"] | fc
        for w, nm in zip(widths, names):
            qm, qe = Signal(signed(w), name=f"{nm}_qm"), Signal(signed(ew), name=f"{nm}_qe")
            m.d.comb += [qm.eq(Mux(st["_zero"], 0, Mux(st["_neg"], -(1 << (w - 1)), (1 << (w - 1)) - 1))),
                         qe.eq(Mux(st["_zero"], 0, emax))]
            if force is not None:
                fqm, fqe = Signal(signed(w), name=f"{nm}_fqm"), Signal(signed(ew), name=f"{nm}_fqe")
                m.d.comb += [fqm.eq(Mux(fc, st["_fm"][:w].as_signed(), qm)), fqe.eq(Mux(fc, st["_fe"], qe))]
                qm, qe = fqm, fqe
            shifted[f"_qm{nm}"], shifted[f"_qe{nm}"] = qm, qe
        # force is used up: not carried further
        extra = {key: val for key, val in extra.items() if key not in ("_fc", "_fm", "_fe")}
    # (not compact: zero and the sign are used up in the special results above, not carried further)
    st = stage_hw(m, "sh" in cuts, f"{name}_psh", {**shifted, **({"_zero": st["_zero"], "_neg": st["_neg"]} if compact else {}),
                                                   **{key: st[key] for key in extra}})
    if compact:
        # e + s of each width = base + d (+ 1 on a rounding overflow) and its range compares, as logic
        base = st["_base"]
        for w, nm in zip(widths, names):
            d = widths[0] - w
            st.update({f"_es{nm}": base[:ew],
                       f"_hi0{nm}": gt_const_hw(base, emax - d), f"_hi1{nm}": gt_const_hw(base, emax - d - 1),
                       f"_lo0{nm}": lt_const_hw(base, emin - d), f"_lo1{nm}": lt_const_hw(base, emin - d - 1)})
        # with "rng": the compares registered before the special results they select (base is used up)
        st = stage_hw(m, "rng" in cuts, f"{name}_prng", {key: val for key, val in st.items() if key != "_base"})
    def compact_specials(w, nm, st):
        """compact: for each outcome b of the rounding overflow, selected beside the round's carry chain
        (before cut "rnd"): whether the result is a special one (`_sp{b}`: force, zero, the exponent out of
        range), its value (`_sm{b}`, `_se{b}`), its flag (`_fl{b}`), and the exponent of a rounded result
        (`_e{b}` = e + s + b). After the round only the overflow selects: with zero, the range compares,
        the exponent's carry-in and the ALU's zero and pass-through results after "rnd", the UP5K engine's
        path from the overflow register into the register file's write data was seven LUT levels
        (24.2 ns)."""
        d = widths[0] - w
        zero_, neg_ = st["_zero"], st["_neg"]
        fc = st["_fc"] if force is not None else Const(0, 1)
        out = {}
        for b in (0, 1):
            hi, lo = st[f"_hi{b}{nm}"], st[f"_lo{b}{nm}"]
            sm, se = Signal(signed(w), name=f"{nm}_sm{b}"), Signal(signed(ew), name=f"{nm}_se{b}")
            e_b = Signal(signed(ew), name=f"{nm}_e{b}")
            m.d.comb += [sm.eq(Mux(fc, st["_fm"][:w].as_signed() if force is not None else 0,
                                   Mux(zero_ | ~hi, 0, Mux(neg_, -(1 << (w - 1)), (1 << (w - 1)) - 1)))),
                         se.eq(Mux(fc, st["_fe"] if force is not None else 0, Mux(zero_ | ~hi, 0, emax))),
                         e_b.eq(st[f"_es{nm}"] + (d + b))]
            out.update({f"_sp{b}{nm}": fc | zero_ | hi | lo, f"_sm{b}{nm}": sm, f"_se{b}{nm}": se,
                        f"_fl{b}{nm}": ~fc & ~zero_ & (hi | lo), f"_e{b}{nm}": e_b})
        return out

    # round: (x + 1) >> 1, ties up; overflow iff x = 0b011..1
    rounded = {}
    for w, nm in zip(widths, names):
        x = st[f"_x{nm}"]
        r = Signal(signed(w + 1), name=f"{nm}_r")
        m.d.comb += r.eq((x + 1) >> 1)
        # x = 0b011..1 exactly when x + 1 carries into bit w of a non-negative x: the round's own carry
        # chain (r[w-1]) rather than a tree of LUTs over x's bits beside it (its depth, with the selects
        # after it, was the ECP5's worst path of the scalar unit's ALU)
        ovf = Signal(name=f"{nm}_ovf")
        m.d.comb += ovf.eq(~x[w] & r[w - 1])
        if compact:
            rounded.update({f"_r{nm}": r, f"_ovf{nm}": ovf, **compact_specials(w, nm, st)})
            continue
        keys = ("_es", "_hi0", "_hi1", "_lo0", "_lo1", "_es1", "_qm", "_qe")
        rounded.update({f"_r{nm}": r, f"_ovf{nm}": ovf, **{f"{key}{nm}": st[f"{key}{nm}"] for key in keys}})
    if compact:
        # force is used up: not carried further
        extra = {key: val for key, val in extra.items() if key not in ("_fc", "_fm", "_fe")}
    if not compact:
        rounded["_fcz"] = st["_fcz"]
    st = stage_hw(m, "rnd" in cuts, f"{name}_prnd", {**rounded, **{key: st[key] for key in extra}})
    results = []
    for w, nm in zip(widths, names):
        m_out = Signal(signed(w), name=f"{nm}_m")
        e_out = Signal(signed(ew), name=f"{nm}_eo")
        flag = Signal(name=f"{nm}_flag")
        set_flag = [flag.eq(1)] if with_flag else []
        ovf = st[f"_ovf{nm}"]
        if not compact:
            # The result for each outcome b of the rounding overflow ovf, from registers (beside the round's
            # carry chain, except for r itself), so that after that chain only ovf selects: not (r, e + s)
            # (sp_b) for zero, the exponent out of range (above: +-max at emax, flagged; below: 0, flagged)
            # or `force`; with ovf (2**(width-2), e + s + 1) unless sp_1.
            # (force or zero: the special value _qm, _qe; else above the range: the same, the saturated
            # value; below: 0)
            fcz = st["_fcz"]
            alt = {}
            for b in (0, 1):
                hi, lo = st[f"_hi{b}{nm}"], st[f"_lo{b}{nm}"]
                sm_b = Mux(fcz | hi, st[f"_qm{nm}"], 0)
                se_b = Mux(fcz | hi, st[f"_qe{nm}"], 0)
                sp_b = fcz | hi | lo
                fl_b = ~fcz & (hi | lo)
                if force_out is not None:
                    sm_b = Mux(force_out[0], force_out[1][:w].as_signed(), sm_b)
                    se_b = Mux(force_out[0], force_out[2], se_b)
                    sp_b, fl_b = sp_b | force_out[0], ~force_out[0] & fl_b
                # The special result (sq, its select sp) from registers and force_out only, and the round's
                # result r selected against it in one LUT (am0): r, off the round's carry chain, then passes
                # two LUT levels (am0, the overflow's select) to the write port, not three. All kept as nets
                # of their own (Yosys `keep`): ABC, which knows no arrival times, would otherwise merge the
                # early selects with the late ones and put LUT levels after the carry chain.
                sp = Signal(name=f"{nm}_sp{b}", attrs={"keep": 1})
                sq = Signal(signed(w), name=f"{nm}_sq{b}", attrs={"keep": 1})
                am = Signal(signed(w), name=f"{nm}_am{b}", attrs={"keep": 1})
                ae = Signal(signed(ew), name=f"{nm}_ae{b}", attrs={"keep": 1})
                m.d.comb += [sp.eq(sp_b), sq.eq(sm_b),
                             am.eq(Mux(sp, sq, st[f"_r{nm}"] if b == 0 else 1 << (w - 2))),
                             ae.eq(Mux(sp_b, se_b, st[f"_es{nm}" if b == 0 else f"_es1{nm}"]))]
                alt[b] = (am, ae, fl_b)
            m.d.comb += [m_out.eq(Mux(ovf, alt[1][0], alt[0][0])), e_out.eq(Mux(ovf, alt[1][1], alt[0][1]))]
            if with_flag:
                m.d.comb += flag.eq(Mux(ovf, alt[1][2], alt[0][2]))
            results.append((m_out, e_out, flag if with_flag else None))
            continue
        # compact: the special result or the rounded one for each overflow outcome (kept as nets, like
        # the full form's: see there), then the overflow selects
        alt = {}
        for b in (0, 1):
            sp = st[f"_sp{b}{nm}"]
            am = Signal(signed(w), name=f"{nm}_am{b}", attrs={"keep": 1})
            ae = Signal(signed(ew), name=f"{nm}_ae{b}", attrs={"keep": 1})
            m.d.comb += [am.eq(Mux(sp, st[f"_sm{b}{nm}"], st[f"_r{nm}"] if b == 0 else 1 << (w - 2))),
                         ae.eq(Mux(sp, st[f"_se{b}{nm}"], st[f"_e{b}{nm}"]))]
            alt[b] = (am, ae, st[f"_fl{b}{nm}"])
        m.d.comb += [m_out.eq(Mux(ovf, alt[1][0], alt[0][0])), e_out.eq(Mux(ovf, alt[1][1], alt[0][1]))]
        if with_flag:
            m.d.comb += flag.eq(Mux(ovf, alt[1][2], alt[0][2]))
        results.append((m_out, e_out, flag if with_flag else None))
    return results, {key: st[key] for key in extra if not key.startswith("_")}
