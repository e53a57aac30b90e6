"""Set-up arithmetic of the crossbar update controller (hdl/controller/update_controller.py): the plan of one update.

From the loaded update (max |u_i|, max |v_j|, s, the lr and bl registers, the mode) it computes what the
slot train needs, as golden/rtl/update_controller.py PulseScheme.plan does, bit for bit:

* stage 1 (`scale`): ku = bit_length(max |u_i|), kv = bit_length(max |v_j|), prod = lr_mant * |s_mant|, and
  whether the update is zero;
* stage 2 (`plan`): E = lr_exp + s_exp + ku + kv - 2F, clamped to the range where the result is decided;
  ceil(Ghat) = ceil(prod * 2**E); the slot count BL (with BL management: min(max(ceil(Ghat), 1), bl), rounded
  up to a power of two in deterministic mode); log2(BL); the register flags; and the operands of the
  divider, prod * 2**(E + P) and BL, aligned;
* stage 3 (`step`, P + 1 times): a restoring divider, one quotient bit per step, giving the gate threshold
  G = floor(prod * 2**(E + P) / BL), P + 1 bits.

The controller's FSM sequences the stages (one cycle each for stages 1 and 2, P + 1 cycles for the
divider); the inputs must be held from `scale` to the last `step`.
"""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.controller_config import ControllerConfig
from contract.layouts import STATUS_LAYOUT


def _bit_length(m, x, name):
    """A comb signal holding the bit length of unsigned `x` (0 for 0)."""
    n = Signal(range(len(x) + 1), name=name)
    for k in range(len(x)):
        with m.If(x[k]):
            m.d.comb += n.eq(k + 1)
    return n


