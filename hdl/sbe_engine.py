"""SBE engine: a stream of (x, delta) samples in, one rank-1 update (s, Dhat, Xhat) out per batch.

Bit-exact with golden/rtl/sbe_engine.py (SBEFixedEngine); the scalar recurrences are the microcode of
contract/microcode.py run by hdl/scalar_unit.py. Algorithm and formats: see golden/rtl/sbe_engine.py.

Ports
-----
i : In(stream)  `in_layout(lanes, in_width, exp_width)`: {elems: lanes x signed(in_width), exp:
    signed(exp_width), vec, last, last_of_batch}
    Per sample: ceil(b/L) beats of x (vec=0), then ceil(a/L) beats of delta (vec=1); `last` on the last
    beat of each vector; `last_of_batch` on the last delta beat of the batch's last sample. Lanes past a
    vector's end are ignored (forced to 0). `exp` is the vector's block exponent (value = elems *
    2**(exp - frac), see golden/rtl/sbe_engine.py), read on the vector's `last` beat (ignored on the others). The engine counts beats itself; tags that disagree with its
    count set `framing_error` (sticky) and are otherwise ignored.
o : Out(stream) contract/layouts.py `update_layout` (the contract of the update controller): Dhat beats
    then Xhat beats, s_mant/s_exp on every beat.
clear : In  synchronous state reset (same effect as `rst`): the batch in progress and an update being
        read out are dropped; the state returns to the reset pattern (takes ceil(a/L)+ceil(b/L) cycles).
busy : Out  the engine holds a batch, an update, or is initialising.
sample_count : Out  samples received in the current batch.
saturated : Out  sticky: some value was clamped (state, coefficient, float exponent, output element).
framing_error : Out  sticky: an input tag disagreed with the configured a, b.

Datapath (per lane, one beat per cycle, stalled as a whole only by back-pressure on `o`)
---------------------------------------------------------------------------------------
========  ===================================================================================
stage 0   issue: state / sample-buffer read addresses; input beat written to buffer slot j
stage 1   t1 = rnd(M, kA); pA = cmA * x_{j-2}; pB = (cmB | v) * x_{j-1}; pV = v*v
stage 2   MA = sat_SW(t1 + rnd(pA, shA))                 (update of sample j-2)
stage 3   MB = sat_SW(rnd(MA, kB) + rnd(pB, shB)) in the read-out (update of sample n), else MA
stage 4   M <- MB written back;  pM = (om | v) * MB
stage 5   pass: exact sums v.M, v.x_{j-1}, v.v (latched for the scalar unit at the pass end);
          read-out: element = sat_16(rnd(pM, osh)) -> output register
========  ===================================================================================

Latency and throughput: a sample takes ceil(b/L) + ceil(a/L) cycles; the scalar CHAIN of sample j
(len(CHAIN) = 75 cycles, one microcode op per cycle) overlaps the passes of samples j+1 and j+2 and stalls
nothing while it is shorter than a sample, so per sample max(ceil((a+b)/L), 75) cycles. After the last
sample of a batch: ~6 cycles to the latches, its CHAIN, FINAL up to RDY D (26 ops: s and Dhat's scale),
then ceil(a/L)+ceil(b/L) read-out beats and ~6 pipeline cycles. Measured (bench/engine.py, first
input beat to last output beat, batch 32, read-out included), a=100, b=784: L=1 29,286 cycles = 1.035 x
32*ceil((a+b)/L); L=4 7,407 = 1.047 x; L=8 (Icarus) 3,778 = 1.064 x (the fixed tail is 6 % of an 8-lane
batch). Layers with a+b < 75*L are chain-bound: at L=1 the digits layers take 3,315 cycles (32x65:
1.068 x the stream bound) and 2,560 (10x33: 1.86 x the stream bound 1,376, 1.067 x the chain bound
32*75; 3,846 when the chain was 117 ops). Hiding the chain there needs a second ALU (dual issue).
State: (ceil(a/L)+ceil(b/L)) x L x state_width bits (block RAM); sample buffer 3 x that x in_width.
"""
from __future__ import annotations

from amaranth import Array, Const, Module, Mux, ResetInserter, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract import microcode as P
from contract.engine_config import INIT_LFSR_SEED, INIT_LFSR_TAPS, LMAX, EngineConfig
from contract.enums import Segment
from contract.layouts import sample_layout, update_layout

