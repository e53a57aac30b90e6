"""Issue stage of the SBE engine (hdl/engine/sbe_engine.py): the pass sequencer and the sample buffer."""
from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.engine_config import EngineConfig
from contract.enums import Vec
from contract.layouts import sample_layout

from hdl.engine.scalar_unit import axpy_layout, scale_layout


def beat_layout(cfg: EngineConfig) -> data.StructLayout:
    """Tag of a beat in the vector pipeline (stage 0 here, carried through stages 1..12)."""
    return data.StructLayout({
        "valid": 1,                                 # a beat occupies the stage
        "vec": 1,                                   # enums.Vec of its pass
        "last": 1,                                  # last beat of the pass
        "ro": 1,                                    # a read-out beat (else a sample pass beat)
        "lob": 1,                                   # the input beat's last_of_batch tag
        "addr": range(cfg.words(Vec.D) + cfg.words(Vec.X)),     # state word
        "exp": signed(cfg.exp_width),               # the input beat's block exponent
    })


def pass_layout(cfg: EngineConfig) -> data.StructLayout:
    """Pass registers of one vector: the two AXPY words (A: the update of sample j-2 in a sample pass,
    of n-1 in the read-out; B: identity in a sample pass, the update of sample n in the read-out) and
    the read-out scale (om, osh)."""
    cw = cfg.coef_width
    return data.StructLayout({
        "kA": signed(8), "cmA": signed(cw), "shA": signed(8),
        "kB": signed(8), "cmB": signed(cw), "shB": signed(8),
        "om": signed(cw), "osh": signed(8),
    })


def pa_layout(cfg: EngineConfig) -> data.StructLayout:
    """The pass-register fields a beat uses in stage 0 (hdl/engine/lane.py): its AXPY word A and, in the
    read-out, cmB."""
    return data.StructLayout({"kA": signed(8), "cmA": signed(cfg.coef_width), "cmB": signed(cfg.coef_width)})


def s_layout(cfg: EngineConfig) -> data.StructLayout:
    """s of an update, as on the update stream: s = mant * 2**exp."""
    return data.StructLayout({"mant": signed(cfg.s_mant_width), "exp": signed(cfg.s_exp_width)})