class ControllerSetup(wiring.Component):
    """Scale, BL and gate threshold of one update (see the module docstring), in P + 3 strobed cycles.

    Parameters
    ----------
    cfg : ControllerConfig
        The controller's parameters (P = elem_width, F = P - 1, the register widths).

    Ports
    -----
    mu, mv : In(P)
        max |u_i| and max |v_j| of the loaded update (unsigned Q1.F magnitudes).
    s_mant : In(signed(mant_width)), s_exp : In(signed(exp_width))
        The update's scale s = s_mant * 2**s_exp.
    lr_mant : In(lr_width), lr_exp : In(signed(lr_exp_width))
        The learning rate register lr = lr_mant * 2**lr_exp (device steps).
    bl : In(bl_width)
        The bl register (BL, or its cap with BL management).
    det, bl_mgmt : In(1)
        The mode bits (contract/layouts.py MODE_LAYOUT).
    protocol : In(1)
        The load stage saw a beat count or order against the stream contract (flagged, skipped).
    scale : In(1)
        Stage 1: register ku, kv, prod and the zero test at the next clock edge.
    plan : In(1)
        Stage 2 (after stage 1): register n_bl, m_log, status, skip and the divider operands; clears g.
    step : In(1)
        Stage 3 (after stage 2): one divider step, the next quotient bit into g. `plan` wins over `step`;
        the controller never raises two of the strobes together.
    ku, kv : Out(range(P + 1))
        Bit lengths of max |u_i| and max |v_j| (registered by `scale`).
    n_bl : Out(bl_width)
        The slot count BL of the update (registered by `plan`).
    m_log : Out(range(bl_width + 1))
        bit_length(BL) - 1, i.e. log2(BL) when BL is a power of two (registered by `plan`).
    status : Out(STATUS_LAYOUT)
        The update's flags (registered by `plan`; bl_zero, bl_pow2, overflow, protocol).
    skip : Out(1)
        Nothing is written: a flag is set or the update is zero (registered by `plan`).
    g : Out(P + 1)
        The gate threshold G, valid after P + 1 `step`s (0 .. 2**P).
    div_last : Out(1)
        The current `step` is the last divider step (combinational).
    """

    def __init__(self, cfg: ControllerConfig):
        self.cfg = c = cfg
        P = c.elem_width
        super().__init__({
            "mu": In(P), "mv": In(P),
            "s_mant": In(signed(c.mant_width)), "s_exp": In(signed(c.exp_width)),
            "lr_mant": In(c.lr_width), "lr_exp": In(signed(c.lr_exp_width)),
            "bl": In(c.bl_width), "det": In(1), "bl_mgmt": In(1), "protocol": In(1),
            "scale": In(1), "plan": In(1), "step": In(1),
            "ku": Out(range(P + 1)), "kv": Out(range(P + 1)),
            "n_bl": Out(c.bl_width), "m_log": Out(range(c.bl_width + 1)),
            "status": Out(STATUS_LAYOUT), "skip": Out(1),
            "g": Out(P + 1), "div_last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.cfg
        P = c.elem_width
        F = P - 1
        BLW = c.bl_width
        WPROD = c.lr_width + c.mant_width - 1
        WN = WPROD + BLW + P + 2
        WD = WPROD + BLW + P + 1
        det, bl = self.det, self.bl

        # -- stage 1 -------------------------------------------------------------------------------
        mu_len = _bit_length(m, self.mu, "mu_len")
        mv_len = _bit_length(m, self.mv, "mv_len")
        s_abs = Signal(c.mant_width)
        m.d.comb += s_abs.eq(Mux(self.s_mant < 0, -self.s_mant, self.s_mant))
        prod_r = Signal(WPROD)
        zero_r = Signal()
        with m.If(self.scale):
            m.d.sync += [self.ku.eq(mu_len), self.kv.eq(mv_len), prod_r.eq(self.lr_mant * s_abs),
                         zero_r.eq((self.lr_mant == 0) | (self.s_mant == 0) | (self.mu == 0) | (self.mv == 0))]

        # -- stage 2 (combinational from the stage-1 registers) -----------------------------------
        exp_w = max(c.lr_exp_width, c.exp_width) + 8
        e_raw = Signal(signed(exp_w))
        m.d.comb += e_raw.eq(self.lr_exp + self.s_exp + self.ku + self.kv - 2 * F)
        e_lo, e_hi = -(WPROD + P), BLW + 1
        e_c = Signal(signed(exp_w))
        with m.If(e_raw < e_lo):
            m.d.comb += e_c.eq(e_lo)
        with m.Elif(e_raw > e_hi):
            m.d.comb += e_c.eq(e_hi)
        with m.Else():
            m.d.comb += e_c.eq(e_raw)
        shl = Signal(range(e_hi + 1))
        shr = Signal(range(-e_lo + 1))
        m.d.comb += [shl.eq(Mux(e_c >= 0, e_c, 0)), shr.eq(Mux(e_c < 0, -e_c, 0))]
        ceil_g = Signal(WPROD + BLW + 2)
        with m.If(e_c >= 0):
            m.d.comb += ceil_g.eq(prod_r << shl)
        with m.Else():
            m.d.comb += ceil_g.eq((prod_r + (Const(1, 1) << shr) - 1) >> shr)
        cap_c = Signal(BLW + 1)
        m.d.comb += cap_c.eq(Mux(ceil_g > (1 << BLW), 1 << BLW, ceil_g))
        c1 = Signal(BLW + 1)
        m.d.comb += c1.eq(Mux(cap_c == 0, 1, cap_c))
        c1m = Signal(BLW + 1)
        m.d.comb += c1m.eq(c1 - 1)
        c1_len = _bit_length(m, c1m, "c1_len")
        c2 = Signal(BLW + 1)
        m.d.comb += c2.eq(Mux(det, Const(1, 1) << c1_len, c1))
        n_new = Signal(BLW)
        m.d.comb += n_new.eq(Mux(self.bl_mgmt, Mux(c2 < bl, c2, bl), bl))
        err_bl0 = Signal()
        err_pow2 = Signal()
        err_ovf = Signal()
        m.d.comb += [
            err_bl0.eq(~bl.any()),
            err_pow2.eq(det & (bl != 0) & ((bl & (bl - 1)) != 0)),
        ]
        m.d.comb += err_ovf.eq(~err_bl0 & ~err_pow2 & ~zero_r & (cap_c > n_new))
        n_len = _bit_length(m, n_new, "n_len")
        sh = Signal(signed(exp_w + 1))
        m.d.comb += sh.eq(e_c + Const(P, signed(exp_w)))
        sh_pos = Signal(range(e_hi + P + 1))
        sh_neg = Signal(range(WPROD + 1))
        m.d.comb += [sh_pos.eq(Mux(sh >= 0, sh, 0)), sh_neg.eq(Mux(sh < 0, -sh, 0))]

        num = Signal(WN)
        dsh = Signal(WD)
        cnt = Signal(range(P + 1))
        q = self.g
        # -- stage 2 registers and stage 3, a restoring divider (MSB first) ------------------------
        ge = num >= dsh
        m.d.comb += self.div_last.eq(~cnt.any())                  # cnt == 0
        with m.If(self.plan):
            m.d.sync += [
                self.n_bl.eq(n_new), self.m_log.eq(n_len - 1),
                self.status.bl_zero.eq(err_bl0), self.status.bl_pow2.eq(err_pow2),
                self.status.overflow.eq(err_ovf), self.status.protocol.eq(self.protocol),
                self.skip.eq(err_bl0 | err_pow2 | err_ovf | self.protocol | zero_r),
                num.eq(Mux(sh >= 0, prod_r << sh_pos, prod_r)),
                dsh.eq(Mux(sh >= 0, n_new, n_new << sh_neg) << P),
                q.eq(0), cnt.eq(P),
            ]
        with m.Elif(self.step):
            m.d.sync += [q.eq(Cat(ge, q[:-1])), dsh.eq(dsh >> 1), cnt.eq(cnt - 1)]
            with m.If(ge):
                m.d.sync += num.eq(num - dsh)
        return m