from hdl.fixed_point import rshift_round_hw, saturate_hw
from hdl.scalar_unit import ScalarUnit

def ceil_div(x: int, y: int) -> int:
    return -(-x // y)


class SBEEngine(wiring.Component):
    """Rank-1 SBE engine.

    Parameters
    ----------
    a, b : int
        delta length (rows, 1..4096) and x length (columns, 1..4096); any value.
    lanes : int
        Elements per beat (1..8).
    in_width, x_frac, delta_frac : int
        Input width (2..16) and binary points of x and delta (default in_width-2: Q2.14).
    state_width, coef_width, mant_width, fexp_width, seed_bits, elem_width, s_mant_width, s_exp_width,
    max_batch : int
        Internal formats; see golden/rtl/sbe_engine.py (defaults 24, 18, 24, 12, 8, 16, 16, 8, 65535).
    exp_width : int
        Width of the per-vector input block exponent (1..7, default 6).

    Raises
    ------
    TypeError, ValueError
        A parameter out of range, with its name and the allowed range.
    """

    def __init__(self, **params):
        self.cfg = cfg = EngineConfig(**params)
        self.in_layout = sample_layout(cfg.lanes, cfg.in_width, cfg.exp_width)
        self.out_layout = update_layout(lanes=cfg.lanes, elem_width=cfg.elem_width, mant_width=cfg.s_mant_width,
                                        exp_width=cfg.s_exp_width)
        L = cfg.lanes
        self.words = {P.VEC_D: ceil_div(cfg.a, L), P.VEC_X: ceil_div(cfg.b, L)}
        self.acc_width = cfg.in_width + max(cfg.state_width, cfg.in_width) + (max(cfg.a, cfg.b) * L).bit_length() + 2
        super().__init__({
            "i": In(stream.Signature(self.in_layout)),
            "o": Out(stream.Signature(self.out_layout)),
            "clear": In(1),
            "busy": Out(1),
            "sample_count": Out(16),
            "saturated": Out(1),
            "framing_error": Out(1),
        })

    a = property(lambda self: self.cfg.a, doc="delta length.")
    b = property(lambda self: self.cfg.b, doc="x length.")
    lanes = property(lambda self: self.cfg.lanes, doc="Elements per beat.")

    def elaborate(self, platform):
        top = Module()
        m = Module()
        top.submodules.core = ResetInserter({"sync": self.clear})(m)

        cfg = self.cfg
        L, W, SW, CW = cfg.lanes, cfg.in_width, cfg.state_width, cfg.coef_width
        ND, NX = self.words[P.VEC_D], self.words[P.VEC_X]
        NW = ND + NX
        base = {P.VEC_D: 0, P.VEC_X: ND}
        length = {P.VEC_D: cfg.a, P.VEC_X: cfg.b}

        m.submodules.su = su = ScalarUnit(acc_width=self.acc_width, **cfg.kwargs())
        m.submodules.state = state = Memory(shape=unsigned(L * SW), depth=NW, init=[])
        m.submodules.sbuf = sbuf = Memory(shape=unsigned(L * W), depth=3 * NW, init=[])
        st_rd = state.read_port()
        st_wr = state.write_port()
        bA_rd = sbuf.read_port()
        bB_rd = sbuf.read_port()
        buf_wr = sbuf.write_port()

        adv = Signal()          # the whole pipeline moves (only back-pressure on `o` stops it)
        m.d.comb += adv.eq(~self.o.valid | self.o.ready)
        for p in (st_rd, bA_rd, bB_rd):
            m.d.comb += p.en.eq(adv)

        # ---------------------------------------------------------------- pipeline registers
        NST = 6

        def stage_sig(name, shape=1):
            return [Signal(shape, name=f"{name}{k}") for k in range(NST)]
        valid, vec, last, ro, lob = (stage_sig("valid"), stage_sig("vec"), stage_sig("last"), stage_sig("ro"),
                                     stage_sig("lob"))
        waddr = stage_sig("waddr", range(NW))
        bexp = stage_sig("bexp", signed(cfg.exp_width))      # input block exponent of the beat
        with m.If(adv):
            for k in range(1, NST):
                m.d.sync += [valid[k].eq(valid[k - 1]), vec[k].eq(vec[k - 1]), last[k].eq(last[k - 1]),
                             ro[k].eq(ro[k - 1]), lob[k].eq(lob[k - 1]), waddr[k].eq(waddr[k - 1]),
                             bexp[k].eq(bexp[k - 1])]
        inflight = [Signal(name=f"inflight_{v}") for v in (0, 1)]
        for v in (0, 1):
            m.d.comb += inflight[v].eq(sum((valid[k] & (vec[k] == v)).as_unsigned() for k in range(1, NST)) != 0)

        # Per-vector pass registers, latched at the first beat of a pass (a pass of vector v starts only
        # when no beat of v is in flight, so beats never see a neighbour's words).
        def pass_regs(v):
            return dict(kA=Signal(signed(8), name=f"kA{v}"), cmA=Signal(signed(CW), name=f"cmA{v}"),
                        shA=Signal(signed(8), name=f"shA{v}"), kB=Signal(signed(8), name=f"kB{v}"),
                        cmB=Signal(signed(CW), name=f"cmB{v}"), shB=Signal(signed(8), name=f"shB{v}"),
                        om=Signal(signed(CW), name=f"om{v}"), osh=Signal(signed(8), name=f"osh{v}"))
        pr = [pass_regs(0), pass_regs(1)]
        ro_s_mant = Signal(signed(cfg.s_mant_width))
        ro_s_exp = Signal(signed(cfg.s_exp_width))

        def sel(k, key):
            """The pass register `key` of the vector of the beat in stage k."""
            return Mux(vec[k], pr[1][key], pr[0][key])

        def coef_of(v, par):
            return (getattr(su, f"k{v}{par}"), getattr(su, f"cm{v}{par}"), getattr(su, f"sh{v}{par}"))

        # ---------------------------------------------------------------- issue (stage 0)
        # PH_BOOT lasts one cycle after reset: every signal then changes after time 0, which Icarus needs
        # to evaluate the combinational processes of the init phase (they would stay X otherwise).
        PH_INIT, PH_RUN, PH_RO, PH_BOOT = 0, 1, 2, 3
        phase = Signal(2, init=PH_BOOT)
        with m.If(phase == PH_BOOT):
            m.d.sync += phase.eq(PH_INIT)
        cur = Signal(init=P.VEC_X)                 # vector of the current pass
        w = Signal(range(max(ND, NX) + 1))         # beat within the pass
        j = Signal(16, init=1)                     # sample of the batch being received (1-based)
        slot = Signal(range(3))                    # sample-buffer slot of sample j
        chains_done = Signal(16)
        latch_full = [Signal(name=f"latch_full_{v}") for v in (0, 1)]
        ro_ok = [Signal(name=f"ro_ok_{v}") for v in (0, 1)]

        last_w = Signal.like(w)
        m.d.comb += last_w.eq(Mux(cur, NX - 1, ND - 1))
        first = w == 0
        is_last = Signal()
        m.d.comb += is_last.eq(w == last_w)
        slot_m1, slot_m2 = Signal(range(3)), Signal(range(3))
        m.d.comb += [slot_m1.eq(Mux(slot == 0, 2, slot - 1)), slot_m2.eq(Mux(slot == 0, 1, Mux(slot == 1, 2, 0)))]
        vbase = Mux(cur, base[P.VEC_X], base[P.VEC_D])
        addr = Signal(range(NW))
        m.d.comb += addr.eq(vbase + w)

        coef_ready = (j <= 2) | (chains_done >= j - 2)
        run_ok = Signal()
        m.d.comb += run_ok.eq((phase == PH_RUN) & self.i.valid
                              & (~first | (coef_ready & ~Mux(cur, inflight[1], inflight[0])))
                              & (~is_last | ~Mux(cur, latch_full[1], latch_full[0])))
        ro_go = Signal()
        m.d.comb += ro_go.eq((phase == PH_RO) & Mux(cur, ro_ok[1], ro_ok[0])
                             & (~first | ~Mux(cur, inflight[1], inflight[0])))
        issue_run = Signal()
        issue_ro = Signal()
        m.d.comb += [issue_run.eq(adv & run_ok), issue_ro.eq(adv & ro_go), self.i.ready.eq(issue_run)]

        # lanes past the end of the vector are forced to 0
        rem = {v: length[v] - (self.words[v] - 1) * L for v in (0, 1)}
        v_in = [Signal(signed(W), name=f"vin{k}") for k in range(L)]
        for k in range(L):
            lane_ok = ~is_last | Mux(cur, k < rem[P.VEC_X], k < rem[P.VEC_D])
            m.d.comb += v_in[k].eq(Mux(lane_ok, self.i.payload.elems[k], 0))

        slot_base = Array([Const(s * NW, range(3 * NW + 1)) for s in range(3)] + [Const(0, range(3 * NW + 1))])
        m.d.comb += [st_rd.addr.eq(addr), bA_rd.addr.eq(slot_base[slot_m2] + addr),
                     bB_rd.addr.eq(slot_base[slot_m1] + addr)]
        m.d.comb += [buf_wr.addr.eq(slot_base[slot] + addr), buf_wr.en.eq(issue_run),
                     buf_wr.data.eq(Const(0, L * W) | sum((v_in[k].as_unsigned() << (k * W)) for k in range(L)))]

        m.d.comb += [valid[0].eq(issue_run | issue_ro), vec[0].eq(cur), last[0].eq(is_last), ro[0].eq(phase == PH_RO),
                     lob[0].eq(self.i.payload.last_of_batch), waddr[0].eq(addr), bexp[0].eq(self.i.payload.exp)]
        v1 = [Signal(signed(W), name=f"v1_{k}") for k in range(L)]
        with m.If(adv):
            for k in range(L):
                m.d.sync += v1[k].eq(Mux(issue_run, v_in[k], 0))

        # framing check of the input tags
        with m.If(issue_run):
            want_vec = cur             # the sample stream's tags are enums.Vec, like `cur`
            bad = ((self.i.payload.vec != want_vec) | (self.i.payload.last != is_last)
                   | (self.i.payload.last_of_batch & ~(is_last & (cur == P.VEC_D))))
            with m.If(bad):
                m.d.sync += self.framing_error.eq(1)

        # pass sequencing and the pass registers
        ident = (Const(0, signed(8)), Const(0, signed(CW)), Const(0, signed(8)))
        with m.If(issue_run):
            with m.If(first):
                par = j[0]
                for v in (0, 1):
                    with m.If(cur == v):
                        regs = pr[v]
                        with m.If(j <= 2):
                            m.d.sync += [regs["kA"].eq(0), regs["cmA"].eq(0), regs["shA"].eq(0)]
                        with m.Else():
                            for pp in (0, 1):
                                with m.If(par == pp):
                                    kk, cc, ss = coef_of(v, pp)
                                    m.d.sync += [regs["kA"].eq(kk), regs["cmA"].eq(cc), regs["shA"].eq(ss)]
                        m.d.sync += [regs["kB"].eq(ident[0]), regs["cmB"].eq(ident[1]), regs["shB"].eq(ident[2])]
            with m.If(is_last):
                m.d.sync += w.eq(0)
                with m.If(cur == P.VEC_X):
                    m.d.sync += cur.eq(P.VEC_D)
                with m.Else():
                    m.d.sync += [cur.eq(P.VEC_X), slot.eq(Mux(slot == 2, 0, slot + 1))]
                    with m.If(self.i.payload.last_of_batch):
                        m.d.sync += [phase.eq(PH_RO), cur.eq(P.VEC_D)]
                    with m.Else():
                        m.d.sync += j.eq(j + 1)
            with m.Else():
                m.d.sync += w.eq(w + 1)
        with m.If(issue_ro):
            with m.If(first):
                for v in (0, 1):
                    with m.If(cur == v):
                        regs = pr[v]
                        with m.If(j <= 1):
                            m.d.sync += [regs["kA"].eq(0), regs["cmA"].eq(0), regs["shA"].eq(0)]
                        for pp in (0, 1):
                            with m.If(j[0] == pp):      # sample n: parity n%2 (stage B), n-1 the other
                                kk, cc, ss = coef_of(v, pp)
                                m.d.sync += [regs["kB"].eq(kk), regs["cmB"].eq(cc), regs["shB"].eq(ss)]
                                with m.If(j > 1):
                                    kk, cc, ss = coef_of(v, 1 - pp)
                                    m.d.sync += [regs["kA"].eq(kk), regs["cmA"].eq(cc), regs["shA"].eq(ss)]
                        m.d.sync += [regs["om"].eq(getattr(su, f"om{v}")), regs["osh"].eq(getattr(su, f"osh{v}"))]
                with m.If(cur == P.VEC_D):
                    m.d.sync += [ro_s_mant.eq(su.s_mant), ro_s_exp.eq(su.s_exp)]
            with m.If(is_last):
                m.d.sync += w.eq(0)
                for v in (0, 1):
                    with m.If(cur == v):
                        m.d.sync += ro_ok[v].eq(0)
                with m.If(cur == P.VEC_D):
                    m.d.sync += cur.eq(P.VEC_X)
                with m.Else():
                    m.d.sync += [phase.eq(PH_RUN), j.eq(1)]
            with m.Else():
                m.d.sync += w.eq(w + 1)

        # ---------------------------------------------------------------- state init (after reset)
        lfsr = Signal(16, init=INIT_LFSR_SEED)
        init_w = Signal(range(NW + 1))
        with m.If(phase == PH_INIT):
            in_x = init_w >= ND
            chain = [lfsr]
            bits = []
            for k in range(L):
                s_k = chain[-1]
                bits.append(s_k[0])
                chain.append(Mux(s_k[0], (s_k >> 1) ^ INIT_LFSR_TAPS, s_k >> 1))
            last_d, last_x = init_w == ND - 1, init_w == NW - 1
            count = Signal(range(L + 1))
            m.d.comb += count.eq(Mux(in_x, Mux(last_x, rem[P.VEC_X], L), Mux(last_d, rem[P.VEC_D], L)))
            words = []
            for k in range(L):
                lane_ok = k < count
                qd, qx = cfg.q(P.VEC_D), cfg.q(P.VEC_X)
                pos = Mux(in_x, 1 << qx, 1 << qd)
                neg = Mux(in_x, -(1 << qx), -(1 << qd))
                val = Signal(signed(SW), name=f"init_val{k}")
                m.d.comb += val.eq(Mux(lane_ok, Mux(bits[k], neg, pos), 0))
                words.append(val)
            m.d.comb += [st_wr.en.eq(1),
                         st_wr.data.eq(sum(words[k].as_unsigned() << (k * SW) for k in range(L)))]
            m.d.sync += [lfsr.eq(Array(chain + [chain[-1]] * ((1 << len(count)) - len(chain)))[count]),
                         init_w.eq(init_w + 1)]
            with m.If(init_w == NW - 1):
                m.d.sync += phase.eq(PH_RUN)

        # ---------------------------------------------------------------- stages 1..5
        sat_hits = []
        unpack = lambda raw, width, k: raw[k * width:(k + 1) * width].as_signed()   # noqa: E731
        sum_w = max(SW + LMAX, CW + W + LMAX) + 2
        t1 = [Signal(signed(sum_w), name=f"t1_{k}") for k in range(L)]
        pA = [Signal(signed(CW + W), name=f"pA_{k}") for k in range(L)]
        pB = [Signal(signed(max(CW, W) + W), name=f"pB_{k}") for k in range(L)]
        pV = [[Signal(signed(2 * W), name=f"pV{s}_{k}") for k in range(L)] for s in range(6)]
        pBx = [[Signal(signed(max(CW, W) + W), name=f"pB{s}_{k}") for k in range(L)] for s in range(6)]
        vv = [[Signal(signed(W), name=f"v{s}_{k}") for k in range(L)] for s in range(6)]
        MA = [Signal(signed(SW), name=f"MA_{k}") for k in range(L)]
        MB = [Signal(signed(SW), name=f"MB_{k}") for k in range(L)]
        pM = [Signal(signed(max(CW, W) + SW), name=f"pM_{k}") for k in range(L)]
        for k in range(L):
            # stage 1
            mold = unpack(st_rd.data, SW, k)
            bA = unpack(bA_rd.data, W, k)
            bB = unpack(bB_rd.data, W, k)
            kA = sel(1, "kA")
            r_t1 = rshift_round_hw(m, mold, kA, out_width=sum_w, max_left=LMAX, max_right=cfg.kmax + 1,
                                   name=f"s1t1_{k}")
            with m.If(adv):
                m.d.sync += [t1[k].eq(r_t1), pA[k].eq(sel(1, "cmA") * bA),
                             pBx[2][k].eq(Mux(ro[1], sel(1, "cmB"), v1[k]) * bB),
                             pV[2][k].eq(v1[k] * v1[k]), vv[2][k].eq(v1[k])]
            # stage 2
            r_pA = rshift_round_hw(m, pA[k], sel(2, "shA"), out_width=sum_w, max_left=LMAX,
                                   max_right=cfg.rmax + 1, name=f"s2pA_{k}")
            sum2 = Signal(signed(sum_w), name=f"sum2_{k}")
            m.d.comb += sum2.eq(t1[k] + r_pA)
            ma_val, ma_hit = saturate_hw(m, sum2, SW, name=f"ma_{k}")
            sat_hits.append((ma_hit, 2))
            with m.If(adv):
                m.d.sync += [MA[k].eq(ma_val), pBx[3][k].eq(pBx[2][k]), pV[3][k].eq(pV[2][k]), vv[3][k].eq(vv[2][k])]
            # stage 3
            r_tB = rshift_round_hw(m, MA[k], sel(3, "kB"), out_width=sum_w, max_left=LMAX,
                                   max_right=cfg.kmax + 1, name=f"s3tB_{k}")
            r_pB = rshift_round_hw(m, pBx[3][k], sel(3, "shB"), out_width=sum_w, max_left=LMAX,
                                   max_right=cfg.rmax + 1, name=f"s3pB_{k}")
            sum3 = Signal(signed(sum_w), name=f"sum3_{k}")
            m.d.comb += sum3.eq(r_tB + r_pB)
            mb_val, mb_hit = saturate_hw(m, sum3, SW, name=f"mb_{k}")
            sat_hits.append((mb_hit & ro[3], 3))
            with m.If(adv):
                m.d.sync += [MB[k].eq(Mux(ro[3], mb_val, MA[k])), pBx[4][k].eq(Mux(ro[3], 0, pBx[3][k])),
                             pV[4][k].eq(pV[3][k]), vv[4][k].eq(vv[3][k])]
            # stage 4
            with m.If(adv):
                m.d.sync += [pM[k].eq(Mux(ro[4], sel(4, "om"), vv[4][k]) * MB[k]), pBx[5][k].eq(pBx[4][k]),
                             pV[5][k].eq(pV[4][k])]
        m.d.comb += st_wr.addr.eq(Mux(phase == PH_INIT, init_w, waddr[4]))
        with m.If((phase != PH_INIT) & adv & valid[4]):
            m.d.comb += [st_wr.en.eq(1), st_wr.data.eq(sum(MB[k].as_unsigned() << (k * SW) for k in range(L)))]

        # stage 5: accumulate (pass) or output (read-out)
        aw = self.acc_width
        accM, acc1, accV = Signal(signed(aw)), Signal(signed(aw)), Signal(signed(aw))
        totM, tot1, totV = Signal(signed(aw)), Signal(signed(aw)), Signal(signed(aw))
        m.d.comb += [totM.eq(accM + sum(pM[k] for k in range(L))), tot1.eq(acc1 + sum(pBx[5][k] for k in range(L))),
                     totV.eq(accV + sum(pV[5][k] for k in range(L)))]
        lat = {n: Signal(signed(aw), name=f"lat_{n}") for n in P.SOURCES[:6]}
        lat_last = Signal()
        lat_ex, lat_ed = Signal(signed(cfg.exp_width)), Signal(signed(cfg.exp_width))
        for n in P.SOURCES[:6]:
            m.d.comb += getattr(su, f"lat_{n}").eq(lat[n])
        m.d.comb += [su.lat_EX.eq(lat_ex), su.lat_ED.eq(lat_ed)]
        with m.If(adv & valid[5] & ~ro[5]):
            with m.If(last[5]):
                m.d.sync += [accM.eq(0), acc1.eq(0), accV.eq(0)]
                with m.If(vec[5] == P.VEC_X):
                    m.d.sync += [lat["XM"].eq(totM), lat["XX1"].eq(tot1), lat["XX"].eq(totV), latch_full[1].eq(1),
                                 lat_ex.eq(bexp[5])]
                with m.Else():
                    m.d.sync += [lat["DM"].eq(totM), lat["DD1"].eq(tot1), lat["DD"].eq(totV), latch_full[0].eq(1),
                                 lat_last.eq(lob[5]), lat_ed.eq(bexp[5])]
            with m.Else():
                m.d.sync += [accM.eq(totM), acc1.eq(tot1), accV.eq(totV)]

        elems = []
        for k in range(L):
            r_o = rshift_round_hw(m, pM[k], sel(5, "osh"), out_width=CW + SW + LMAX + 2, max_left=LMAX,
                                  max_right=cfg.rmax_out + 1, name=f"s5o_{k}")
            e_val, e_hit = saturate_hw(m, r_o, cfg.elem_width, name=f"elem_{k}")
            sat_hits.append((e_hit, 5))
            elems.append(e_val)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(adv & valid[5] & ro[5]):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.s_mant.eq(ro_s_mant), self.o.payload.s_exp.eq(ro_s_exp),
                         self.o.payload.vec.eq(vec[5] == P.VEC_X), self.o.payload.last.eq(last[5])]
            for k in range(L):
                m.d.sync += self.o.payload.elems[k].eq(elems[k])

        # saturation: sticky over every clamp of a valid beat (stage 5 only for read-out beats)
        hit_any = Signal()
        m.d.comb += hit_any.eq(sum((h & valid[s] & (ro[s] if s == 5 else 1)).as_unsigned() for h, s in sat_hits) != 0)
        dp_sat = Signal()
        with m.If(adv & hit_any):
            m.d.sync += dp_sat.eq(1)
        m.d.comb += self.saturated.eq(dp_sat | su.flag)

        # ---------------------------------------------------------------- scalar unit scheduling
        # Segment order per batch: CHAIN for every sample; after the last sample's chain FINAL (s, read-out
        # scales, RDY per vector), then RESCALE (warm start), which runs while the update is read out.
        pend_init = Signal(init=1)
        pend_final = Signal()
        pend_rescale = Signal()
        seg_run = Signal(2)
        chain_last = Signal()
        start_chain = ~su.busy & ~pend_init & ~pend_final & ~pend_rescale & latch_full[0] & latch_full[1]
        with m.If(~su.busy & pend_init):
            m.d.comb += [su.start.eq(1), su.seg.eq(Segment.INIT)]
            m.d.sync += [pend_init.eq(0), seg_run.eq(Segment.INIT)]
        with m.Elif(~su.busy & pend_final):
            m.d.comb += [su.start.eq(1), su.seg.eq(Segment.FINAL)]
            m.d.sync += [pend_final.eq(0), seg_run.eq(Segment.FINAL)]
        with m.Elif(~su.busy & pend_rescale):
            m.d.comb += [su.start.eq(1), su.seg.eq(Segment.RESCALE)]
            m.d.sync += [pend_rescale.eq(0), seg_run.eq(Segment.RESCALE)]
        with m.Elif(start_chain):
            m.d.comb += [su.start.eq(1), su.seg.eq(Segment.CHAIN)]
            m.d.sync += [seg_run.eq(Segment.CHAIN), chain_last.eq(lat_last)]
        # jc: 1-based sample index of the running CHAIN, and n (the last sample's) for FINAL
        m.d.comb += su.jc.eq(Mux((seg_run == Segment.CHAIN) | (seg_run == Segment.FINAL), chains_done + 1, 0))
        with m.If(su.rel):
            m.d.sync += [latch_full[0].eq(0), latch_full[1].eq(0)]
        with m.If(seg_run == Segment.FINAL):
            with m.If(su.rdy[0]):
                m.d.sync += ro_ok[0].eq(1)
            with m.If(su.rdy[1]):
                m.d.sync += ro_ok[1].eq(1)
        with m.If(su.done & (seg_run == Segment.CHAIN)):
            with m.If(chain_last):
                m.d.sync += pend_final.eq(1)
            with m.Else():
                m.d.sync += chains_done.eq(chains_done + 1)
        with m.If(su.done & (seg_run == Segment.FINAL)):
            m.d.sync += [chains_done.eq(0), pend_rescale.eq(1)]

        # internal signals for debugging benches (not part of the interface)
        self._debug = dict(phase=phase, cur=cur, w=w, j=j, slot=slot, chains_done=chains_done, lf0=latch_full[0],
                           lf1=latch_full[1], ro0=ro_ok[0], ro1=ro_ok[1], su_busy=su.busy, pend_final=pend_final,
                           pend_rescale=pend_rescale,
                           seg=seg_run)
        # ---------------------------------------------------------------- status
        pipe_busy = sum(valid[k].as_unsigned() for k in range(1, NST)) != 0
        m.d.comb += [
            self.busy.eq((phase != PH_RUN) | (j != 1) | (w != 0) | (cur != P.VEC_X) | pipe_busy | self.o.valid
                         | su.busy | latch_full[0] | latch_full[1] | pend_final | pend_rescale | pend_init),
            self.sample_count.eq(Mux(phase == PH_RO, j, j - 1)),
        ]
        return top