class IssueStage(wiring.Component):
    """Stage 0 of the engine: takes input beats, sequences the passes, issues one beat per cycle.

    Per sample j a pass over X (ceil(b/L) beats) then a pass over D (ceil(a/L) beats), each beat issued
    with the state word it rewrites (`beat.addr`) and the same word of samples j-2 and j-1 read from the
    sample buffer (two memories, shifted along as sample j's beat issues). The state memory and the sample
    buffer are read a cycle ahead (prefetch): every cycle at the addresses of the beat that may issue next
    (`st_addr`), so a beat's words are at the read ports in the cycle it issues; nothing waits on them.
    After the batch's last sample (`last_of_batch`) the read-out: a pass over D then X, without input,
    which writes nothing back (the next batch's first two passes apply the batch's last two updates). It
    starts at a sample boundary once RDY D came; the next batch's first sample may pass before it.

    The pass registers of v are loaded on the first beat of its pass, which itself takes the new values
    (`pa`, in stage 0); the lanes read the fields a sample pass loads (kA, cmA in stage 0 from `pa`, shA in
    stage 1) no later than stage 1, and the read-out's fields are left alone by sample passes,
    so a pass of v may start right after the previous one unless v is so short (at most WB + 1 words) that
    it could read a state word not yet written back (`inflight`); in a sample pass it also waits for the
    AXPY word of sample j-2 (CHAIN j-2 done); its last beat waits for v's dot-product latches to be free
    and for no earlier last beat of v on its way to them (`lpend`). A read-out pass
    of v starts once FINAL has made v's read-out scale (RDY v).

    Lanes past a vector's end are forced to 0. Tags that disagree with the beat count set
    `framing_error` and are otherwise ignored.

    A batch holds at most `max_batch` samples: sample max_batch closes it as if it carried
    `last_of_batch` (its read-out follows; the next sample starts a new batch). If that sample's last
    delta beat lacks the tag, `framing_error` is set as well. So `count` never exceeds max_batch and the
    golden model does the same (golden/rtl/sbe_engine.py, "Batch length").

    Parameters
    ----------
    cfg : EngineConfig
        The engine's parameters.
    short_paths : bool
        For the iCE40 builds (default False; SBEEngine compact): the next state's coef_ready and `sw` as
        logic by outcome from registers, the issue only selecting after them (kept as nets); a register
        `pb` for (read-out pending at a sample boundary), and the idle read address's switch to D's base
        selected after its register (`sw_q`): the UP5K engine's worst paths (diff -> run_may, is_last
        and ro -> a_idle's reset, 22-25 ns). Same behaviour.

    Ports
    -----
    i : In(stream(sample_layout))
        The engine's sample stream (hdl/engine/sbe_engine.py); `ready` = a sample beat issues.
    adv : In(1)
        The pipeline advances this cycle; nothing issues otherwise.
    ro_credit : In(1)
        A read-out beat may issue (the output FIFO has room for it; hdl/engine/vector_datapath.py).
    en : In(1)
        The state is initialised (StateInit done): sample passes may issue (from the next cycle).
    inflight, lpend, full : In(2)
        Bit v: a new pass of v must wait for in-flight beats of v (hdl/engine/vector_datapath.py; only
        for vectors of at most WB + 1 words); the last beat of a pass of v has not reached the latches yet;
        v's dot-product latches hold unreleased sums. (The decision is made a cycle ahead from the next
        values below; these are the values it must agree with, `invariants`.)
    inflight_rest, lpend_rest, full_next : In(2)
        The next values of `inflight`, `lpend` and `full` but for the beat issued this cycle
        (hdl/engine/vector_datapath.py: registers, but `full_next`, which follows the scalar unit's `rel`).
    inflight_used : In(2)
        Bit v (a constant): a beat of v counts in `inflight` (else v is long and `inflight` is 0).
    credit_next : In(2)
        The next value of `ro_credit`: bit 0 if no read-out beat issues this cycle, bit 1 if one does.
    word_inc : In(1)
        A CHAIN (or LAST) ends this cycle: one more AXPY word is made (hdl/engine/segment_scheduler.py).
    rdy : In(2)
        Bit v, pulse: FINAL has made vector v's read-out scale (the read-out of v may start).
    coef, scale, s_mant, s_exp : In
        The scalar unit's hand-over registers (hdl/engine/scalar_unit.py).
    beat : Out(beat_layout)
        Tag of the beat issued this cycle (valid = 0: none).
    st_addr : Out(range(ceil(a/L) + ceil(b/L)))
        The state memory's read address (read data valid the next cycle): the word of the beat that may
        issue next cycle (so the state word `beat.addr` is at the read port in the cycle the beat issues).
        One select by this cycle's issue between two registers (the word after an issue, without one).
    x : Out(lanes x signed(in_width))
        Its input elements: 0 in the read-out and past a vector's end (not gated by the issue: in a
        cycle without a sample beat they belong to no valid beat).
    xa, xb : Out(lanes * in_width)
        Word `beat.addr` of samples j-2 and j-1 from the sample buffer, in the cycle the beat issues.
    pw : Out(2 x pass_layout)
        The pass registers of D and X.
    pa : Out(pa_layout)
        kA, cmA, cmB of the beat issued this cycle (the pass registers of its vector, or on the pass's
        first beat the values they are being loaded with; from registers through multiplexers).
    s : Out(s_layout)
        s of the update being read out: s_mant, s_exp latched on the first read-out beat.
    framing_error : Out(1)
        Sticky: an input tag disagreed with the beat count.
    busy : Out(1)
        A beat of the current batch has issued, or the read-out runs.
    count : Out(16)
        Samples received in the current batch (0 .. max_batch; 0 again from the last beat of a batch's
        last sample, whose read-out may still be pending).
    ro_hold : Out(1)
        A batch of one sample closed while the previous batch's read-out was pending: its LAST must wait
        (the scalar unit's hand-over registers still serve that read-out) until that read-out ends.

    Latency: 0; `i.ready` and `beat` are combinational from i.valid and a register (the issue decision,
    made a cycle ahead from the next state; not from o.ready: the datapath never stalls, read-out beats
    wait for `ro_credit`). Sample beats issue from the cycle after `en`
    rises (after the state's last initial write: the prefetch reads a cycle ahead).
    """

    def __init__(self, cfg: EngineConfig, *, short_paths: bool = False):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg must be an EngineConfig, not {cfg!r}")
        if not isinstance(short_paths, bool):
            raise TypeError(f"short_paths must be True or False, not {short_paths!r}")
        self.cfg = cfg
        self.short_paths = short_paths
        L, W = cfg.lanes, cfg.in_width
        super().__init__({
            "i": In(stream.Signature(sample_layout(L, W, cfg.exp_width))),
            "adv": In(1),
            "ro_credit": In(1),
            "en": In(1),
            "inflight": In(2),
            "lpend": In(2),
            "full": In(2),
            "inflight_rest": In(2), "inflight_used": In(2), "lpend_rest": In(2), "full_next": In(2),
            "credit_next": In(2),
            "word_inc": In(1),
            "rdy": In(2),
            "coef": In(data.ArrayLayout(data.ArrayLayout(axpy_layout(cfg.coef_width), 2), 2)),
            "scale": In(data.ArrayLayout(scale_layout(cfg.coef_width), 2)),
            "s_mant": In(signed(cfg.s_mant_width)),
            "s_exp": In(signed(cfg.s_exp_width)),
            "beat": Out(beat_layout(cfg)),
            "x": Out(data.ArrayLayout(signed(W), L)),
            "xa": Out(unsigned(L * W)),
            "xb": Out(unsigned(L * W)),
            "pw": Out(data.ArrayLayout(pass_layout(cfg), 2)),
            "pa": Out(pa_layout(cfg)),
            "st_addr": Out(range(cfg.words(Vec.D) + cfg.words(Vec.X))),
            "s": Out(s_layout(cfg)),
            "framing_error": Out(1),
            "busy": Out(1),
            "count": Out(16),
            "ro_hold": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        L, W = cfg.lanes, cfg.in_width
        nd, nx = cfg.words(Vec.D), cfg.words(Vec.X)
        nw = nd + nx
        base = {Vec.D: 0, Vec.X: nd}                # first state word of each vector
        rem = {v: cfg.length(v) - (cfg.words(v) - 1) * L for v in Vec}       # lanes of a last word
        payload = self.i.payload

        # Sample buffer: two memories of nw words, `bufa` holding sample j-2 and `bufb` sample j-1, both
        # read at the state word's address, so xa and xb are block-RAM outputs with no select after the
        # RAM's slow clock-to-out (a memory of three rotating slots needed a select of three). As a sample
        # beat issues, its word moves along: bufb's word (j-1, being read) into bufa, the beat's x (j)
        # into bufb; the next pass over the vector then finds j-1 in bufa and j in bufb. The read-out
        # writes nothing: n-1 and n stay for it (and for the next batch's first two samples, whose
        # products with them are not used).
        # A read never meets the write of its own word (the read is of the next beat's word, another
        # vector's after a pass's end, and the read-out writes nothing), so Yosys is told to leave out its
        # read-during-write bypass (`no_rw_check`: a register and a select after the RAM's clock-to-out).
        buf_rd, buf_wr = [], []
        for name in ("bufa", "bufb"):
            m.submodules[name] = mem = Memory(shape=unsigned(L * W), depth=nw, init=[],
                                              attrs={"no_rw_check": 1})
            buf_rd.append(mem.read_port())
            buf_wr.append(mem.write_port())
        # for test benches: the (read, write) ports of each buffer memory, whose no_rw_check they check
        self.buffer_ports = list(zip(buf_rd, buf_wr))

        # ---------------------------------------------------------------- pass state
        ro = Signal()                               # read-out (else sample passes)
        cur = Signal(init=Vec.X)                    # vector of the current pass
        w = Signal(range(max(nd, nx) + 1))          # beat within the pass
        j = Signal(16, init=1)                      # sample of the batch being received (1-based)
        # Registered functions of j, so no subtractor or wide compare sits in front of the issue decision:
        j_le1 = Signal(init=1)                                      # j <= 1
        j_max = Signal(init=int(cfg.max_batch == 1))                # j == max_batch
        # Parity of the sample being received, counted since the reset across batches (g): the scalar
        # unit keeps the AXPY words of v in two slots by the parity of their sample (coef[v][g % 2]), so
        # the word of g-2 a pass applies is in slot g % 2, whatever batch g-2 belongs to.
        gpar = Signal(init=1)

        def j_next():
            """j <- j + 1, with its registered functions."""
            m.d.sync += [j.eq(j + 1), j_le1.eq(0), j_max.eq(j == cfg.max_batch - 1), gpar.eq(~gpar)]

        def j_first():
            """j <- 1 (the next batch's first sample), with its registered functions."""
            m.d.sync += [j.eq(1), j_le1.eq(1), j_max.eq(int(cfg.max_batch == 1)), gpar.eq(~gpar)]
        ro_ok = [Signal(name=f"ro_ok_{v}") for v in (0, 1)]    # the read-out of v may start
        # The read-out of a closed batch (n samples) is pending from its last sample's last beat until
        # the read-out's last beat (`ro_pend`). It writes nothing back: the next batch's first two passes
        # apply the updates of samples n-1 and n, so the next batch's first sample may pass before it
        # (`one`: then the read-out applies only n's update to what that pass wrote). It starts at a
        # sample boundary (no pass under way) once RDY D came; the next batch's second sample waits for
        # it. `ro_hold`: that first sample closed a batch of its own, whose read-out follows this one
        # (the segment scheduler holds its LAST until then: the hand-over registers are this one's).
        ro_pend, one, ro_hold = Signal(), Signal(), Signal()
        self._boundary = (one, ro_hold)

        # first (w == 0) and is_last (w == the pass's last beat) from registers, so no compare of w sits
        # in front of the issue decision: first_r follows w (w returns to 0 exactly after a last beat);
        # last_r = (w == last beat) for w >= 1, loaded on each issue with (w + 1 == last beat).
        # With both vectors at least two words long a first beat is never a last one: last_r is then
        # loaded with 0 after a last beat and is_last is that register itself.
        long = nd >= 2 and nx >= 2
        last_w = Signal.like(w)
        m.d.comb += last_w.eq(Mux(cur, nx - 1, nd - 1))
        first_r, last_r = Signal(init=1), Signal()
        first = first_r
        is_last = Signal()
        if long:
            m.d.comb += is_last.eq(last_r)
        else:
            m.d.comb += is_last.eq(Mux(first_r, Mux(cur, nx == 1, nd == 1), last_r))
        # The pending beat's word (a register): the state word `addr` (base of `cur` + w), also the word
        # of the sample buffer; its value for the beat after it (`nxt`: the next word, or after a
        # last beat the first word of the next pass; no adder in front of the read ports).
        addr = Signal(range(nw), init=base[Vec.X])
        # first word of the pass after the current one (after a D sample pass the next sample's X pass, lob
        # or not: the read-out starts by `sw`, which sets `addr` itself). With `long` a register, a cycle behind ro and cur: used only with a last beat pending, and the
        # first beat of a pass (the cycle after those change) is then not a last one. Reset: the value for
        # ro = 0, cur = X (the D pass of sample 1).
        nxt_first = Signal(range(nw), init=base[Vec.D] if long else 0)
        dom = m.d.sync if long else m.d.comb
        dom += nxt_first.eq(Mux(~ro & (cur == Vec.X), base[Vec.D], base[Vec.X]))

        # ---------------------------------------------------------------- issue
        # coef_ready: the AXPY word of sample g-2 is made, i.e. words made >= g - 2, words counting every
        # CHAIN (LAST too) since the reset (the word of g <= 0 is the hand-over registers' reset value, the
        # identity). Kept as diff = made - (g - 2) by the two counters' own events instead of a compare in
        # front of the issue decision: made rises with the scheduler's `word_inc`, g with the issue of a
        # sample's last D beat. Range: made <= g - 1 (a CHAIN follows its pass) and a pass of g starts
        # only with diff >= 0, which its last beat lowers by one: diff in [-1, 1]; reset: 0 - (1 - 2).
        diff = Signal(signed(4), init=1)
        d_idle, d_ev = Signal(signed(4)), Signal(signed(4))
        coef_ready = ~diff[-1]
        # No sample beat issues in the two cycles after a read-out beat: the lanes' pM DSPs serve a sample
        # beat in stage 4 and a read-out beat in stage 6 (hdl/engine/lane.py). run_en, a register, also
        # carries `en`.
        run_en, ro_q = Signal(), Signal()

        def decision(*, ro_, cur_, first_, last_, run_en_, coef_ready_, ro_ok_, infl, lp, full, credit, wait_):
            """(a sample beat may issue, a read-out beat issues) in a state with these values (infl, lp,
            full, ro_ok_: per vector; wait_: at a sample boundary the pending read-out goes first); the
            sample beat issues if i.valid too."""
            infl_c = Mux(cur_, infl[1], infl[0])
            run = (run_en_ & ~ro_ & (~first_ | (coef_ready_ & ~infl_c & ~((cur_ == Vec.X) & wait_)))
                   & (~last_ | ~Mux(cur_, full[1] | lp[1], full[0] | lp[0])))
            return run, ro_ & Mux(cur_, ro_ok_[1], ro_ok_[0]) & (~first_ | ~infl_c) & credit

        # The decision is registered (run_may, ro_may: `decision` of this cycle's state, computed in the
        # cycle before), so that the issue (the state registers' and the read ports' selects, a wide
        # fan-out) follows from a register and i.valid through one gate. Its next value is `decision` of
        # the next state for each outcome of this cycle's issue (none, a sample beat, a read-out beat),
        # from registers and from the next values of the datapath's registers (the `*_rest`, `*_next`
        # inputs, plus the beat issued now); the issue then only selects (one mux after it).
        run_may, ro_may = Signal(name="run_may"), Signal(name="ro_may")
        issue_run, issue_ro = Signal(), Signal()
        m.d.comb += [issue_run.eq(self.adv & run_may & self.i.valid), issue_ro.eq(self.adv & ro_may),
                     self.i.ready.eq(issue_run)]
        m.d.sync += [ro_q.eq(issue_ro), run_en.eq(self.en & ~issue_ro & ~ro_q)]
        # The batch closes on the last delta beat of a sample tagged last_of_batch, or of sample max_batch.
        lob = Signal()
        m.d.comb += lob.eq(payload.last_of_batch | j_max)
        # diff: the g event is the issue of a sample pass's last D beat (pg_inc), so its next value is
        # computed for both outcomes from registers and `word_inc`, and `issue` only selects.
        pg_inc = Signal()
        if self.short_paths:
            m.d.comb += pg_inc.eq(is_last & ~ro & (cur == Vec.D))
            # the next values by arithmetic: the reference of `invariants`
            ref_idle, ref_ev = Signal(signed(4), name="diff_idle_ref"), Signal(signed(4), name="diff_ev_ref")
            m.d.comb += [ref_idle.eq(diff + self.word_inc), ref_ev.eq(Mux(pg_inc, ref_idle - 1, ref_idle))]
            # as logic, no carry chain: x + 1 flips bit i where the bits below it are all ones, x - 1 where
            # they are all zeros (both wrap at 4 bits, as the adders do). With the two adders abc9 took the
            # sign of their chains for the equivalent next coef_ready below (diff -> two chains -> run_may,
            # the UP5K engine's worst path at 20.7 ns)
            def flip(x, below):
                return Cat(*(x[i] ^ (below(x[:i]) if i else 1) for i in range(len(x)))).as_signed()
            inc, dec = flip(diff, lambda b: b.all()), flip(diff, lambda b: (~b).all())
            up, down = self.word_inc & ~pg_inc, pg_inc & ~self.word_inc
            m.d.comb += [d_idle.eq(Mux(self.word_inc, inc, diff)), d_ev.eq(Mux(up, inc, Mux(down, dec, diff)))]
        else:
            m.d.comb += [pg_inc.eq(is_last & ~ro & (cur == Vec.D)),
                         d_idle.eq(diff + self.word_inc), d_ev.eq(Mux(pg_inc, d_idle - 1, d_idle))]
            ref_idle, ref_ev = d_idle, d_ev
        # coef_ready of the next state, ~d_idle[-1] and ~d_ev[-1], as logic over diff's bits and the events,
        # not the signs of the two adders (in series: diff -> run_may was the UP5K engine's worst path,
        # 23.3 ns): adding 1 to the 4-bit diff changes its sign at -1 and 7 only, subtracting 1 at 0 and -8
        # (the same bits in every state, wrap included: `invariants`). With diff's next values as logic
        # above their signs would do too, but map 16 LUTs larger than these terms on the UP5K engine.
        # (short_paths only: the iCE40 builds; else the signs, as placed on the ECP5)
        if self.short_paths:
            cr_idle, cr_ev = Signal(name="cr_idle"), Signal(name="cr_ev")
            dmax, dmin = (1 << (len(diff) - 1)) - 1, -(1 << (len(diff) - 1))
            plus1 = (~diff[-1] & (diff != dmax)) | (diff == -1)             # ~(diff + 1)[-1]
            minus1 = (~diff[-1] & (diff != 0)) | (diff == dmin)             # ~(diff - 1)[-1]
            m.d.comb += [cr_idle.eq(Mux(self.word_inc, plus1, ~diff[-1])),
                         cr_ev.eq(Mux(pg_inc, Mux(self.word_inc, ~diff[-1], minus1), cr_idle))]
        else:
            cr_idle, cr_ev = ~d_idle[-1], ~d_ev[-1]
        self._coef_ready = ((cr_idle, ~ref_idle[-1]), (cr_ev, ~ref_ev[-1]))
        self._diff_next = ((d_idle, ref_idle), (d_ev, ref_ev))
        rdy_ok = [ro_ok[v] | self.rdy[v] for v in (0, 1)]                   # ro_ok's next value without a clear
        # next first / is_last after an issue (first_r, last_r as loaded below)
        lr_n = Signal()
        # (long: w + 1 == last_w as w == last_w - 1, a compare with constants: no adder in front of it)
        m.d.comb += lr_n.eq(~is_last & (w == Mux(cur, nx - 2, nd - 2)) if long else w + 1 == last_w)

        def last_after(cur_n):
            return lr_n if long else Mux(is_last, Mux(cur_n, nx == 1, nd == 1), lr_n)
        # A pending read-out starts at a sample boundary (first beat of an X sample pass pending) once RDY
        # D came: `sw` (a cycle without an issue: the sample pass waits there, `wait_`) turns to the
        # read-out's D pass. It waits at a boundary after the next batch's first sample (`one`) in any case.
        boundary = first & (cur == Vec.X) & ~ro
        # ro_pend & boundary: with short_paths a register of its own (`pb`, loaded below by outcome), so
        # `sw` and the next state's `sw` are a LUT from registers (`invariants`: pb equals the expression)
        pend_b = Signal(name="pb")
        sw = Signal()
        m.d.comb += sw.eq(self.adv & pend_b & ro_ok[Vec.D] if self.short_paths
                          else self.adv & ro_pend & boundary & ro_ok[Vec.D])
        wait_now = ro_pend & (one | ro_ok[Vec.D])
        # without an issue: the switch, if any, and RDY pulses
        ro_sw, cur_sw = ro | sw, Mux(sw, Vec.D, cur)
        last_sw = is_last if long else Mux(sw, nd == 1, is_last)
        run_i, ro_i = decision(ro_=ro_sw, cur_=cur_sw, first_=first, last_=last_sw, run_en_=self.en & ~ro_q,
                               coef_ready_=cr_idle, ro_ok_=rdy_ok, infl=self.inflight_rest,
                               lp=self.lpend_rest, full=self.full_next, credit=self.credit_next[0],
                               wait_=ro_pend & (one | rdy_ok[Vec.D]))
        # after a sample beat (ro = 0): a last beat turns to the other vector (a last D beat with lob
        # closes the batch: its read-out becomes pending; a last D beat while one is pending was the next
        # batch's first sample: `one`); j's functions and diff as updated below. The beat issued
        # now counts in the next `inflight` (if v's passes wait for it at all, `inflight_used`) and
        # `lpend`, but a first (resp. last) beat after a sample pass's last beat is of the other vector,
        # and after a beat that is not last the next is neither a first nor, where `lpend` applies, a
        # last beat of another pass.
        cur_s = Mux(is_last, ~cur, cur)
        end_d = is_last & (cur == Vec.D)
        ro_pend_s = ro_pend | (end_d & lob)                            # ro_pend, one after the beat
        one_s = Mux(end_d, Mux(ro_pend, 1, Mux(lob, 0, one)), one)
        run_s, ro_s = decision(ro_=0, cur_=cur_s, first_=is_last, last_=last_after(cur_s),
                               run_en_=self.en & ~ro_q,
                               coef_ready_=cr_ev, ro_ok_=rdy_ok,
                               infl=[self.inflight_rest[v] | (self.inflight_used[v] & (cur == v)) for v in (0, 1)],
                               lp=self.lpend_rest, full=self.full_next, credit=self.credit_next[0],
                               wait_=ro_pend_s & (one_s | rdy_ok[Vec.D]))
        # after a read-out beat: no sample beat for two cycles; a last beat ends D's pass (on to X: the beat
        # issued now is of D) or X's (the read-out ends) and clears its ro_ok
        cur_r = Mux(is_last, Vec.X, cur)
        _, ro_r = decision(ro_=~(is_last & (cur == Vec.X)), cur_=cur_r, first_=is_last, last_=last_after(cur_r),
                           run_en_=0, coef_ready_=0, infl=self.inflight_rest, lp=self.lpend_rest,
                           full=self.full_next,
                           ro_ok_=[(ro_ok[v] & ~(is_last & (cur == v))) | self.rdy[v] for v in (0, 1)],
                           credit=self.credit_next[1], wait_=0)
        m.d.sync += [run_may.eq(Mux(issue_run, run_s, Mux(issue_ro, 0, run_i))),
                     ro_may.eq(Mux(issue_run, ro_s, Mux(issue_ro, ro_r, ro_i)))]
        # for invariants(): the decision of this cycle from the registers it was computed ahead of
        self._decision = (run_may, ro_may, decision(
            ro_=ro, cur_=cur, first_=first, last_=is_last, run_en_=run_en, coef_ready_=coef_ready, ro_ok_=ro_ok,
            infl=self.inflight, lp=self.lpend, full=self.full, credit=self.ro_credit, wait_=wait_now))

        for k in range(L):
            lane_ok = ~is_last | Mux(cur, k < rem[Vec.X], k < rem[Vec.D])
            # not gated by the issue (its fan-out is the critical net): a beat that does not issue is not
            # valid and its products are never summed; read-out beats carry 0
            m.d.comb += self.x[k].eq(Mux(~ro & lane_ok, payload.elems[k], 0))

        m.d.comb += [self.beat.valid.eq(issue_run | issue_ro), self.beat.vec.eq(cur), self.beat.last.eq(is_last),
                     self.beat.ro.eq(ro), self.beat.lob.eq(lob), self.beat.addr.eq(addr),
                     self.beat.exp.eq(payload.exp)]

        # Prefetch: read at the next pending beat's words (after an issue: the following beat's, `nxt`;
        # with `sw` the read-out's first word; else the pending beat's own), so the read ports show the
        # pending beat's words. Both candidates are registers, each loaded with its value for the next
        # state: a_iss = nxt, a_idle = Mux(sw, base D, addr) (`invariants`); the read address is then one
        # select by `issued` after them. (With the decision, `sw` and the adder of `nxt` in front of it, the
        # address of the 10x33 engine's distributed-RAM state was the network's worst ECP5 path: 10.2 ns,
        # 98.1 MHz at nextpnr seed 1; so 119.0 MHz at seed 1, 115.4 at seed 2, with the worst paths elsewhere.)
        issued = Signal()             # a beat of either kind issues
        m.d.comb += issued.eq(issue_run | issue_ro)
        m.d.sync += diff.eq(Mux(issued, d_ev, d_idle))
        nxt = Signal.like(addr)
        m.d.comb += nxt.eq(Mux(is_last, nxt_first, addr + 1))
        sw_at = ro_pend & boundary & ro_ok[Vec.D]               # `sw` but for `adv`
        # reset: nxt and Mux(sw, base D, addr) of the reset state (first beat of X pending, ro_pend = 0)
        a_iss = Signal.like(addr, init=base[Vec.D] if not long and nx == 1 else base[Vec.X] + 1)
        a_idle = Signal.like(addr, init=base[Vec.X])
        # short_paths: a_idle holds st_addr and sw_q the next state's `sw`; the switch to D's base is
        # selected after both registers, in the read address's LUTs (base D is a constant: one input more)
        # rather than as a_idle's reset (a fan-out of its width after seven LUT levels: ro -> a_idle's
        # reset was the UP5K engine's worst path, 22.5 ns)
        sw_q = Signal(name="sw_q")
        idle_word = Mux(sw_q, base[Vec.D], a_idle) if self.short_paths else a_idle
        m.d.comb += self.st_addr.eq(Mux(issued, a_iss, Mux(self.adv, idle_word, addr)))
        m.d.sync += addr.eq(self.st_addr)
        # The next values of what nxt and sw_at read, for the outcome of this cycle's issue (a sample
        # beat, a read-out beat, none: the registers' updates below; cur_s, cur_r, ro_pend_s and the
        # last_* as in the decision above): after the issue, `issued` only selects.
        end_x = is_last & (cur == Vec.X)
        cur_n = Mux(issue_run, cur_s, Mux(issue_ro, cur_r, cur_sw))
        ro_n = Mux(issue_run, 0, Mux(issue_ro, ~end_x, ro_sw))
        first_n = Mux(issued, is_last, first)
        last_n = Mux(issue_run, last_after(cur_s), Mux(issue_ro, last_after(cur_r), last_sw))
        ro_pend_n = Mux(issue_run, ro_pend_s, Mux(issue_ro & end_x, ro_hold, ro_pend))
        ok_d_n = Mux(issue_ro, (ro_ok[Vec.D] & ~(is_last & (cur == Vec.D))) | self.rdy[Vec.D], rdy_ok[Vec.D])
        # nxt_first of the next state: with `long` the register's next value (from this cycle's ro, cur)
        nf_ro, nf_cur = (ro, cur) if long else (ro_n, cur_n)
        nxt_first_n = Mux(~nf_ro & (nf_cur == Vec.X), base[Vec.D], base[Vec.X])
        # sw of the next state, `sw_ref`. With short_paths (the iCE40 builds; the ECP5 keeps the expression,
        # as placed) it is made for each outcome from registers and rdy only, and `issue_run` and
        # `issue_ro` then select (`invariants`: the same in every state): the expression, mapped seven
        # LUT levels deep, was the UP5K engine's worst path (is_last -> a_idle's reset, 25.3 ns). After a
        # sample beat a last D beat that closes a batch (or passes while one is pending) reaches the X
        # boundary; after a read-out beat its end with a batch held; without an issue the boundary
        # itself, unless `sw` switches now. The terms are kept as nets (Yosys `keep`): else ABC merges
        # them with the outcome's select, three LUT levels after them.
        pb_ref = ro_pend_n & first_n & (cur_n == Vec.X) & ~ro_n
        sw_ref = pb_ref & ok_d_n
        if self.short_paths:
            # the next pb by outcome: after a sample beat, a last D beat that closes a batch (or passes while
            # one is pending) reaches the X boundary; after a read-out beat, its end with a batch held;
            # without an issue pb stays unless `sw` switches now. Then sw = pb & the next ro_ok D, which
            # the read-out's beats leave at an X boundary (its last D beat clears it, and is not one).
            pb_run, pb_ro, pb_none = (Signal(name=f"pb_{k}", attrs={"keep": 1}) for k in ("run", "ro", "none"))
            m.d.comb += [pb_run.eq(end_d & (ro_pend | lob)), pb_ro.eq(end_x & ro_hold), pb_none.eq(pend_b & ~sw)]
            pb_n = Mux(issue_run, pb_run, Mux(issue_ro, pb_ro, pb_none))
            sw_n = pb_n & rdy_ok[Vec.D]
            m.d.sync += [pend_b.eq(pb_n), sw_q.eq(sw_n), a_idle.eq(self.st_addr)]
            self._pend_b = (pend_b, ro_pend & boundary)
        else:
            sw_n = sw_ref
        self._sw_next = (sw_n, sw_ref)
        m.d.sync += a_iss.eq(Mux(last_n, nxt_first_n, self.st_addr + 1))
        if not self.short_paths:
            m.d.sync += a_idle.eq(Mux(sw_n, base[Vec.D], self.st_addr))
        self._prefetch = ((a_iss, nxt), (idle_word, Mux(sw_at, base[Vec.D], addr)))
        for k in range(2):
            m.d.comb += [buf_rd[k].en.eq(self.adv), buf_rd[k].addr.eq(self.st_addr),
                         buf_wr[k].en.eq(issue_run), buf_wr[k].addr.eq(addr)]
        m.d.comb += [buf_wr[0].data.eq(buf_rd[1].data), buf_wr[1].data.eq(self.x.as_value()),
                     self.xa.eq(buf_rd[0].data), self.xb.eq(buf_rd[1].data)]

        with m.If(issue_run):
            bad = ((payload.vec != cur) | (payload.last != is_last)    # the tags are enums.Vec, like `cur`
                   | (payload.last_of_batch & ~(is_last & (cur == Vec.D)))
                   | (is_last & (cur == Vec.D) & j_max & ~payload.last_of_batch))
            with m.If(bad):
                m.d.sync += self.framing_error.eq(1)

        # ---------------------------------------------------------------- pass registers and sequencing
        # A sample pass of g rewrites with the AXPY word of g-2 (slot g % 2: `gpar`; after a reset the
        # slots hold the identity) and B = identity. The read-out of a batch closed at sample n rewrites,
        # on its way out only, with n-1's (A: slot gpar, g = n + 1 now) and n's (B: the other slot) words,
        # or, after the next batch's first sample (`one`: g = n + 2), with n's (A) and B = identity; then
        # it scales.
        pw = self.pw[cur]
        # The A word of a new pass; the first beat uses it as it is loaded (`pa`).
        newA = self.coef[cur][gpar]
        cB = self.coef[cur][~gpar]
        m.d.comb += [self.pa.kA.eq(Mux(first, newA.k, pw.kA)), self.pa.cmA.eq(Mux(first, newA.cm, pw.cmA)),
                     self.pa.cmB.eq(Mux(first, Mux(one, 0, cB.cm), pw.cmB))]
        # kA, cmA, shA are loaded in every cycle a first beat is pending, issued or not (off the issue's
        # fan-out): the beat in stage 1 the next cycle, the only reader of shA then, is that first beat
        # if it issued, else none.
        with m.If(first):
            m.d.sync += [pw.kA.eq(newA.k), pw.cmA.eq(newA.cm), pw.shA.eq(newA.sh)]
        with m.If(issue_run):
            # kB, cmB, shB, om, osh are read by read-out beats only (hdl/engine/lane.py): a sample pass
            # leaves them, so it may start while the read-out's last beats still use them
            with m.If(is_last):
                m.d.sync += w.eq(0)
                with m.If(cur == Vec.X):
                    m.d.sync += cur.eq(Vec.D)
                with m.Else():
                    m.d.sync += cur.eq(Vec.X)
                    with m.If(ro_pend):         # the next batch's first sample passed before the read-out
                        m.d.sync += [one.eq(1), ro_hold.eq(lob)]
                    with m.Elif(lob):           # the batch closes: its read-out is pending
                        m.d.sync += [ro_pend.eq(1), one.eq(0)]
                    with m.If(lob):
                        j_first()
                    with m.Else():
                        j_next()
            with m.Else():
                m.d.sync += w.eq(w + 1)
        with m.If(sw):
            m.d.sync += [ro.eq(1), cur.eq(Vec.D)]
        with m.If(issue_ro):
            with m.If(first):
                sc = self.scale[cur]
                m.d.sync += [pw.kB.eq(Mux(one, 0, cB.k)), pw.cmB.eq(Mux(one, 0, cB.cm)),
                             pw.shB.eq(Mux(one, 0, cB.sh)), pw.om.eq(sc.m), pw.osh.eq(sc.sh)]
                with m.If(cur == Vec.D):
                    m.d.sync += [self.s.mant.eq(self.s_mant), self.s.exp.eq(self.s_exp)]
            with m.If(is_last):
                m.d.sync += w.eq(0)
                for v in Vec:
                    with m.If(cur == v):
                        m.d.sync += ro_ok[v].eq(0)
                with m.If(cur == Vec.D):
                    m.d.sync += cur.eq(Vec.X)
                with m.Else():
                    # the read-out ends; a batch of one sample that closed meanwhile (`ro_hold`) has its
                    # read-out pending now, with both of its updates
                    m.d.sync += [ro.eq(0), ro_pend.eq(ro_hold), one.eq(0), ro_hold.eq(0)]
            with m.Else():
                m.d.sync += w.eq(w + 1)
        with m.If(issue_run | issue_ro):
            m.d.sync += [first_r.eq(is_last), last_r.eq(~is_last & (w + 1 == last_w) if long else w + 1 == last_w)]
        for v in Vec:                               # after the clear above: a new RDY wins
            with m.If(self.rdy[v]):
                m.d.sync += ro_ok[v].eq(1)

        m.d.comb += [
            self.busy.eq(ro | ro_pend | ~j_le1 | (w != 0) | (cur != Vec.X)),
            self.count.eq(j - 1),
            self.ro_hold.eq(ro_hold),
        ]
        return m

    def boundary_state(self) -> tuple:
        """After elaboration: the (one, ro_hold) registers, for tests that count the batch-boundary paths
        taken (the next batch's first sample before the read-out; a batch of that one sample closed)."""
        if not hasattr(self, "_boundary"):
            raise RuntimeError("IssueStage.boundary_state() names signals made by elaborate(): elaborate it first")
        return self._boundary

    def invariants(self) -> list[tuple]:
        """After elaboration: (condition, message) pairs that hold in every reachable state (flow/formal_props
        asserts them, tests check them every cycle): the registered issue decision is the one the current
        state gives (a sample beat may issue, a read-out beat issues), and the two registered read-address
        candidates are the words the current state gives (after an issue, without one); `sw` of the next
        state as the read address computes it (by outcome) equals its expression in the next state's values,
        and the next coef_ready as logic equals the signs of diff's next values, which (short_paths: as
        logic) equal diff + word_inc (- 1 after a sample's end)."""
        if not hasattr(self, "_decision"):
            raise RuntimeError("IssueStage.invariants() names signals made by elaborate(): elaborate it first")
        run_may, ro_may, (run, ro_go) = self._decision
        (a_iss, nxt), (a_idle, idle) = self._prefetch
        sw_n, sw_n_ref = self._sw_next
        (cr_idle, cr_idle_ref), (cr_ev, cr_ev_ref) = self._coef_ready
        (d_idle, d_idle_ref), (d_ev, d_ev_ref) = self._diff_next
        return [(cr_idle == cr_idle_ref, "issue: the next coef_ready without a sample's end disagrees with diff"),
                (cr_ev == cr_ev_ref, "issue: the next coef_ready after a sample's end disagrees with diff"),
                (d_idle == d_idle_ref, "issue: diff's next value without a sample's end is not diff + word_inc"),
                (d_ev == d_ev_ref, "issue: diff's next value after a sample's end is not diff + word_inc - 1"),
                (sw_n == sw_n_ref, "issue: the next state's `sw`, by outcome, disagrees with its expression"),
                (run_may == run, "issue: the registered sample-beat decision disagrees with the state"),
                (ro_may == ro_go, "issue: the registered read-out decision disagrees with the state"),
                (a_iss == nxt, "issue: the registered read address after an issue is not the next beat's word"),
                (a_idle == idle, "issue: the registered read address without an issue is not the pending word")
                ] + ([(self._pend_b[0] == self._pend_b[1],
                       "issue: the register pb disagrees with (read-out pending at a sample boundary)")]
                     if self.short_paths else [])
