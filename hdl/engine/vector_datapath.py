"""Vector datapath of the SBE engine (hdl/engine/sbe_engine.py): stages 0..9, the dot-product latches, the output."""
from __future__ import annotations

import math

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from contract.checks import check_int
from contract.engine_config import EngineConfig
from contract import microcode as P
from contract.enums import Vec
from contract.layouts import update_layout

from hdl.engine.delay_line import DelayLine
from hdl.engine.issue_stage import beat_layout, pa_layout, pass_layout, s_layout
from hdl.engine.lane import Lane
from hdl.engine.out_fifo import OutFIFO
from hdl.engine.scalar_unit import latch_layout, latch_split


class VectorDatapath(wiring.Component):
    """`lanes` Lanes (hdl/engine/lane.py) behind the issue stage, with the per-beat tags, the exact
    dot products of each pass and the output register of the read-out.

    A beat enters with its tag (`beat`, stage 0) and moves one stage per cycle to stage 12; the pipeline
    never stalls (`adv` is constant 1). Back-pressure on `o` is absorbed by an output FIFO of OUT_DEPTH
    beats and credit-based issue: a read-out beat may issue (`ro_credit`) only while fewer than
    OUT_DEPTH read-out beats are issued and not yet taken from `o`, so the FIFO never overflows and
    `o.ready` reaches nothing but the FIFO (no combinational path from `o.ready` to `i.ready`). Each lane
    reads the pass registers of its beat's vector (`pw`), field by field in the stage that uses them
    (stage 0's from `pa`).

    Stage WB = 6 writes the rewritten state word back (`we`, `waddr`, `wdata`). From stage 5 on, a tree of
    registered two-input adders sums a sample beat's products over the lanes (one level per stage);
    stage ACC = 6 + max(1, ceil(log2 L)) (7 at L <= 2, 8 at L = 3..4, 9 at L = 5..8) accumulates v.M, v.x_{j-1}, v.v over
    the pass; on its last beat the three sums go to the dot-product latches of the pass's vector (`lat`)
    at the end of stage ACC, and the beat's block exponent (and `lob`) at the end of stage ACC - 1. With
    one lane the lane's product registers are the sums: v.v is accumulated in stage ACC - 2 (v.x_{j-1} in
    stage 3) and latched with it (early; everything below holds), v.M in stage ACC from the lane's pM
    register (`pm_r`: the two product halves already added, one carry chain behind a register). The
    exponent and `lob` come from a register per vector loaded in stage 1 (not carried by the tags). The
    latches are `full` from the cycle the last beat is in stage ACC (the scalar unit may start then: its first reads of the sums are
    two cycles after its start, of the exponents and `lob` at its start) until the scalar unit releases
    them (`rel`; a release in the same cycle wins). Stage 12 of a read-out
    beat writes the lanes' elements and `s` into the output FIFO (hdl/engine/out_fifo.py), whose
    registered read port is `o`.

    Parameters
    ----------
    cfg : EngineConfig
        The engine's parameters.
    acc_width : int
        Width of the dot-product accumulators and latches, 8..128 (the caller makes it exact).
    bram_delays : bool
        For the iCE40 builds (default False): the lanes' delay lines (Lane `bram_delays`) and the
        write-back address (issue to stage WB) in block RAM (hdl/engine/delay_line.py; at narrow formats
        3 SB_RAM40_4K at one lane, 1 + 4 x lanes with more): fewer logic cells, a block-RAM read in front of logic instead of
        a flip-flop. Same results and latencies.
    short_chains : bool
        For the iCE40 builds (default False): the lanes' saturating sums in short carry chains (Lane
        `short_chains`); at one lane (and acc_width >= 18) also the accumulators, with a deferred carry
        (`deferred_carry`: the latches hold a partial sum and a carry, latch_layout `carries`; the scalar
        unit adds the carry as it loads them). Same results and latencies.
    dsp : str
        The lanes' multipliers (Lane `dsp`, hdl/dsp_multiplier.py): "generic" (default), "ecp5" (the
        MULT18X18D primitive with its own registers, for synth_ecp5) or "auto". Same results and latencies.

    Ports
    -----
    adv : Out(1)
        The pipeline advances: always (kept for the stage enables; constant 1).
    ro_credit : Out(1)
        A read-out beat may issue this cycle (fewer than OUT_DEPTH read-out beats owed to `o`); from a
        register, independent of `o.ready`.
    beat : In(beat_layout)
        Tag of the beat issued into the pipeline (stage 0; hdl/engine/issue_stage.py).
    x : In(lanes x signed(in_width))
        Its input elements (stage 0; 0 for read-out beats).
    m : In(lanes * state_width)
        Stage 0: the state word of the beat (state memory read data, prefetched by the issue stage).
    xa, xb : In(lanes * in_width)
        Stage 0: the same word of samples j-2 and j-1 (sample buffer read data).
    pw : In(2 x pass_layout)
        Pass registers of D and X.
    pa : In(pa_layout)
        Stage 0: kA, cmA, cmB of the beat (hdl/engine/issue_stage.py).
    s : In(s_layout)
        s of the update being read out.
    we, waddr, wdata : Out
        Stage WB: state write-back strobe, word address, word.
    inflight : Out(2)
        Bit v: a new pass of v must wait: a beat of v is in stages 1..WB+1 (its word is not written back
        before the prefetch read of the new pass's first beat, a cycle ahead of its issue) and v has at
        most WB+1 words (else its passes are long enough that no read can overtake a write-back; constant
        0). Stages past 1 read only pass-register fields that sample passes leave alone.
    lpend : Out(2)
        Bit v: the last beat of a sample pass of v is in stages 1..ACC (its sums are not latched yet).
    inflight_rest, lpend_rest : Out(2)
        Registers: the values `inflight` and `lpend` take at the next edge but for the beat in stage 0 (the
        OR over stages 1..WB, 1..ACC-1 now): the issue stage decides a cycle ahead and adds its own beat.
    inflight_used : Out(2)
        Bit v, a constant: v has at most WB+1 words (`inflight` v is not constant 0).
    full_next : Out(2)
        The value `full` takes at the next edge (combinational, from `rel`).
    credit_next : Out(2)
        The value `ro_credit` takes at the next edge: bit 0 if no read-out beat is issued this cycle,
        bit 1 if one is (from o.ready).
    lat : Out(latch_layout)
        The dot-product latches: XM, XX1, XX of the last X pass, DM, DD1, DD of the last D pass, and
        the block exponents EX, ED of those passes.
    lob : Out(1)
        The latched D pass is of the batch's last sample (its last beat carried last_of_batch).
    full : Out(2)
        Bit v: v's latches hold sums the scalar unit has not released (from the cycle the last beat of the
        pass is in stage ACC: its sums are written at the end of that cycle).
    rel : In(1)
        Pulse: the scalar unit has read the latches (both vectors).
    o : Out(stream(update_layout))
        The update stream (hdl/engine/sbe_engine.py), out of the OUT_DEPTH-beat FIFO (registered output).
    saturated : Out(1)
        Sticky: a state element (MA of a valid beat, MB of a read-out beat) or an output element clamped
        (set the cycle after the clamp's stage).
    busy : Out(1)
        A beat in stages 1..9, in the output FIFO, or a latch full.

    Latency: 12 cycles from `beat` to stage 12 (a read-out beat is on `o` 14 cycles after it issued: the
    FIFO's write and its registered read); the state write-back is 6 cycles after issue; a pass's
    latches are `full` ACC cycles after its last beat issued (its sums written at the end of that cycle).
    """

    NSTAGES = 13    # stage 0 (issue) .. stage 12
    WB = 6          # the stage writing the state back
    ACC = 7         # the stage latching the dot products: set per instance at elaboration (`sum_stages`)
    OUT_DEPTH = 16  # output FIFO beats: >= the issue-to-`o` latency + 2, so a consumer that is always
    #               ready sees the read-out back to back

    def __init__(self, cfg: EngineConfig, *, acc_width: int, bram_delays: bool = False, dsp: str = "generic",
                 short_chains: bool = False):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be an EngineConfig, not {cfg!r}")
        for name, value in (("bram_delays", bram_delays), ("short_chains", short_chains)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, not {value!r}")
        self.cfg = cfg
        self.bram_delays, self.short_chains = bram_delays, short_chains
        self.dsp = Lane.check_dsp(cfg, dsp)
        self.acc_width = check_int("acc_width", acc_width, 8, 128)
        L, W, SW = cfg.lanes, cfg.in_width, cfg.state_width
        #: the one-lane accumulators keep the carry between their halves in a register (below); the latches
        #: then carry it (latch_layout `carries`). At least 18 bits: the scalar unit's LDI integer is then
        #: exactly acc_width wide, so its carry wraps where the accumulator's does.
        self.deferred_carry = short_chains and L == 1 and self.acc_width >= 18
        super().__init__({
            "adv": Out(1),
            "ro_credit": Out(1),
            "beat": In(beat_layout(cfg)),
            "x": In(data.ArrayLayout(signed(W), L)),
            "m": In(unsigned(L * SW)),
            "xa": In(unsigned(L * W)),
            "xb": In(unsigned(L * W)),
            "pw": In(data.ArrayLayout(pass_layout(cfg), 2)),
            "pa": In(pa_layout(cfg)),
            "s": In(s_layout(cfg)),
            "we": Out(1),
            "waddr": Out(range(cfg.words(Vec.D) + cfg.words(Vec.X))),
            "wdata": Out(unsigned(L * SW)),
            "inflight": Out(2),
            "lpend": Out(2),
            "inflight_rest": Out(2), "inflight_used": Out(2), "lpend_rest": Out(2), "full_next": Out(2),
            "credit_next": Out(2),
            "lat": Out(latch_layout(acc_width, cfg.exp_width, carries=self.deferred_carry)),
            "lob": Out(1),
            "full": Out(2),
            "rel": In(1),
            "o": Out(stream.Signature(update_layout(lanes=L, elem_width=cfg.elem_width,
                                                    mant_width=cfg.s_mant_width, exp_width=cfg.s_exp_width))),
            "saturated": Out(1),
            "busy": Out(1),
        })

    def sum_stages(self, platform) -> tuple[int, int, int]:
        """Stages accumulating v.M, v.v and v.x_{j-1} (each latched at the end of its stage): a sample
        beat's products come from the lanes in Lane.PM_STAGE (the halves of v.M), Lane.PV_STAGE and
        px_stage; at one lane they are the sums (v.M a stage later, from the lane's pM register), with
        more a tree of ceil(log2 L) registered two-input adders follows. ACC is the latest."""
        L, px_stage = self.cfg.lanes, Lane.px_stage_of(self.cfg)
        if L == 1:
            return Lane.PM_STAGE + 1, Lane.PV_STAGE, px_stage
        depth = math.ceil(math.log2(L))
        return Lane.PM_STAGE + depth, Lane.PV_STAGE + depth, px_stage + depth

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        L, W, SW = cfg.lanes, cfg.in_width, cfg.state_width
        st_M, st_V, st_1 = self.sum_stages(platform)
        self.ACC = max(st_M, st_V, st_1)

        adv = self.adv
        m.d.comb += adv.eq(1)

        # Tags: tag[k] is the beat in stage k.
        tag = [self.beat] + [Signal(beat_layout(cfg), name=f"tag{k}") for k in range(1, self.NSTAGES)]
        with m.If(adv):
            for k in range(1, self.NSTAGES):
                m.d.sync += tag[k].eq(tag[k - 1])
        # A new pass of v may read a state word an earlier pass has not written back yet only if v has at
        # most WB+1 words (its beat of word w issues >= words(v) cycles after the earlier beat of word w,
        # which wrote back at the end of its stage WB, and was read at the end of the cycle before its
        # issue); the pass registers it loads are read by stage 1.
        # Both are registers (they feed the issue decision): the OR over stages 1..n at the next edge is the
        # OR over stages 0..n-1 now (the tags move on `adv`; stage 0 is the beat being issued).
        self._rest = []     # for invariants(): the `*_rest` registers against the tags they stand for
        # The issue stage decides a cycle ahead: it takes their next values but for its own beat (`*_rest`:
        # the OR over stages 1..n now, registers of the OR over stages 0..n-1 the cycle before).
        for v in Vec:
            if cfg.words(v) <= self.WB + 1:
                infl, infl_r = Signal(name=f"inflight_{v}"), Signal(name=f"inflight_rest_{v}")
                with m.If(adv):
                    m.d.sync += [infl.eq(Cat(t.valid & (t.vec == v) for t in tag[0:self.WB + 1]).any()),
                                 infl_r.eq(Cat(t.valid & (t.vec == v) for t in tag[0:self.WB]).any())]
                m.d.comb += [self.inflight[v].eq(infl), self.inflight_rest[v].eq(infl_r), self.inflight_used[v].eq(1)]
                self._rest.append((infl_r == Cat(t.valid & (t.vec == v) for t in tag[1:self.WB + 1]).any(),
                                   f"datapath: inflight_rest[{v.name}] is not the OR over stages 1..WB"))
            lp, lp_r = Signal(name=f"lpend_{v}"), Signal(name=f"lpend_rest_{v}")
            with m.If(adv):
                m.d.sync += [lp.eq(Cat(t.valid & ~t.ro & t.last & (t.vec == v) for t in tag[0:self.ACC]).any()),
                             lp_r.eq(Cat(t.valid & ~t.ro & t.last & (t.vec == v) for t in tag[0:self.ACC - 1]).any())]
            m.d.comb += [self.lpend[v].eq(lp), self.lpend_rest[v].eq(lp_r)]
            self._rest.append((lp_r == Cat(t.valid & ~t.ro & t.last & (t.vec == v) for t in tag[1:self.ACC]).any(),
                               f"datapath: lpend_rest[{v.name}] is not the OR over stages 1..ACC-1"))

        def sel(k, field):
            """Pass-register `field` of the vector of the beat in stage k."""
            return Mux(tag[k].vec, self.pw[1][field], self.pw[0][field])

        lanes = []
        for k in range(L):
            m.submodules[f"lane{k}"] = lane = Lane(cfg, bram_delays=self.bram_delays, dsp=self.dsp, index=k,
                                                   short_chains=self.short_chains)
            lanes.append(lane)
            m.d.comb += [
                lane.adv.eq(adv), lane.x.eq(self.x[k]),
                lane.m.eq(self.m[k * SW:(k + 1) * SW]),
                lane.xa.eq(self.xa[k * W:(k + 1) * W]), lane.xb.eq(self.xb[k * W:(k + 1) * W]),
                lane.ro0.eq(tag[0].ro), lane.ro4.eq(tag[4].ro), lane.ro6v.eq(tag[6].valid & tag[6].ro),
                lane.kA.eq(self.pa.kA), lane.cmA.eq(self.pa.cmA), lane.cmB.eq(self.pa.cmB),
                lane.shA.eq(sel(1, "shA")), lane.shB.eq(sel(2, "shB")), lane.kB.eq(sel(3, "kB")),
                lane.om.eq(sel(6, "om")), lane.osh.eq(sel(8, "osh")),
            ]

        # stage WB: write-back
        wb = tag[self.WB]
        if self.bram_delays:
            # the word address from a block-RAM buffer (the tags' addr fields, unread, are trimmed away)
            m.submodules.dl_addr = dl_addr = DelayLine(len(self.waddr), self.WB)
            m.d.comb += [dl_addr.en.eq(adv), dl_addr.d.eq(tag[0].addr), self.waddr.eq(dl_addr.q)]
        else:
            m.d.comb += self.waddr.eq(wb.addr)
        # (the read-out writes nothing: the next batch's first two passes apply the updates it applies on its
        # way out, hdl/engine/issue_stage.py)
        m.d.comb += [self.we.eq(adv & wb.valid & ~wb.ro), self.wdata.eq(Cat(lane.mb for lane in lanes))]

        # Sample pass: exact dot products over the pass: stage ACC-1 registers the sums over the lanes of
        # the products (v.M as its two DSP halves), stage ACC accumulates (v.M: acc + lo + hi * 2**split,
        # two carry chains over the same bits, so about one chain's delay) and latches at the pass's end.
        aw = self.acc_width
        S = lanes[0].split
        A = self.ACC
        # A sample beat's products: the halves of v.M in stage Lane.PM_STAGE (6), v.v in PV_STAGE (5),
        # v.x_{j-1} in px_stage (3 at one lane, else 5).
        ln0 = lanes[0]
        if L == 1:
            # one lane: its product registers are the sums: accumulated where they are (v.v in stage 5,
            # v.x_{j-1} in stage 3, each latched at the end of its stage), rather than copied into more
            # registers first. Latching early is safe: the pass's last beat issued with v's latches
            # released (hdl/engine/issue_stage.py waits for ~full).
            # v.M a stage later, from the lane's pM register (pm_r = lo + hi * 2**split, kept for the
            # read-out anyway): one carry chain from a register. acc + lo + hi * 2**split took two carry
            # chains: behind the ECP5's DSP output registers 8.7 ns (its worst path), on the iCE40 UP5K
            # 23.9 ns (the engine's worst path).
            s1_s, sV_s, pm_s = ln0.px, ln0.pv, ln0.pm_r
        else:
            # the sums over the lanes as a tree of registered two-input adders, one level per stage from
            # the lanes' product registers: one carry chain per stage (a single level of three adders for
            # the four lanes' DSP outputs was the L = 4 engine's worst path on the ECP5, 99 MHz)
            depth = math.ceil(math.log2(L))

            def lane_sum(name, values):
                level = list(values)
                for d in range(1, depth + 1):
                    nxt = []
                    for i in range(0, len(level), 2):
                        r = Signal(signed(aw), name=f"sum{name}_{d}_{i // 2}")
                        with m.If(adv):
                            m.d.sync += r.eq(level[i] + level[i + 1] if i + 1 < len(level) else level[i])
                        nxt.append(r)
                    level = nxt
                return level[0]
            lo_s, hi_s = lane_sum("lo", (ln.pm_lo for ln in lanes)), lane_sum("hi", (ln.pm_hi for ln in lanes))
            s1_s, sV_s = lane_sum("1", (ln.px for ln in lanes)), lane_sum("V", (ln.pv for ln in lanes))
            pm_s = lo_s + (hi_s << S)
        tp = tag[A - 1]
        lat = self.lat

        def accumulate(name, value, stage, lat_x, lat_d):
            """acc += value over the sample pass's beats in `stage`; on its last beat the total goes to the
            latch of its vector (the latches named lat_x, lat_d; sign-extended to acc_width) and acc restarts
            at 0."""
            if self.deferred_carry:
                # (short_chains at one lane) acc_width bits in two halves with the carry between them in a
                # register: each cycle lo + value's low half (its carry into c) and hi + value's high half
                # + c, two chains of half the width from registers to registers, with no select after
                # them (a carry-select's select and fan-out made the UP5K engine's worst paths: accM,
                # accV -> acc, 22.2-22.9 ns). The sum is {hi, lo} + c * 2**h mod 2**aw; the latches take
                # the last beat's halves and carry (latch_layout `carries`), and the scalar unit adds it.
                h = latch_split(aw)
                vx = Signal(signed(aw), name=f"val{name}")
                lo, c = Signal(h, name=f"acc{name}_lo"), Signal(name=f"acc{name}_c")
                hi = Signal(signed(aw - h), name=f"acc{name}_hi")
                s_lo = Signal(h + 1, name=f"tot{name}_lo")
                s_hi = Signal(signed(aw - h), name=f"tot{name}_hi")
                m.d.comb += [vx.eq(value), s_lo.eq(lo + vx[:h]), s_hi.eq(hi + vx[h:].as_signed() + c)]
                ta = tag[stage]
                with m.If(adv & ta.valid & ~ta.ro):
                    with m.If(ta.last):
                        m.d.sync += [lo.eq(0), hi.eq(0), c.eq(0)]
                        for v, lat_v in ((Vec.X, lat_x), (Vec.D, lat_d)):
                            with m.If(ta.vec == v):
                                m.d.sync += [lat[lat_v].eq(Cat(s_lo[:h], s_hi)),
                                             lat.C[P.SRC[lat_v]].eq(s_lo[h])]
                    with m.Else():
                        m.d.sync += [lo.eq(s_lo[:h]), hi.eq(s_hi), c.eq(s_lo[h])]
                return
            # (else: acc_width and one add; more lanes: v.M's value is itself a sum, lo + hi * 2**split,
            # which Yosys makes one three-operand add with acc)
            acc, tot = Signal(signed(aw), name=f"acc{name}"), Signal(signed(aw), name=f"tot{name}")
            m.d.comb += tot.eq(acc + value)
            ta = tag[stage]
            with m.If(adv & ta.valid & ~ta.ro):
                with m.If(ta.last):
                    m.d.sync += acc.eq(0)
                    with m.If(ta.vec == Vec.X):
                        m.d.sync += lat[lat_x].eq(tot)
                    with m.Else():
                        m.d.sync += lat[lat_d].eq(tot)
                with m.Else():
                    m.d.sync += acc.eq(tot)

        accumulate("M", pm_s, st_M, "XM", "DM")
        accumulate("1", s1_s, st_1, "XX1", "DD1")
        accumulate("V", sV_s, st_V, "XX", "DD")
        # A cycle ahead (the last beat in stage ACC-1): `full`, the block exponent, `lob`. The scalar unit
        # may start as the beat enters stage ACC; it reads the exponents and `lob` at its start, the sums
        # two cycles later (hdl/engine/scalar_unit.py: the first LDI issues the cycle after the start and
        # reads its source a cycle after its issue).
        # The exponent and `lob` of a pass's last beat are kept per vector from its stage 1 rather than
        # carried by the tags to stage ACC-1: no later last beat of the vector issues before this one
        # leaves stage ACC (`lpend`), so the register still holds them then.
        t1 = tag[1]
        exp_p = [Signal(signed(cfg.exp_width), name=f"exp_{v}") for v in Vec]
        lob_p = Signal(name="lob_pend")
        with m.If(adv & t1.valid & ~t1.ro & t1.last):
            with m.If(t1.vec == Vec.X):
                m.d.sync += exp_p[Vec.X].eq(t1.exp)
            with m.Else():
                m.d.sync += [exp_p[Vec.D].eq(t1.exp), lob_p.eq(t1.lob)]
        with m.If(adv & tp.valid & ~tp.ro & tp.last):
            with m.If(tp.vec == Vec.X):
                m.d.sync += lat.EX.eq(exp_p[Vec.X])
            with m.Else():
                m.d.sync += [self.lob.eq(lob_p), lat.ED.eq(exp_p[Vec.D])]
        for v in Vec:
            m.d.comb += self.full_next[v].eq(~self.rel & (self.full[v] | (adv & tp.valid & ~tp.ro & tp.last
                                                                           & (tp.vec == v))))
        m.d.sync += self.full.eq(self.full_next)

        # stage 12, read-out: into the output FIFO; credits for the issue stage
        tout = tag[self.NSTAGES - 1]
        ol = self.o.payload.shape()
        # OUT_DEPTH words, all the credits allow (every word owed may have to wait in the FIFO)
        # SyncFIFOBuffered's behaviour; the credits keep every write off a full FIFO (invariants() below), so
        # the FIFO does not gate its writes with its level
        m.submodules.ofifo = ofifo = OutFIFO(ol.size, self.OUT_DEPTH, gate_writes=False)
        self.out_fifo = ofifo           # for the formal proofs (its invariants, after elaboration)
        word = Signal(ol)
        m.d.comb += [word.s_mant.eq(self.s.mant), word.s_exp.eq(self.s.exp), word.vec.eq(tout.vec == Vec.X),
                     word.last.eq(tout.last)]
        for k, lane in enumerate(lanes):
            m.d.comb += word.elems[k].eq(lane.elem)
        # Every read-out word goes through the FIFO (its registered read port is the output): a bypass
        # register for an empty FIFO saved a cycle of latency but put the FIFO's level, the bypass decision
        # and the output stage's tag into one loop, the L = 4 engine's worst ECP5 path (8.9 ns across the die).
        # The write strobe is a register of its own, loaded from stage 11's tag (= tag 12's valid & ro):
        # placed by the FIFO's level logic rather than by the lanes that the tags serve.
        ro_out = Signal(name="ro_out12")
        with m.If(adv):
            m.d.sync += ro_out.eq(tag[-2].valid & tag[-2].ro)
        self._rest.append((ro_out == (tout.valid & tout.ro), "datapath: ro_out12 is not stage 12's read-out valid"))
        m.d.comb += [ofifo.w_en.eq(ro_out), ofifo.w_data.eq(word),
                     self.o.valid.eq(ofifo.r_rdy), self.o.payload.eq(ofifo.r_data), ofifo.r_en.eq(self.o.ready)]
        owed = Signal(range(self.OUT_DEPTH + 1))
        issued, taken = self.beat.valid & self.beat.ro, self.o.valid & self.o.ready
        m.d.sync += owed.eq(owed + issued - taken)
        # ro_credit = owed < OUT_DEPTH, kept in a register (no compare in front of the issue decision):
        # its next value from compares of owed, the late events only select
        # (credit_next: for both outcomes of this cycle's read-out issue, for the issue stage's decision)
        credit = Signal(init=1, name="credit")
        m.d.comb += [self.credit_next[0].eq(taken | (owed < self.OUT_DEPTH)),
                     self.credit_next[1].eq(owed < Mux(taken, self.OUT_DEPTH, self.OUT_DEPTH - 1))]
        m.d.sync += credit.eq(Mux(issued, self.credit_next[1], self.credit_next[0]))
        m.d.comb += self.ro_credit.eq(credit)
        self._ro_state = (tag[1:], owed, credit)

        # saturation: sticky over every clamp of a valid beat (the output element's of read-out beats only);
        # the qualified clamp bits are registered first (the clamp tests end a stage), so `saturated`
        # rises one cycle after the clamp
        hits = Signal(3 * L)
        with m.If(adv):
            m.d.sync += hits.eq(Cat(Cat(lane.sat[0] & tag[lane.sat_stages[0]].valid,
                                        lane.sat[1] & tag[lane.sat_stages[1]].valid,
                                        lane.sat[2] & tout.valid & tout.ro) for lane in lanes))
        with m.If(hits.any()):
            m.d.sync += self.saturated.eq(1)

        m.d.comb += self.busy.eq(Cat(t.valid for t in tag[1:]).any() | (owed != 0) | self.full.any())
        return m

    def invariants(self) -> list[tuple]:
        """After elaboration: (condition, message) pairs that hold in every reachable state (flow/formal_props
        asserts them): the output FIFO's (OutFIFO.invariants), and the credit accounting: `owed` is the
        read-out beats in stages 1..12 plus the words in the FIFO, at most
        OUT_DEPTH, and `credit` = owed < OUT_DEPTH. Together they imply the FIFO never refuses a word. And
        the `*_rest` registers are the ORs over the tags they stand for (the issue stage's decision, made a
        cycle ahead from them, then agrees with the state: IssueStage.invariants)."""
        if not hasattr(self, "_ro_state"):
            raise RuntimeError("VectorDatapath.invariants() names signals made by elaborate(): elaborate it "
                               "first (flow/formal_props/common.py Elaborated)")
        tags, owed, credit = self._ro_state
        fifo = self.out_fifo
        in_flight = sum((t.valid & t.ro).as_unsigned() for t in tags)
        return fifo.invariants() + [
            (owed == in_flight + fifo.level, "datapath: owed is not the read-out words held"),
            (owed <= self.OUT_DEPTH, "datapath: more read-out words owed than OUT_DEPTH"),
            (credit == (owed < self.OUT_DEPTH), "datapath: credit disagrees with owed"),
        ] + self._rest
