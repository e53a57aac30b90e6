"""Set-up arithmetic of the crossbar update controller (hdl/controller/update_controller.py): the plan of one update.

From the loaded update (the OR of the |u_i| and of the |v_j|, |s_mant|, lr_exp + s_exp, the lr_mant and
bl registers, the mode) it computes what the slot train needs, as golden/rtl/update_controller.py PulseScheme.plan
does, bit for bit. It is a pipeline of registered steps, each one shifter, one carry chain or one
priority encoder deep (so the controller reaches the clock of the engine beside it), followed by a
radix-2 restoring divider (one trial subtraction per quotient bit):

  step 1 (`start`)  (the multiplier's input registers took lr_mant and |s_mant| on `latch`, the update's
                    first beat, and its output register holds their product since; esum = lr_exp +
                    s_exp comes in a register of the controller)
  step 2            prod = lr_mant * |s_mant| (one multiplier, SB_MAC16 / MULT18X18D, between its input
                    and output registers, hdl/controller/setup_multiplier.py: on the ECP5 the DSP's own
                    registers, as Yosys packs none into an inferred MULT18X18D; at the latest, with
                    `latch` in step 1); ku = bit_length(mu),
                    kv = bit_length(mv) (the bit length of an OR of magnitudes is that of their maximum;
                    mu and mv are read here, one cycle after `start`, when the controller's OR registers
                    hold the last beat too; the controller smears them right as it ORs, so they are
                    the lines' masks 2**ku - 1 and 2**kv - 1 P - 1 cycles later)
  step 3            sh = E + P - (P - 2F) = esum + ku + kv; `zero` (prod, ku or kv is 0)
  step 3b           prod into a fabric register already shifted by the low 2 bits of the window's right
                    shift rsh = B - sh (B = max(WPROD, WY)): prod_f = prod << ~lo, lo = (B - sh) mod 4
                    from sh's low bits alone (one 4:1 mux per bit, the DSP's output goes through nothing
                    else); hi = (B - sh) >> 2; left: sh > WY, right: sh < -WPROD (the window is empty:
                    Y = 0, the result is decided by big and frac, 0 or an overflow); the register flags
                    BL_ZERO, BL_POW2 (two or more bits in bl: an OR/AND tree, no bl - 1)
  step 4            the shift phase, HMAX + 1 = shift_cycles cycles (16 at the default widths): a register
                    S of Cat(0, prod_f) shifts right by 4 per cycle and is loaded in the phase's cycle
                    hi before its end, so at the end S = prod * 2**sh in a window whose WY = P + bl_width
                    + 2 low bits are Y = floor(prod * 2**sh); the bits shifted out below are ORed into a
                    sticky bit (one LUT per bit of S: a one-cycle shifter was a 16:1 mux per bit, and the
                    tests of big and frac two masked ORs, 250 LUT on the 8x8 controller)
  step 4b           big = prod * 2**sh >= 2**WY (S has a bit at or above WY, or `left`: any prod > 0 is
                    big, and prod = 0 is a zero update, skipped whatever its BL); frac = prod * 2**sh has
                    non-zero bits below 2**P (S below P, the sticky bit, or `right`)
  step 5            ceil(Ghat) = floor(Y / 2**P) + frac, saturated at 2**bl_width (`cap`; the
                    saturation and the zero test from Y and frac beside the adder); c1 = max(cap, 1);
                    the divider's operands: remainder Y >> (P+1), numerator bits Y mod 2**(P+1)
  step 6            c2 = c1, or in deterministic mode the power of two 2**bit_length(c1 - 1)
  step 7            BL = min(c2, bl) with BL management, else bl (and ~BL, for the divider's adder)
  step 8            OVERFLOW = cap > BL (unless another flag or a zero update); skip
  steps 8 .. 8+P    the divider, one quotient bit per cycle from the next bit of Y mod 2**(P+1) (x = 2 rem
                    + bit; bit = x >= BL: one carry chain and a mux deep): G = floor(Y / BL) (P + 1 bits; equal to
                    floor(prod * 2**(E+P) / BL) of the golden model because floor(floor(x/2**k)/n) =
                    floor(x/(n 2**k))). The deterministic ramps' parameter col_one = 2**(bl_width - 1 -
                    log2(BL)) is BL with its bits reversed (wires): BL is a power of two in
                    deterministic mode (else the update is flagged), the only mode that uses it (a
                    priority encoder for log2(BL), a shifter for col_one and the row ramp's shift
                    P + 1 - ku + log2(BL) were 35 logic cells on the iCE40UP5K 8x8 controller).

Timing: `start` is raised for one cycle (step 1); `skip` and the flags are valid from step 9
(`dividing` high) on; `last` is high in the settle cycle after the last divider step
(setup_cycles = 10 + shift_cycles + P cycles after `start`, start's cycle counted as 1: 42 at the
default widths), when G is already final (so the slot sequencer can register values computed from G in
that cycle). The inputs must be held from `start` to step 8. Without overflow Y < BL * 2**(P+1), so the
remainder fits bl_width bits (it is < BL).
History (issue 9): the divider was radix 4 (2 bits per cycle with three trial subtractions side by side,
9 + ceil((P+1)/2) cycles; its x - 3 BL compare and 4-way remainder mux were the controller's critical
path on the iCE40UP5K); then radix 2 with a one-cycle window shifter, 9 + P cycles; the serial shift of
step 4 and the bit lengths one step later made it 10 + shift_cycles + P (area: the iCE40UP5K 8x8
controller went from 2,813 to 2,584 logic cells with these and the slot sequencer's `whole` register).
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.layouts import STATUS_LAYOUT
from hdl.controller.setup_multiplier import SetupMultiplier, check_dsp


def _bit_length(m, x, name):
    """A comb signal holding the bit length of unsigned `x` (0 for 0): the index of the highest set bit of
    y = Cat(1, x) (x shifted up one, a 1 below it), in two flat levels: per group of 4 bits of y its OR and
    the index of its highest set bit (one LUT4 per bit), then the one-hot of the highest group with a set
    bit selects 4 g + that index (an AND-OR of the groups, no chain of muxes). Three LUT4 levels for 17
    bits (x of 16) on the iCE40, where the 4-ary tree of hdl/fixed_point.py lead_index_hw (32 bits after
    padding, a chain of three 4:1 selects per level) took six, after the OR of the controller's beat
    registers: pv -> kv was the 8x8 controller's critical path (20.7 ns, 48.4 MHz) once the window's
    shifter was split."""
    y = Cat(Const(1, 1), x)
    groups = [y[i:i + 4] for i in range(0, len(y), 4)]
    anys = [grp.any() for grp in groups]
    n = Signal(range(len(x) + 1), name=name)
    terms = []
    for g, grp in enumerate(groups):
        j = Const(0, 2)                                # index of the highest set bit within the group
        for i in range(1, len(grp)):
            j = Mux(grp[i], i, j)
        higher = Const(0, 1)
        for a in anys[g + 1:]:
            higher = higher | a
        sel = anys[g] & ~higher                        # group g holds the highest set bit of y
        terms.append(Mux(sel, Cat(j, Const(g, len(n))), 0))
    out = terms[0]
    for t in terms[1:]:
        out = out | t
    m.d.comb += n.eq(out)
    return n


def _signed_width(lo: int, hi: int) -> int:
    """Bits of the narrowest signed signal holding every integer in lo .. hi."""
    w = 1
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def _two_or_more(x):
    """x has at least two set bits (x > 0 and not a power of two), as an OR/AND tree of (any, two or more)
    pairs over groups of 4 bits: no carry chain (bl & (bl - 1) != 0 was bl -> err_pow2 at 22.0 ns on the
    iCE40UP5K with nextpnr seed 2)."""
    pairs = [(x[i:i + 4].any(), Cat(*(x[i + j] & x[i + k] for j in range(4) for k in range(j + 1, 4)
                                      if i + k < len(x))).any()) for i in range(0, len(x), 4)]
    any_, many = pairs[0]
    for a, mny in pairs[1:]:
        any_, many = any_ | a, many | mny | (any_ & a)
    return many


def _esum_range(c: ControllerConfig) -> tuple[int, int]:
    """The least and greatest lr_exp + s_exp."""
    return (-(1 << (c.lr_exp_width - 1)) - (1 << (c.exp_width - 1)),
            (1 << (c.lr_exp_width - 1)) - 1 + (1 << (c.exp_width - 1)) - 1)


def esum_width(c: ControllerConfig) -> int:
    """Bits of the signed sum lr_exp + s_exp (the set-up's `esum` port)."""
    return _signed_width(*_esum_range(c))


def shift_cycles(*, elem_width: int = 16, bl_width: int = 12, lr_width: int = 16, mant_width: int = 16) -> int:
    """Cycles of step 4's serial window shift: HMAX + 1, HMAX = (B + WPROD) >> 2 the largest shift by 4
    (WPROD = lr_width + mant_width - 1, B = max(WPROD, WY), WY = elem_width + bl_width + 2): 16 at the
    default widths."""
    wprod = lr_width + mant_width - 1
    return ((max(wprod, elem_width + bl_width + 2) + wprod) >> 2) + 1


def setup_cycles(elem_width: int = 16, *, bl_width: int = 12, lr_width: int = 16, mant_width: int = 16) -> int:
    """Cycles from `start` (counted as 1) to the `last` cycle: 9 plan steps (1, 2, 3, 3b, 4b, 5 .. 8; the
    8th also the divider's first step), step 4's shift phase of shift_cycles cycles, P more divider
    steps and one settle cycle (G is a register when the slot sequencer starts): 10 + 16 + P = 42 at
    the default widths."""
    return 10 + shift_cycles(elem_width=elem_width, bl_width=bl_width, lr_width=lr_width, mant_width=mant_width) \
        + elem_width


class ControllerSetup(wiring.Component):
    """Scale, BL and gate threshold of one update (see the module docstring), in setup_cycles(P) cycles.

    Parameters
    ----------
    cfg : ControllerConfig
        The controller's parameters (P = elem_width, F = P - 1, the register widths).
    dsp : str
        The multiplier's implementation (hdl/controller/setup_multiplier.py): "auto" (default: the
        MULT18X18D with its registers when elaborated for an ECP5 platform, else behavioural), "generic"
        or "ecp5" (for synth_ecp5 only: the Verilog then instantiates the primitive).

    Ports
    -----
    mu, mv : In(P)
        Any value with the bit length of max |u_i| (max |v_j|), zero iff all are zero, read in step 2
        (one cycle after `start`): the controller feeds its registers of the OR of the magnitudes.
    s_abs : In(mant_width)
        |s_mant| (unsigned), taken with lr_mant on `latch`.
    esum : In(signed(esum_width(cfg)))
        lr_exp + s_exp (the learning rate register lr = lr_mant * 2**lr_exp, s = s_mant * 2**s_exp):
        the controller adds them as it latches the update's first beat, so neither exponent needs a
        register of its own (10 logic cells, mostly flip-flops alone in theirs, on the iCE40UP5K 8x8 controller).
    lr_mant : In(lr_width)
        The learning rate register's mantissa, taken on `latch`.
    latch : In(1)
        The multiplier's input registers take lr_mant and s_abs at the next clock edge: the update's
        first beat (the controller samples its registers there), at the latest with `start`; held
        until the set-up's `last`.
    bl_n : In(bl_width)
        The bl register (BL, or its cap with BL management), inverted: the controller stores ~bl (free:
        its flip-flops take the port through a logic cell of their own anyway), so the carry chains of
        the two compares with bl read flip-flops, where inverters fed them (5 logic cells on the
        iCE40UP5K 8x8 controller).
    det, bl_mgmt : In(1)
        The mode bits (contract/layouts.py MODE_LAYOUT).
    protocol : In(1)
        The load stage saw a beat count or order against the stream contract (flagged, skipped).
    start : In(1)
        Step 1 (one cycle); the later steps follow by themselves.
    ku, kv : Out(range(P + 1))
        Bit lengths of max |u_i| and max |v_j| (from step 3 on).
    n_bl : Out(bl_width)
        The slot count BL of the update (from step 8 on).
    col_one : Out(bl_width)
        2**(bl_width - 1 - log2(BL)) (BL bit-reversed, a power of two in deterministic mode): the
        deterministic ramps are ((2 Z + col_one) << k) >> bl_width, Z = rev(t) (the bl_width-1 bit
        reversal) and k = kv for the columns, Z = t * col_one and k = ku for the rows (hdl/controller/
        slot_sequencer.py; from step 8 on).
    status : Out(STATUS_LAYOUT)
        The update's flags (bl_zero, bl_pow2, overflow, protocol), valid from step 7 until the next
        `start` (combinational from the registers they are decided in, so the controller's status
        register is their only copy: 4 flip-flops alone in their logic cells on the iCE40UP5K 8x8
        controller; `protocol` must be held until then too).
    skip : Out(1)
        Nothing is written: a flag is set or the update is zero (valid while `dividing`).
    dividing : Out(1)
        High in steps 9 .. 8 + P (the divider's steps after its first).
    last : Out(1)
        The settle cycle after the last divider step (a register).
    go : Out(1)
        `last` of an update that is not skipped (a register of its own: the slot train starts from it,
        with no decode of the controller's state in between).
    g : Out(P + 1)
        The gate threshold G (0 .. 2**P), valid from the `last` cycle until the next `start`.
    """

    def __init__(self, cfg: ControllerConfig, *, dsp: str = "auto"):
        self.cfg = c = cfg
        self.dsp = check_dsp(dsp)
        P = c.elem_width
        super().__init__({
            "mu": In(P), "mv": In(P), "s_abs": In(c.mant_width), "esum": In(signed(esum_width(c))),
            "lr_mant": In(c.lr_width), "latch": In(1),
            "bl_n": In(c.bl_width), "det": In(1), "bl_mgmt": In(1), "protocol": In(1),
            "start": In(1),
            "ku": Out(range(P + 1)), "kv": Out(range(P + 1)),
            "n_bl": Out(c.bl_width), "col_one": Out(c.bl_width),
            "status": Out(STATUS_LAYOUT), "skip": Out(1), "dividing": Out(1), "last": Out(1), "go": Out(1),
            "g": Out(P + 1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        P = c.elem_width
        F = P - 1
        BLW = c.bl_width
        WPROD = c.lr_width + c.mant_width - 1         # lr_mant * |s_mant| < 2**WPROD
        WY = P + BLW + 2                               # the window of floor(prod * 2**sh)
        # esum = lr_exp + s_exp and sh = esum + ku + kv leave out the constant K = P - 2F of E + P: K is
        # folded into the constants sh meets (B - sh and the clamps), where adding it to esum was a carry
        # chain of its own (with the overflow compare from c1 below: 25 logic cells on the iCE40UP5K 8x8
        # controller). sh exactly as wide as its range (lr_exp, s_exp at their extremes, ku, kv in 0 ..
        # P): each bit more was a flip-flop and a bit of three carry chains (sh's adder, B - sh, the clamps)
        K = P - 2 * F
        lo_e, hi_e = _esum_range(c)
        v = Signal(8)                                  # the step strobes: v[0] step 2, v[1] step 3, v[2] step
                                                       # 3b, v[3] step 4b, v[4] .. v[7] steps 5 .. 8
        shift_end = Signal()                           # the last cycle of step 4's shift phase

        # -- step 1 (and `latch`) ---------------------------------------------------------------------
        # The multiplier (hdl/controller/setup_multiplier.py) registers its operands on `latch` (the
        # update's first beat, at the latest step 1), its output register the product one edge later
        # (at the latest at the end of step 2). A factor is zero iff the product is (where the zero tests
        # of lr_mant and |s_mant| needed those operands in registers of their own).
        m.submodules.mul = mul = SetupMultiplier(c.lr_width, c.mant_width, WPROD, dsp=self.dsp)
        m.d.comb += [mul.a.eq(self.lr_mant), mul.b.eq(self.s_abs), mul.en.eq(self.latch)]
        prod = mul.p                                   # the multiplier's output register (step 2)
        zero = Signal()                                # a factor is zero (step 3)
        # -- step 2: the bit lengths, from mu and mv as they are one cycle after `start` (the controller
        # feeds its OR registers, which take the last beat's OR in the cycle of `start`: the OR and the
        # priority encoder behind it, pu -> ku in one cycle, was the 8x8 controller's critical path on the
        # iCE40UP5K, 23.3 ns) --------------------------------------------------------------------------------
        with m.If(v[0]):
            m.d.sync += [self.ku.eq(_bit_length(m, self.mu, "mu_len")), self.kv.eq(_bit_length(m, self.mv, "mv_len"))]
        # -- step 3 ----------------------------------------------------------------------------------
        # The register holds nsh = ~sh = -sh - 1 (the inversion folds into the adder's sum LUTs): B - sh is
        # then B + 1 + nsh, a carry chain that reads flip-flops, where an inverter per bit fed it (12 logic
        # cells with the clamps' compares on the iCE40UP5K 8x8 controller).
        nsh = Signal(signed(_signed_width(lo_e, hi_e + 2 * P)))
        with m.If(v[1]):                               # (mu = 0 iff ku = 0)
            m.d.sync += [nsh.eq(~(self.esum + self.ku + self.kv)),
                         zero.eq((prod == 0) | (self.ku == 0) | (self.kv == 0))]
        # -- step 3b: the window's shift, its low L bits ------------------------------------------------
        # Y = floor(prod * 2**sh) in WY bits is (Cat(0**B, prod) >> rsh)[:WY] with rsh = B - sh. The shift is
        # split: rsh = 2**L hi + lo, lo = (B - sh) mod 2**L from the low L bits of sh alone (no carry
        # chain), so step 3 shifts the product already, prod_f = prod << (2**L - 1 - lo) (one 2**L:1 mux
        # per bit; Cat(0**B, prod) >> lo = Cat(0**(B - 2**L + 1), prod_f)), and step 4 by 2**L hi, serially.
        # Beyond the clamps (sh < -WPROD: `right`, or sh > WY: `left`) the window is empty: step 4 holds
        # its register at 0 (Y = 0; a synchronous reset by the registered flags, not a mux on the path from
        # sh), and the flags decide: left, any prod > 0 is `big` (prod = 0 is a zero update, skipped
        # whatever its BL, so big = 1 there); right, prod * 2**sh is below 2**0, `frac`.
        B = max(WPROD, WY)
        L = 2                                          # B >= WY >= 5 > 2**L - 1: Cat(0**(B - 2**L + 1), ..) exists
        LM = (1 << L) - 1
        WPF = WPROD + LM                               # prod_f's width
        HMAX = (B + WPROD) >> L                        # the largest hi (rsh <= B + WPROD inside the clamps)
        assert HMAX + 1 == shift_cycles(elem_width=P, bl_width=BLW, lr_width=c.lr_width, mant_width=c.mant_width)
        lo = Signal(L)
        rsh = B - K + 1 + nsh                          # B - sh (sh without K, see above)
        m.d.comb += lo.eq(rsh[:L])
        hi = Signal(range(HMAX + 1))                   # floor(rsh / 2**L) (don't care outside the clamps)
        left, right = Signal(), Signal()
        prod_f = Signal(WPF)                           # prod << ~lo (step 3)
        err_bl0, err_pow2 = Signal(), Signal()
        bl = ~self.bl_n                                # (in LUT logic only: no carry chain reads bl)
        with m.If(v[2]):
            m.d.sync += [hi.eq(rsh[L:L + len(hi)]), left.eq(nsh < K - WY - 1), right.eq(nsh > WPROD + K - 1),
                         prod_f.eq(prod << ~lo), err_bl0.eq(~bl.any()),
                         err_pow2.eq(self.det & _two_or_more(bl))]
        # -- step 4: the rest of the shift, by 2**L per cycle in HMAX + 1 cycles -------------------------
        # A register S of the whole source Cat(0**(B - LM), prod_f) shifts right by 2**L in every cycle of
        # the phase (counter k = HMAX .. 0) and is loaded in the cycle k = hi, so after the phase's last
        # cycle S = source >> 2**L hi whatever hi: a constant number of cycles, one LUT (load or shift) per
        # bit, where the 16:1 mux per bit of a one-cycle shifter and its two masked tests cost 250 LUT on
        # the 8x8 controller (issue 9: the controller's area on the iCE40UP5K). The bits shifted out below
        # are ORed into `sticky` (reset by the load); then step 4b registers big = prod * 2**sh >= 2**WY
        # (a bit of S at or above WY, or `left`) and frac = prod * 2**sh has non-zero bits below 2**P
        # (S below P, sticky or `right`); Y = S[:WY] holds from then on.
        WS = B - LM + WPF
        S = Signal(WS)
        sticky = Signal()
        k = Signal(range(HMAX + 1))
        shifting = Signal()
        with m.If(v[2]):
            m.d.sync += [shifting.eq(1), k.eq(HMAX)]
        with m.If(shifting):
            m.d.sync += k.eq(k - 1)
            with m.If(k == 0):
                m.d.sync += shifting.eq(0)
            with m.If(left | right):                   # outside the clamps (hi may match no k)
                m.d.sync += [S.eq(0), sticky.eq(0)]
            with m.Elif(k == hi):
                m.d.sync += [S.eq(Cat(Const(0, B - LM), prod_f)), sticky.eq(0)]
            with m.Else():
                m.d.sync += [S.eq(S >> (1 << L)), sticky.eq(sticky | S[:1 << L].any())]
        Y = S[:WY]
        big = Signal()
        frac = Signal()
        m.d.comb += shift_end.eq(shifting & (k == 0))
        m.d.sync += v.eq(Cat(self.start, v[0], v[1], shift_end, v[3:-1]))
        with m.If(v[3]):
            m.d.sync += [big.eq(left | S[WY:].any()), frac.eq(right | sticky | S[:P].any())]
        # -- step 5: ceil(Ghat), saturated -----------------------------------------------------------
        # ceil_g = yh + frac; whether it exceeds 2**BLW or is 0 follows from yh and frac directly, in
        # parallel with the adder (one carry chain, then the saturating mux).
        yh = Y[P:]
        ceil_g = Signal(WY - P + 1)
        m.d.comb += ceil_g.eq(yh + frac)
        over = Signal()                                # ceil_g > 2**BLW
        m.d.comb += over.eq(big | (yh[BLW + 1:] != 0) | (yh[BLW] & ((yh[:BLW] != 0) | frac)))
        zero_g = Signal()
        m.d.comb += zero_g.eq((yh == 0) & ~frac)
        c1 = Signal(BLW + 1)
        c1m = Signal(BLW)                              # c1 - 1, beside c1 (step 6 needs no carry chain)
        ym1 = Signal(WY - P)
        m.d.comb += ym1.eq(yh - 1)
        with m.If(v[4]):
            m.d.sync += [c1.eq(Mux(over, 1 << BLW, Mux(zero_g, 1, ceil_g))),
                         c1m.eq(Mux(over, (1 << BLW) - 1, Mux(frac, yh, Mux(zero_g, 0, ym1))))]
        # -- step 6: power of two in deterministic mode ----------------------------------------------
        # 2**bit_length(c1 - 1) is the one-hot leading bit of c1 - 1 shifted up by one (1 for c1 - 1 = 0):
        # an OR prefix from the top and an AND per bit, no priority encoder and no shifter.
        above = [Const(0, 1)]                          # above[k]: a one in c1m[BLW - k:]
        for i in range(BLW - 1, -1, -1):
            above.append(above[-1] | c1m[i])
        lead = Cat(*[c1m[i] & ~above[BLW - 1 - i] for i in range(BLW)])
        pow2 = Signal(BLW + 1)
        m.d.comb += pow2.eq(Cat(~above[BLW], lead))
        c2 = Signal(BLW + 1)
        with m.If(v[5]):
            m.d.sync += c2.eq(Mux(self.det, pow2, c1))
        # -- step 7: BL, and ~BL for the divider's adder ----------------------------------------------
        n = self.n_bl
        n_next = Signal(BLW)
        nn = Signal(BLW + 2)                           # ~BL (zero-extended BL, inverted): x - BL = x + nn + 1
        # cap > BL (cap = the saturated ceil(Ghat)) for step 8's overflow flag is c1 > bl: where BL = c2 <
        # bl (BL management), cap <= c1 <= c2 < bl, so neither holds (c1 = max(cap, 1), c2 = c1 or a power
        # of two >= c1); else BL = bl, and c1 > bl is cap > bl for every bl >= 1 (bl = 0 is flagged BL_ZERO,
        # which masks the overflow flag), so no register of cap beside c1. One compare of registers,
        # formed in step 6 beside c2 (the compare with c2 and the select behind BL's own choice was the
        # 8x8 controller's critical path on the iCE40UP5K, bl -> cap_gt_n, 20.5 ns).
        # BL = min(c2, bl) needs no compare of its own: c2 > bl exactly when c1 > bl (cap_gt_n) in every
        # update that is not flagged (c2 = c1; or, in deterministic mode, c2 the least power of two >= c1
        # and bl a power of two: c2 > bl iff c1 > bl), and at c2 = bl either choice is BL. (The carry chain
        # of c2 < bl was 9 logic cells of carries alone on the iCE40UP5K 8x8 controller.)
        use_c2 = Signal()
        cap_gt_n = Signal()
        m.d.comb += [use_c2.eq(self.bl_mgmt & ~cap_gt_n), n_next.eq(Mux(use_c2, c2, bl))]
        with m.If(v[5]):                               # c1 > bl: the carry out of c1 + ~bl
            m.d.sync += cap_gt_n.eq((c1 + Cat(self.bl_n, Const(1, 1)))[BLW + 1])
        with m.If(v[6]):
            m.d.sync += [n.eq(n_next), nn.eq(~Cat(n_next, Const(0, 2)))]
        # -- steps 8 .. 8 + P: the divider (operands loaded in step 5); step 8 also the flags.
        # Radix 2, restoring: x = 2 rem + the next bit of Y mod 2**(P+1), MSB first (rem starts at
        # floor(Y / 2**(P+1)) < BL without overflow; an overflowing update is skipped, its G is never
        # used); bit = x >= BL, rem = bit ? x - BL : x. The subtraction is one adder x + ~BL + 1 of
        # registers (~BL registered with BL, the +1 a carry-in bit), so the remainder's path is one carry
        # chain and the remainder mux.
        rem = Signal(BLW)
        num = Signal(P + 1)                            # the numerator bits, MSB first; the quotient bits
                                                       # shift in behind them (no register of its own for G)
        cnt = Signal(range(P))
        err_ovf = Signal()
        m.d.comb += err_ovf.eq(~err_bl0 & ~err_pow2 & ~zero & cap_gt_n)
        with m.If(v[4]):
            m.d.sync += [rem.eq(Y[P + 1:]), num.eq(Y[:P + 1])]
        m.d.comb += [self.status.bl_zero.eq(err_bl0), self.status.bl_pow2.eq(err_pow2),
                     self.status.overflow.eq(err_ovf), self.status.protocol.eq(self.protocol)]
        with m.If(v[7]):
            m.d.sync += [
                self.skip.eq(err_bl0 | err_pow2 | err_ovf | self.protocol | zero),
                cnt.eq(P - 1), self.dividing.eq(1),
            ]
        m.d.comb += self.col_one.eq(Cat(*reversed(list(n))))
        x = Signal(BLW + 1)
        m.d.comb += x.eq(Cat(num[-1], rem))
        tsum = Signal(BLW + 3)                         # bit 0 only carries the +1 in
        m.d.comb += tsum.eq(Cat(Const(1, 1), x, Const(0, 1)) + Cat(Const(1, 1), nn))
        t = tsum[1:]                                   # x - BL in BLW + 2 bits (two's complement)
        ge = Signal()
        rem_next = Signal(BLW)
        m.d.comb += [ge.eq(~t[-1]), rem_next.eq(Mux(ge, t[:BLW], x[:BLW]))]
        settle = Signal()                              # the cycle after the last divider step: G is final
        m.d.comb += [self.last.eq(settle), self.g.eq(num)]
        m.d.sync += [settle.eq(self.dividing & (cnt == 0)), self.go.eq(self.dividing & (cnt == 0) & ~self.skip)]
        with m.If(v[7] | self.dividing):
            m.d.sync += [rem.eq(rem_next), num.eq(Cat(ge, num[:-1]))]
        with m.If(self.dividing):
            m.d.sync += cnt.eq(cnt - 1)
            with m.If(cnt == 0):
                m.d.sync += self.dividing.eq(0)
        with m.If(self.start):                         # a skipped update leaves the divider running
            m.d.sync += [self.dividing.eq(0), settle.eq(0), self.go.eq(0)]
        return m
