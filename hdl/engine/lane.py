"""One lane of the SBE engine's vector datapath (hdl/engine/sbe_engine.py), stages 1..5."""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.engine_config import LMAX, EngineConfig

from hdl.fixed_point import rshift_round_hw, saturate_hw


class Lane(wiring.Component):
    """State rewrite and products of one element per beat; golden: golden/rtl/sbe_engine.py.

    ========  ================================================================================
    stage 1   t1 = rnd(M, kA);  pA = cmA * xa;  pB = (cmB if read-out else v) * xb;  pV = v * v
    stage 2   MA = sat(t1 + rnd(pA, shA))                  (the update of sample j-2; n-1 in read-out)
    stage 3   MB = sat(rnd(MA, kB) + rnd(pB, shB)) in the read-out (the update of sample n), else MA
    stage 4   MB written back;  pM = (om if read-out else v) * MB
    stage 5   elem = sat_elem(rnd(pM, osh))                (read-out)
    ========  ================================================================================

    M is the state element, xa, xb the elements of samples j-2 and j-1 (n-1 and n in the read-out), v
    the element of sample j (0 in the read-out). rnd(v, s) = round(v / 2**s), ties toward +inf, s < 0
    shifts left (contract/fixed_point.py rshift_round); sat clamps to state_width bits, sat_elem to
    elem_width. Products and sums are exact.
    The stages move together on `adv`; each pass-word port carries the field of the beat in the stage
    that uses it.

    Parameters
    ----------
    cfg : EngineConfig
        The engine's parameters (in_width, state_width, coef_width, elem_width).

    Ports
    -----
    adv : In(1)
        The pipeline advances.
    x : In(signed(in_width))
        Stage 0: element v of the beat being issued (registered into stage 1 on `adv`).
    m, xa, xb : In(signed(state_width)), In(signed(in_width)) x 2
        Stage 1: M, and the elements of samples j-2 and j-1 (memory read data).
    ro1, ro3, ro4 : In(1)
        The beat in stage 1, 3, 4 is a read-out beat.
    kA, cmA, cmB : In  stage 1;  shA : In  stage 2;  kB, shB : In  stage 3;  om : In  stage 4;
    osh : In  stage 5
        Pass-word fields (hdl/engine/issue_stage.py pass_layout) of the beat in that stage.
    mb : Out(signed(state_width))
        Stage 4: the rewritten element, to be written back.
    pm, px, pv : Out(signed)
        Stage 5: exact products pM = (om | v) * MB, v * x_{j-1} (0 in the read-out) and v * v.
    elem : Out(signed(elem_width))
        Stage 5: the read-out element.
    sat : Out(3)
        Clamps of this cycle: bit 0 MA (stage 2), bit 1 MB (stage 3, read-out only), bit 2 elem (stage 5);
        the caller qualifies them with the stage's valid (and read-out) bits.

    Latency (in cycles of `adv`): 5 from `x` (stage 0) to pm, px, pv, elem (stage 5); 3 from m, xa, xb
    (stage 1) to mb (stage 4).
    """

    def __init__(self, cfg: EngineConfig):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be an EngineConfig, not {cfg!r}")
        self.cfg = cfg
        W, SW, CW = cfg.in_width, cfg.state_width, cfg.coef_width
        self.sum_width = max(SW + LMAX, CW + W + LMAX) + 2     # any rounded term and the sum of two
        self.px_width = max(CW, W) + W
        self.pm_width = max(CW, W) + SW
        super().__init__({
            "adv": In(1),
            "x": In(signed(W)),
            "m": In(signed(SW)), "xa": In(signed(W)), "xb": In(signed(W)),
            "ro1": In(1), "ro3": In(1), "ro4": In(1),
            "kA": In(signed(8)), "cmA": In(signed(CW)), "cmB": In(signed(CW)), "shA": In(signed(8)),
            "kB": In(signed(8)), "shB": In(signed(8)), "om": In(signed(CW)), "osh": In(signed(8)),
            "mb": Out(signed(SW)),
            "pm": Out(signed(self.pm_width)),
            "px": Out(signed(self.px_width)),
            "pv": Out(signed(2 * W)),
            "elem": Out(signed(cfg.elem_width)),
            "sat": Out(3),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        W, SW, CW = cfg.in_width, cfg.state_width, cfg.coef_width
        sw = self.sum_width

        # Pipeline registers, named by the stage they feed (stage 4's MB and stage 5's products are ports).
        v1 = Signal(signed(W))
        t1 = Signal(signed(sw))
        pA = Signal(signed(CW + W))
        pB = [Signal(signed(self.px_width), name=f"pB{s}") for s in (2, 3, 4)] + [self.px]
        pV = [Signal(signed(2 * W), name=f"pV{s}") for s in (2, 3, 4)] + [self.pv]
        vv = [Signal(signed(W), name=f"v{s}") for s in (2, 3, 4)]
        MA = Signal(signed(SW))
        MB = self.mb
        pM = self.pm

        with m.If(self.adv):
            m.d.sync += v1.eq(self.x)

        # stage 1
        r_t1 = rshift_round_hw(m, self.m, self.kA, out_width=sw, max_left=LMAX, max_right=cfg.kmax + 1,
                               name="s1t1")
        with m.If(self.adv):
            m.d.sync += [t1.eq(r_t1), pA.eq(self.cmA * self.xa), pB[0].eq(Mux(self.ro1, self.cmB, v1) * self.xb),
                         pV[0].eq(v1 * v1), vv[0].eq(v1)]
        # stage 2
        r_pA = rshift_round_hw(m, pA, self.shA, out_width=sw, max_left=LMAX, max_right=cfg.rmax + 1, name="s2pA")
        sum2 = Signal(signed(sw))
        m.d.comb += sum2.eq(t1 + r_pA)
        ma_val, ma_hit = saturate_hw(m, sum2, SW, name="ma")
        with m.If(self.adv):
            m.d.sync += [MA.eq(ma_val), pB[1].eq(pB[0]), pV[1].eq(pV[0]), vv[1].eq(vv[0])]
        # stage 3: the read-out applies the last update (B); sample passes pass MA through
        r_tB = rshift_round_hw(m, MA, self.kB, out_width=sw, max_left=LMAX, max_right=cfg.kmax + 1, name="s3tB")
        r_pB = rshift_round_hw(m, pB[1], self.shB, out_width=sw, max_left=LMAX, max_right=cfg.rmax + 1,
                               name="s3pB")
        sum3 = Signal(signed(sw))
        m.d.comb += sum3.eq(r_tB + r_pB)
        mb_val, mb_hit = saturate_hw(m, sum3, SW, name="mb")
        with m.If(self.adv):
            m.d.sync += [MB.eq(Mux(self.ro3, mb_val, MA)), pB[2].eq(Mux(self.ro3, 0, pB[1])),
                         pV[2].eq(pV[1]), vv[2].eq(vv[1])]
        # stage 4
        with m.If(self.adv):
            m.d.sync += [pM.eq(Mux(self.ro4, self.om, vv[2]) * MB), pB[3].eq(pB[2]), pV[3].eq(pV[2])]
        # stage 5
        r_o = rshift_round_hw(m, pM, self.osh, out_width=CW + SW + LMAX + 2, max_left=LMAX,
                              max_right=cfg.rmax_out + 1, name="s5o")
        e_val, e_hit = saturate_hw(m, r_o, cfg.elem_width, name="elem")

        m.d.comb += [self.elem.eq(e_val), self.sat.eq(Cat(ma_hit, mb_hit & self.ro3, e_hit))]
        return m
