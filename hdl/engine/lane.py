"""One lane of the SBE engine's vector datapath (hdl/engine/sbe_engine.py), stages 0..10."""
from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int
from contract.engine_config import LMAX, EngineConfig

from hdl.dsp_multiplier import ECP5_WIDTH, RegisteredMultiplier, check_dsp, dsp_kind
from hdl.engine.delay_line import DelayLine
from hdl.fixed_point import round_amt_hw, round_post_sat_hw, round_pre_hw


class Lane(wiring.Component):
    """State rewrite and products of one element per beat; golden: golden/rtl/sbe_engine.py.

    Pipelined for ~125 MHz on ECP5: every multiplier has registered operands and a registered product
    (an inferred ECP5 multiply is an unregistered MULT18X18D: with dsp="ecp5" the registers are the DSP's
    own, hdl/dsp_multiplier.py), block-RAM read data is registered before any logic, and each stage
    holds at most one variable shift with its rounding increment, or one carry chain with a saturation
    test. With dsp="ecp5" the DSP registers sit where the route into or out of the DSP does not add
    to a stage's logic: mul_pA's product register is a fabric flip-flop (its shifter rnd(pA, shA) then
    starts from a fabric register: with the DSP's output register, its clock-to-out and the route out
    made that 8.6 ns), and the pM halves' operand registers (oP, oM) are fabric flip-flops (MA's and MB's
    saturating sums and the oP select end there: into the DSP's input register they took 8.44 ns, 1.29 of
    it the route into the DSP); hdl/dsp_multiplier.py RegisteredMultiplier `fabric`. Same latencies.
    History (sbe_engine_a100_b784_l1, nextpnr-ecp5 seed 1): 118.6 MHz generic (worst path oA1 -> pA2,
    the multiply between fabric registers); 118.4 MHz with all the DSP registers inside (the two paths
    above); with the registers placed as now the lanes left the worst paths (the next ones were the state
    memory's read-during-write bypass, the scalar unit's ALU and microcode fetch, and the element's clamp
    into the output FIFO, hdl/engine/sbe_engine.py; stage 10 below, then stage 9); with those fixed too: 124.2 MHz,
    7,299 LUT, 3,706 FF, 9 MULT18X18D, 9 DP16KD (worst path the scalar unit's reset flag -> the
    microcode ROM's address, 8.05 ns; no lane path among the reported ones). The multipliers' operand and product
    registers have no reset, so that Yosys can take them into an iCE40 SB_MAC16 (a flip-flop no LUT
    feeds costs an iCE40 logic cell).

    ========  ================================================================================
    stage 0   (issue) memory read data M, xa, xb (prefetched: at the read ports as the beat issues) and
              the multiplier operands registered (oA = cmA, oB = cmB if read-out else v, v)
    stage 1   pA = cmA * xa;  pB = oB * xb  (DSPs, registered; pA's product register in the fabric with
              dsp="ecp5");  shift of rnd(M, kA)
    stage 2   t1 = rnd(M, kA) (its increment);  shift of rnd(pA, shA)
    stage 3   MA = sat(t1 + rnd(pA, shA))  (the update of sample j-2; n-1 in read-out), registered (MA4);
              shift of rnd(pB, shB) (read-out);  v as pV's operands
    stage 4   shift of rnd(MA, kB), rB = rnd(pB, shB)  (read-out);  pV = v * v  (DSP, registered);
              sample pass: the operands of pM = v * MA registered (oP = MA4, oM = v; fabric registers
              with dsp="ecp5")
    stage 5   MB = sat(rnd(MA, kB) + rB) in the read-out (the update of sample n), else MA, registered;
              sample pass: pM split: oM * oP[0:17] (unsigned), oM * oP[17:] (signed) (DSPs);
              v * x_{j-1} (`px`; pB in stage 3 at one lane), v * v (`pv`)
    stage 6   MB written back (sample passes; the datapath drops a read-out beat's write);
              sample pass: the halves of pM (`pm_lo`, `pm_hi`);
              read-out: the operands of pM = om * MB registered (oP = MB, oM = om)
    stage 7   read-out: pM split in the same two DSPs
    stage 8   read-out: pM = hi * 2**17 + lo (`pm`, combinational), registered
    stage 9   shift of rnd(pM, osh) by the amount's multiple of 8  (read-out)
    stage 10  shift by the amount's low 3 bits                    (read-out)
    stage 11  elem = sat_elem(rnd(pM, osh))                     (read-out), registered
    stage 12  elem (the register; its clamp bit too)
    ========  ================================================================================

    The two pM DSPs serve a sample beat in stage 5 and a read-out beat in stage 7: the caller never has
    both (hdl/engine/issue_stage.py: no sample beat issues within two cycles after a read-out beat), and
    `pm_lo`/`pm_hi` hold the product of whichever used them (the caller reads the sample beat's in stage
    6, `pm` of a read-out beat in stage 8). Their operands come from registers (MA4, v4; MB, om): with
    the saturating sums and the operand select in front of them, that route into the DSPs was the L = 4
    engine's worst path on the ECP5 (8.5 ns).

    Every rnd is split (hdl/fixed_point.py round_pre_hw): one barrel shifter into a register, then
    rnd = (pre >> 1) + pre[0] in the next stage, where the increment rides on the sum's carry.
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
    bram_delays : bool
        For the iCE40 builds (default False): the pure delay registers v2..v3 (two stages) and pB2..px5
        (three; with more than one lane) become block-RAM delay lines (hdl/engine/delay_line.py; one
        SB_RAM40_4K at in_width 8, one lane), which saves iCE40 logic cells but puts a block-RAM read
        (slower than a flip-flop) in front of the oM select and the sums of px. Same results, same
        latencies.
    dsp : str
        The multipliers' implementation (hdl/dsp_multiplier.py): "generic" (default: registers and `*`,
        the simulators' Verilog and the iCE40's), "ecp5" (each of the five products pA, pB, pV, pm_lo,
        pm_hi in a MULT18X18D whose own input and output registers, enabled by `adv`, are the operand
        and product registers: synth_ecp5 packs no fabric register into an inferred one, which left the
        multiply and its routing in one cycle; every operand register feeds its product only, so the DSP
        takes it whole), "auto" ("ecp5" when elaborated for an ECP5-family platform and every operand
        fits 18 bits). Same results, same latencies. "ecp5" needs operands of at most 18 bits:
        coef_width and in_width <= 18 and state_width <= 35.
    short_chains : bool
        For the iCE40 builds (default False): MA's and MB's saturating sums with no carry chain longer
        than about half the sum (`sat_add`: the low SW-1 bits' carry selects parts made for both of its
        values) instead of three full-width sums (~38-bit chains: 10 ns on the iCE40, a few on the ECP5,
        where the carry-select's ~70 LUT per sum only cost). Same results, same latencies.
    index : int
        The lane's place in the beat, 0..7 (default 0): the initial value of its shift-amount registers,
        so that each lane keeps its own (see `amt` in elaborate). No effect on the results.

    Ports
    -----
    adv : In(1)
        The pipeline advances.
    x : In(signed(in_width))
        Stage 0: element v of the beat being issued (registered into stage 1 on `adv`).
    m, xa, xb : In(signed(state_width)), In(signed(in_width)) x 2
        Stage 0: M, and the elements of samples j-2 and j-1 (memory read data).
    ro0, ro4 : In(1)
        The beat in stage 0, 4 is a read-out beat (the operand of pB; MB's select).
    ro6v : In(1)
        A valid read-out beat is in stage 6 (the pM DSPs' operands are its om, MB; else stage 4's v, MA).
    kA, cmA, cmB : In stage 0;  shA : In stage 1;  shB : In stage 2;  kB : In stage 3;  om : In stage 6;
    osh : In stage 8
        Pass-word fields (hdl/engine/issue_stage.py pass_layout) of the beat in that stage. A shift
        field's amount (round_amt_hw) is registered before its shifter: kA for stage 1, shA for 2, shB
        for 3, kB for 4, osh for 9. The fields a sample pass loads (kA, cmA, shA) are all read by stage 1,
        so a new pass may load them while the previous pass's beats are in later stages.
    mb : Out(signed(state_width))
        Stage 6: the rewritten element, to be written back.
    pm : Out(signed)
        Stage 8 of a read-out beat: pM = om * MB (combinational: one add of the two DSP halves).
    pm_r : Out(signed)
        `pm` registered, stage 7 of a sample beat (pM = v * MA, for the one-lane accumulator: one carry
        chain from a fabric register rather than the three-operand sum from the product registers, which
        were the ECP5's worst path behind DSP output registers, 8.7 ns, and the iCE40 UP5K engine's,
        23.9 ns), 9 of a read-out beat.
    pm_lo, pm_hi, px, pv : Out(signed)
        Stage 6 of a sample beat (PM_STAGE): the two halves of pM = v * MA = pm_hi * 2**split + pm_lo
        (registers; for sums over lanes); stage 5 (PV_STAGE): v * v; px (v * x_{j-1}) in stage `px_stage`
        (3 at one lane, else 5). Of a read-out beat: unused values (px is
        cmB * x_n there, not 0: the caller sums sample beats only).
    elem : Out(signed(elem_width))
        Stage 12: the read-out element (a register).
    sat : Out(3)
        Clamps of this cycle: bit 0 MA, bit 1 MB (read-out only), bit 2 elem, in the stages `sat_stages`
        gives (3, 5, 12; with short_chains 4, 6, 12: the clamp flags of MA's and MB's sums registered
        with the sums, as MB's clamp is then selected after its register: from MB's sum into the caller's
        flag register was the UP5K engine's worst path, 23.5 ns); the caller qualifies them with the
        stage's valid (and read-out) bits.

    Latency (in cycles of `adv`): 6 from `x` (stage 0) to pm_lo, pm_hi, 5 to pv, 7 to pm_r, `px_stage`
    to px, 12 to elem;
    6 from m, xa, xb (stage 0) to mb (stage 6).
    """

    #: pM = om * MB as two 18x18 products: MB[0:17] unsigned, MB[17:] signed. A state narrower than 18
    #: bits splits below its sign bit instead (`split`), so the signed half keeps at least that bit.
    SPLIT = 17
    #: Stages of a sample beat's products: the halves of pM = v * MA (`pm_lo`, `pm_hi`) and v * v (`pv`).
    PM_STAGE, PV_STAGE = 6, 5

    def __init__(self, cfg: EngineConfig, *, bram_delays: bool = False, dsp: str = "generic", index: int = 0,
                 short_chains: bool = False):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be an EngineConfig, not {cfg!r}")
        for name, value in (("bram_delays", bram_delays), ("short_chains", short_chains)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, not {value!r}")
        self.cfg = cfg
        self.bram_delays, self.short_chains = bram_delays, short_chains
        self.index = check_int("index", index, 0, 7)
        self.dsp = self.check_dsp(cfg, dsp)
        W, SW, CW = cfg.in_width, cfg.state_width, cfg.coef_width
        self.px_width = max(CW, W) + W
        self.px_stage = self.px_stage_of(cfg)
        self.om_width = max(CW, W)
        self.pm_width = self.om_width + SW
        self.split = min(self.SPLIT, SW - 1)
        self.operand_width = self.operand_width_of(cfg)
        super().__init__({
            "adv": In(1),
            "x": In(signed(W)),
            "m": In(signed(SW)), "xa": In(signed(W)), "xb": In(signed(W)),
            "ro0": In(1), "ro4": In(1), "ro6v": In(1),
            "kA": In(signed(8)), "cmA": In(signed(CW)), "cmB": In(signed(CW)), "shA": In(signed(8)),
            "kB": In(signed(8)), "shB": In(signed(8)), "om": In(signed(CW)), "osh": In(signed(8)),
            "mb": Out(signed(SW)),
            "pm": Out(signed(self.pm_width)),
            "pm_lo": Out(signed(self.om_width + self.split + 1)),
            "pm_hi": Out(signed(self.om_width + SW - self.split)),
            "px": Out(signed(self.px_width)),
            "pv": Out(signed(2 * W)),
            "elem": Out(signed(cfg.elem_width)),
            "sat": Out(3),
            "pm_r": Out(signed(self.pm_width)),
        })

    @property
    def sat_stages(self) -> tuple:
        """The stages of the clamp bits of `sat` (MA, MB, elem)."""
        return (5, 6, 12) if self.short_chains else (3, 5, 12)

    def kind(self, platform) -> str:
        """The multipliers' implementation elaborated for `platform`: "generic" or "ecp5"."""
        return self.kind_of(self.cfg, self.dsp, platform)

    @classmethod
    def kind_of(cls, cfg: EngineConfig, dsp: str, platform) -> str:
        """`kind` of the lanes of `cfg` with `dsp` (before any lane is built)."""
        return dsp_kind(dsp, platform, cls.operand_width_of(cfg))

    @staticmethod
    def px_stage_of(cfg: EngineConfig) -> int:
        """The stage of `px`: 5 with the other products (summed over the lanes), 3 for one lane (no sum:
        the caller accumulates it there, and no registers carry it on)."""
        return 3 if cfg.lanes == 1 else 5

    @classmethod
    def operand_width_of(cls, cfg: EngineConfig) -> int:
        """The widest signed operand of the lane's five products: max(coef_width, in_width) (oA, oB, oM,
        xa, xb, v), and the pM halves' parts of oP (split + 1 and state_width - split bits)."""
        split = min(cls.SPLIT, cfg.state_width - 1)
        return max(cfg.coef_width, cfg.in_width, split + 1, cfg.state_width - split)

    @classmethod
    def check_dsp(cls, cfg: EngineConfig, dsp) -> str:
        """`dsp` if it names an implementation that the lanes of `cfg` can use, else ValueError (for the
        callers' constructors too: the lanes are built at elaboration)."""
        check_dsp(dsp)
        width = cls.operand_width_of(cfg)
        if dsp == "ecp5" and width > ECP5_WIDTH:
            raise ValueError(f"dsp='ecp5' needs the lane's multiplier operands within {ECP5_WIDTH} bits (one "
                             f"MULT18X18D each), but coef_width={cfg.coef_width}, in_width={cfg.in_width}, "
                             f"state_width={cfg.state_width} give {width}: use coef_width and in_width <= "
                             f"{ECP5_WIDTH} and state_width <= {ECP5_WIDTH + cls.SPLIT}, or dsp='generic' "
                             f"(or 'auto': the DSP primitive only where the operands fit)")
        return dsp

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        W, SW, CW = cfg.in_width, cfg.state_width, cfg.coef_width
        pxw, omw, S = self.px_width, self.om_width, self.split
        adv = self.adv

        def reg(shape, name, d, init=0, reset_less=False):
            """A pipeline register loaded with `d` on `adv`. The multipliers' operand and product registers
            are reset-less: yosys absorbs only those into an iCE40 SB_MAC16's own registers (a register with
            a reset takes a logic cell per bit); no valid beat reads a value loaded before a reset."""
            r = Signal(shape, name=name, init=init, reset_less=reset_less)
            with m.If(adv):
                m.d.sync += r.eq(d)
            return r

        def chain(sig, first, last, name):
            """sig delayed into stages first..last: {stage: register}."""
            out, prev = {}, sig
            for s in range(first, last + 1):
                prev = out[s] = reg(sig.shape(), f"{name}{s}", prev)
            return out

        # stage 0: register the memory read data and the multiplier operands
        v1 = reg(signed(W), "v1", self.x)
        M1 = reg(signed(SW), "M1", self.m)
        dsp = self.kind(platform) == "ecp5"

        def dsp_product(name, a, b, fabric=""):
            """a * b (signed) in a MULT18X18D whose input registers take a and b on `adv` (stage s) and
            whose output register holds the product (stage s + 2): the operand and product registers of
            the generic form; `fabric` "in" or "out": those registers in fabric flip-flops instead
            (RegisteredMultiplier)."""
            m.submodules[name] = mul = RegisteredMultiplier(len(a), len(b), dsp="ecp5", fabric=fabric)
            m.d.comb += [mul.en.eq(adv), mul.a.eq(a), mul.b.eq(b)]
            return mul.p

        if dsp:
            pA2 = dsp_product("mul_pA", self.cmA, self.xa, fabric="out")
            # operand registers in the fabric: xb comes straight from the sample buffer's block RAM, whose
            # route into the DSP's own input register was the L=1 engine's worst ECP5 path (8.0 ns)
            pB2 = dsp_product("mul_pB", Mux(self.ro0, self.cmB, self.x), self.xb, fabric="in")
        else:
            xa1 = reg(signed(W), "xa1", self.xa, reset_less=True)
            xb1 = reg(signed(W), "xb1", self.xb, reset_less=True)
            oA1 = reg(signed(CW), "oA1", self.cmA, reset_less=True)
            oB1 = reg(signed(omw), "oB1", Mux(self.ro0, self.cmB, self.x), reset_less=True)
        if self.bram_delays:
            # v3 is delayed two stages by a block-RAM buffer, not by registers
            m.submodules.dl2 = dl2 = DelayLine(W, 2)
            m.d.comb += [dl2.en.eq(adv), dl2.d[:W].eq(v1)]
            v = {1: v1, 3: dl2.q[:W].as_signed()}
        else:
            v = {1: v1} | chain(v1, 2, 3, "v")              # v[s]: v of the beat in stage s
        v[4] = reg(signed(W), "v4", v[3], reset_less=True)  # pV's operands (generic), pM's of a sample beat

        def own(d, name):
            """d in a register of this lane's own (loaded on `adv`, no reset: no beat reads a value loaded
            before a reset, the field of its pass loads it first), read as d. Every lane computes the same
            shift amounts from the same pass word, and Yosys merges flip-flops of equal input and initial
            value, which put one register in front of all the lanes' shifters (and let ABC share their
            decode logic across lanes): at L = 4 on the ECP5 the read-out's osh9 -> preO10 of another lane
            (8.55 ns, 3.1 ns of it the routes of its first two levels) and then shA2 -> preA3 of lanes 1
            and 2 (8.26 ns) were the worst paths. So lane k keeps d inverted if bit 1 of k is set and
            starts at all ones if bit 0 is: four distinct registers per bit (lanes k and k + 4 of eight
            still share theirs). The inversion folds into the shifter's select LUTs."""
            w = len(d)
            inv = (1 << w) - 1 if self.index & 2 else 0
            r = Signal(unsigned(w), name=name, init=(1 << w) - 1 if self.index & 1 else 0, reset_less=True)
            with m.If(adv):
                m.d.sync += r.eq(d ^ inv)
            return r ^ inv if inv else r

        def amt(s, stage, max_right, name, delay=1):
            """Shift amount (round_amt_hw) of field s (of the beat in stage - delay), registered `delay`
            times (in registers of this lane's own, `own`) for the shifter of `stage`."""
            d = round_amt_hw(m, s, max_left=LMAX, max_right=max_right, name=name)
            for k in range(delay):
                d = own(d, f"{name}{stage - delay + 1 + k}")
            return d

        def pre(v, a, stage, name):
            """The shifter of rnd(v, s) in `stage` (round_pre_hw), registered: rnd = round_post(pre)."""
            return reg(signed(len(v) + LMAX + 2), f"{name}{stage + 1}",
                       round_pre_hw(m, v, a, max_left=LMAX, name=f"{name}_c"))

        # stage 1: products (registered DSP outputs) and the shift of rnd(M, kA)
        preT2 = pre(M1, amt(self.kA, 1, cfg.kmax + 1, "kA"), 1, "preT")
        if not dsp:
            pA2 = reg(signed(CW + W), "pA2", oA1 * xa1, reset_less=True)
            pB2 = reg(signed(pxw), "pB2", oB1 * xb1, reset_less=True)
        pB = {2: pB2, 3: reg(signed(pxw), "pB3", pB2)}

        def offsets(pre_, stage, name):
            """rnd = round_post(pre_) as the three registers sat_add takes: its low SW bits, rnd - 2**(SW-1)
            and rnd + 2**(SW-1) (each one adder: the constant rides on the operand whose bit 0 is the
            increment pre_[0])."""
            q = pre_ >> 1
            low = reg(signed(SW), f"{name}{stage + 1}", (q[:SW] + pre_[0])[:SW])
            out = [low]
            w = max(len(q), SW) + 1                         # rnd +- 2**(SW-1), exact
            for sign, tag in ((-1, "o"), (1, "u")):
                k = Cat(pre_[0], Const(sign * (1 << (SW - 2)), signed(w))).as_signed()  # +-2**(SW-1) + inc
                # reset to the offset of rnd = 0, like the low register (no clamp flagged out of reset);
                # with short_chains only bits SW-1.. (sat_add takes the low ones from `low`)
                if self.short_chains:
                    out.append(reg(signed(w - (SW - 1)), f"{name}{tag}{stage + 1}", (q + k)[SW - 1:w], init=sign))
                else:
                    out.append(reg(signed(w), f"{name}{tag}{stage + 1}", q + k, init=sign * (1 << (SW - 1))))
            return out

        def sat_add_full(ops, pre_, name):
            """(value, clamped) = sat(r + rnd(v)), without short_chains, for ops = offsets(r) and
            pre_ = round_pre_hw(v), rnd's increment on the carries: the low SW bits of the sum on a SW-bit
            adder, and over (the sum >= 2**(SW-1)) and under (< -2**(SW-1)) as the signs of two full-width
            sums that run in parallel with it, so the clamp is one LUT after the carry chains (a clamp test
            over the top bits of one wide sum took four LUT levels after its chain)."""
            low_r, o_r, u_r = ops
            q = pre_ >> 1
            low, over, under = (Signal(signed(SW), name=f"{name}_low"), Signal(name=f"{name}_over"),
                                Signal(name=f"{name}_under"))
            m.d.comb += [low.eq(low_r + q[:SW] + pre_[0]),
                         over.eq(~(o_r + q + pre_[0])[-1]),
                         under.eq((u_r + q + pre_[0])[-1])]
            val = Signal(signed(SW), name=name)
            m.d.comb += val.eq(clamp_of(low, over, under))
            return val, over | under

        def sat_add(ops, pre_, name):
            """sat(r + rnd(v)) for ops = offsets(r) and pre_ = round_pre_hw(v), rnd's increment on the
            carries: (c, [parts for c = 0, parts for c = 1], raw), parts = (low, over, under): the low SW bits of
            the sum, over (the sum >= 2**(SW-1)) and under (< -2**(SW-1)), the signs of
            r -+ 2**(SW-1) + rnd(v). The three sums agree in their low SW-1 bits, so one (SW-1)-bit adder
            gives those bits and the carry c into bit SW-1, and the parts are made for both values of c
            (`signs`: the upper parts of the wide sums are added beside the low adder, for each c), so that
            c, the last to settle, only selects (`pick`, `clamp_of`). With the three full-width sums, their
            ~38-bit carry chains had been the iCE40 UP5K engine's worst path (rBu5 -> MB, 24.9 ns, 10 ns of
            it one chain); with c in front of the clamp, three LUT levels after the low adder (t3 -> MA,
            24.3 ns)."""
            low_r, o_r, u_r = ops
            q, inc = pre_ >> 1, pre_[0]
            h = SW - 1
            lo = Signal(h + 1, name=f"{name}_lo")           # bit h: the carry c into bit SW-1
            m.d.comb += lo.eq(low_r[:h] + q[:h] + inc)
            c = lo[h]

            def signs(r, tag):
                """The signs of R + q + inc for c = 0 and c = 1 (r = R[h:]): of r + q[h:] (the upper parts,
                sign-extended) and of r + q[h:] + 1 (as r - ~q[h:]: a chain with its carry-in set), two
                chains beside the low adder, kept as nets (Yosys `keep`) so that they stay two. (A sign for
                c = 1 as x's unless x = -1, a compare of r with ~q[h:], took three LUT levels and two more
                after it: the UP5K engine's worst path, ma_o -> MA, 21.1 ns.)"""
                n = max(len(r), len(q) - h)                 # (r: offsets' registers of bits h..)
                ext_r, ext_q = Signal(signed(n), name=f"{name}_{tag}_r"), Signal(signed(n), name=f"{name}_{tag}_q")
                x0, x1 = (Signal(signed(n + 1), name=f"{name}_{tag}_x{k}", attrs={"keep": 1}) for k in (0, 1))
                m.d.comb += [ext_r.eq(r), ext_q.eq(q[h:].as_signed()), x0.eq(ext_r + ext_q), x1.eq(ext_r - ~ext_q)]
                return x0[-1], x1[-1]
            neg_o, neg_u = signs(o_r, "o"), signs(u_r, "u")     # (c = 0, c = 1) each
            parts, lows = [], []
            for k in (0, 1):
                low = Signal(signed(SW), name=f"{name}_low{k}")
                m.d.comb += low.eq(Cat(lo[:h], low_r[h] ^ q[h] ^ k))
                lows.append(low)
                parts.append((low, ~neg_o[k], neg_u[k]))
            return c, parts, (neg_o, neg_u, lows)

        def sat_value(c, raw, name):
            """sat's value from sat_add's raw parts: for each c the clamp of its low word by its two signs
            (one LUT level after the chains), then c picks."""
            neg_o, neg_u, (low0, low1) = raw
            top, bot = (1 << (SW - 1)) - 1, -(1 << (SW - 1))
            g0, g1 = (Mux(~neg_o[k], top, Mux(neg_u[k], bot, low)) for k, low in ((0, low0), (1, low1)))
            return pick(c, g0, g1, name)

        def pick(c, x0, x1, name):
            """Mux(c, x1, x0), with x0 and x1 kept as nets (`keep`): so that the synthesis's LUT mapping
            leaves c, the late input, in the last LUT."""
            k0, k1 = (Signal.like(x0, name=f"{name}{k}", attrs={"keep": 1}) for k in (0, 1))
            out = Signal.like(x0, name=name)
            m.d.comb += [k0.eq(x0), k1.eq(x1), out.eq(Mux(c, k1, k0))]
            return out

        def clamp_of(low, over, under):
            """sat's value from a sum's (low, over, under)."""
            return Mux(over, (1 << (SW - 1)) - 1, Mux(under, -(1 << (SW - 1)), low))

        # stage 2: t1 = rnd(M, kA) (the increment; its low SW bits and t1 -+ 2**(SW-1)); the shift of
        # rnd(pA, shA)
        t3 = offsets(preT2, 2, "t")
        preA3 = pre(pA2, amt(self.shA, 2, cfg.rmax + 1, "shA"), 2, "preA")

        # stage 3: MA = sat(t1 + rnd(pA, shA)) (rnd's increment on the adders' carries); the shift of the
        # read-out's rnd(pB, shB) (here rather than in stage 2: pB3 is kept for px anyway, and rB's three
        # wide registers are loaded once, in stage 4, instead of twice)
        if self.short_chains:
            ma_c, _, ma_raw = sat_add(t3, preA3, "ma")
            ma_val = sat_value(ma_c, ma_raw, "ma")
            # MA's clamp flag a stage later, from the registered carry and signs (MAhit5): from the signs'
            # chains through the c = 1 terms and c's select, it was the UP5K engine's worst path (21.9 ns)
            neg_o, neg_u, _ = ma_raw
            # (reset: the signs of a sum in range, so no clamp is flagged out of reset)
            f4 = reg(5, "MAf4", Cat(ma_c, neg_o[0], neg_u[0], neg_o[1], neg_u[1]), init=0b01010)
            c4, no0, nu0, no1, nu1 = (f4[i] for i in range(5))
            ma_hit = reg(1, "MAhit5", Mux(c4, ~no1 | nu1, ~no0 | nu0))
        else:
            ma_val, ma_hit = sat_add_full(t3, preA3, "ma")
        MA4 = reg(signed(SW), "MA4", ma_val)
        # (MA5 is a register in every build: from the saturating sum into a block RAM's write data, MA's
        # clamp select and the route into the RAM were the iCE40 UP5K engine's worst path, 25.6 ns)
        MA5 = reg(signed(SW), "MA5", MA4)
        preB4 = pre(pB[3], amt(self.shB, 3, cfg.rmax + 1, "shB"), 3, "preB")

        # stage 4: the shift of the read-out's rnd(MA, kB); rB = rnd(pB, shB) (its low SW bits and
        # rB -+ 2**(SW-1)); a sample pass's px = v * x_{j-1} (0 in the read-out) and pv = v * v (a DSP
        # fed from v4: 8 bits carried per stage rather than a 16-bit product from stage 1)
        preTB5 = pre(MA4, amt(self.kB, 4, cfg.kmax + 1, "kB"), 4, "preTB")
        rB5 = offsets(preB4, 4, "rB")
        if self.px_stage == 3:
            px = pB[3]                                  # one lane: the caller sums px in stage 3
        elif self.bram_delays:
            m.submodules.dl3 = dl3 = DelayLine(pxw, 3)
            m.d.comb += [dl3.en.eq(adv), dl3.d.eq(pB2)]
            px = dl3.q.as_signed()
        else:
            px = reg(signed(pxw), "px5", reg(signed(pxw), "pB4", pB[3]))
        if dsp:
            pV5 = dsp_product("mul_pV", v[3], v[3])
        else:
            pV5 = reg(signed(2 * W), "pV5", v[4] * v[4], reset_less=True)
        ro5 = reg(1, "ro5", self.ro4)

        # stage 5: MB's sum: in the read-out MB = sat(rnd(MA, kB) + rB), else MA; registered as the sum's low
        # bits (or MA) and the two clamp flags, the clamp's select after the registers (stage 6: `mb`, into
        # the state memory's write data and the pM operand register): after the carry chains it took one
        # more LUT and a route in the iCE40 UP5K engine's worst path
        MB = self.mb
        if self.short_chains:
            mb_c, mb_parts, _ = sat_add(rB5, preTB5, "mb")
            mb_low = pick(mb_c, *(Mux(ro5, p[0], MA5) for p in mb_parts), "mb_low")
            mb_over, mb_under = (pick(mb_c, *(ro5 & p[k] for p in mb_parts), f"mb_{tag}")
                                 for k, tag in ((1, "over"), (2, "under")))
            MBlow, MBover, MBunder = (reg(signed(SW), "MBlow", mb_low), reg(1, "MBover", mb_over),
                                      reg(1, "MBunder", mb_under))
            m.d.comb += MB.eq(clamp_of(MBlow, MBover, MBunder))
            mb_hit = MBover | MBunder                       # stage 6
        else:
            mb_val, mb_hit = sat_add_full(rB5, preTB5, "mb")
            with m.If(adv):
                m.d.sync += MB.eq(Mux(ro5, mb_val, MA5))
            mb_hit = mb_hit & ro5                           # stage 5

        # The operands of pM, registered in front of its two DSPs from registers (MA's and MB's saturating
        # sums end in their own registers first: with the clamp and this select after the sums' carry
        # chains the operand took 8.5 ns on the ECP5 at L = 4): a read-out beat's om, MB (stage 6), else a
        # sample beat's v, MA (stage 4, two stages earlier); the DSPs' products are registered the next
        # cycle (stage 5 of a sample beat, 7 of a read-out beat).
        if dsp:
            # the DSPs' input registers are oP and oM (each DSP its own copy of oM)
            oP_d = Signal(signed(SW), name="oP_d")
            oM_d = Signal(signed(omw), name="oM_d")
            m.d.comb += [oP_d.eq(Mux(self.ro6v, MB, MA4)), oM_d.eq(Mux(self.ro6v, self.om, v[4]))]
            lo = dsp_product("mul_lo", oM_d, Cat(oP_d[:S], 0).as_signed(), fabric="in")
            hi = dsp_product("mul_hi", oM_d, oP_d[S:].as_signed(), fabric="in")
        else:
            oP = reg(signed(SW), "oP", Mux(self.ro6v, MB, MA4), reset_less=True)
            oM = reg(signed(omw), "oM", Mux(self.ro6v, self.om, v[4]), reset_less=True)
            lo = reg(signed(omw + S + 1), "pm_lo", oM * Cat(oP[:S], 0).as_signed(), reset_less=True)
            hi = reg(signed(omw + SW - S), "pm_hi", oM * oP[S:].as_signed(), reset_less=True)

        # stage 6 of a sample beat: the halves of pM (stage 5: px, pv); stage 8 of a read-out beat: pM
        pm = self.pm
        m.d.comb += [pm.eq((hi << S) + lo), self.pm_lo.eq(lo), self.pm_hi.eq(hi), self.px.eq(px),
                     self.pv.eq(pV5)]
        pM9 = reg(signed(self.pm_width), "pM9", pm)
        m.d.comb += self.pm_r.eq(pM9)

        # stage 9: the shift of rnd(pM, osh) by the amount's multiple of 8;  stage 10: by its low 3 bits
        # (round_pre_hw in two registered halves: arithmetic right shifts compose, so pre is the same);
        # stage 11: its increment, the element, registered (its clamp tests are trees over pre's ~50 bits:
        # with the route into the output FIFO's RAM after them they took 8.1 ns on the ECP5). The one
        # 52-bit shifter of six levels, from amount registers that fan out to every bit, was the L = 1
        # engine's worst ECP5 path (osh9 -> preO10, 8.1 ns, most of it routes).
        osh9 = amt(self.osh, 9, cfg.rmax_out + 1, "osh")
        preOc10 = reg(signed(len(pM9) + LMAX + 2), "preOc10",
                      round_pre_hw(m, pM9, Cat(Const(0, 3), osh9[3:]), max_left=LMAX, name="preO_c"))
        osh_lo10 = own(osh9[:3], "osh_lo10")
        preO11 = reg(signed(len(preOc10)), "preO11", preOc10 >> osh_lo10)
        e_val, e_hit = round_post_sat_hw(m, preO11, cfg.elem_width, name="elem")
        elem12 = reg(signed(cfg.elem_width), "elem12", e_val)
        e_hit12 = reg(1, "elem_sat12", e_hit)

        m.d.comb += [self.elem.eq(elem12), self.sat.eq(Cat(ma_hit, mb_hit, e_hit12))]
        return m
