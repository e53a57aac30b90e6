"""SBE engine: a stream of (x, delta) samples in, one rank-1 update (s, Dhat, Xhat) out per batch.

Bit-exact with golden/rtl/sbe_engine.py (SBEFixedEngine), which states the algorithm and the formats; the
scalar recurrences are the microcode of contract/microcode.py, run by hdl/engine/scalar_unit.py.

Sub-components (one per file)
-----------------------------
================  ==========================  ==============================================================
StateInit         hdl/engine/state_init.py      after reset, writes the initial state into the state memory
IssueStage        hdl/engine/issue_stage.py     stage 0: takes input beats, sequences the passes, sample buffer
VectorDatapath    hdl/engine/vector_datapath.py  stages 0..9 (lanes x Lane, hdl/engine/lane.py), the
                                              dot-product latches, the output register
ScalarUnit        hdl/engine/scalar_unit.py          microcode: AXPY words, read-out scales, s
SegmentScheduler  hdl/engine/segment_scheduler.py     starts the scalar unit's segments
================  ==========================  ==============================================================

Samples flow i -> IssueStage -> VectorDatapath -> o; the dot products of each pass go to the ScalarUnit,
whose AXPY words, scales and s come back through the IssueStage's pass registers. The state memory is
read a cycle ahead of the issue (prefetch) and written back by stage 6 (or by StateInit).

Datapath (per lane, one beat per cycle, never stalled: back-pressure on `o` fills an output FIFO and
holds the read-out's issue by credits, hdl/engine/vector_datapath.py; stage by stage in hdl/engine/lane.py:
registered DSP operands and products, at most one barrel shifter or one carry chain per stage)
---------------------------------------------------------------------------------------
========  ===================================================================================
stage -1  state / sample-buffer read addresses of the beat that may issue next (prefetch)
stage 0   issue: read data and multiplier operands registered; input beat written to buffer slot j
stage 1-3 MA = sat_SW(rnd(M, kA) + rnd(cmA * x_{j-2}, shA))   (update of sample j-2)
stage 4-5 MB = sat_SW(rnd(MA, kB) + rnd(cmB * x_{j-1}, shB)) in the read-out (update of sample n), else MA
stage 4-5 pass: pM = v * MA (operands from registers in stage 4; two DSPs, shared with the read-out's
          stage 7)
stage 5-ACC pass: exact sums v.M, v.x_{j-1}, v.v over the lanes (a tree of registered adders),
          accumulated (latched for the scalar unit at the pass end; ACC = 7..9, vector_datapath.py)
stage 6   M <- MB written back (sample passes; the read-out writes nothing)
stage 6-7 read-out: pM = om * MB (operands from registers in stage 6)
stage 8-12 read-out: element = sat_elem(rnd(pM, osh)) (the shift over stages 9-10, registered in stage 12) -> output
========  ===================================================================================
"""
from __future__ import annotations

from amaranth import Module, ResetInserter, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from contract.engine_config import EngineConfig
from contract.enums import Vec
from contract.layouts import sample_layout, update_layout

from hdl.engine.lane import Lane
from hdl.engine.vector_datapath import VectorDatapath
from hdl.engine.state_init import StateInit
from hdl.engine.issue_stage import IssueStage
from hdl.engine.segment_scheduler import SegmentScheduler
from hdl.engine.scalar_unit import ScalarUnit, check_rtl_latency


class SBEEngine(wiring.Component):
    """Rank-1 SBE engine.

    Parameters
    ----------
    cfg : EngineConfig, or its fields as keywords (contract/engine_config.py):
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
        A parameter out of range, with its name and the allowed range (contract.engine_config.EngineConfig).

    Ports
    -----
    i : In(stream(sample_layout(lanes, in_width, exp_width)))
        {elems: lanes x signed(in_width), exp: signed(exp_width), vec, last, last_of_batch}
        (contract/layouts.py). Per sample: ceil(b/L) beats of x (vec = Vec.X), then ceil(a/L) beats of
        delta (vec = Vec.D); `last` on the last beat of each vector; `last_of_batch` on the last delta
        beat of the batch's last sample. Lanes past a vector's end are ignored (forced to 0). `exp` is
        the vector's block exponent (value = elems * 2**(exp - frac)), read on the vector's `last` beat
        (ignored on the others). The engine counts beats itself; tags that disagree with its count set
        `framing_error` (sticky) and are otherwise ignored.
    o : Out(stream(update_layout))
        The update stream, contract/layouts.py (the contract of the update controller): Dhat beats then
        Xhat beats, s_mant/s_exp on every beat.
    clear : In(1)
        Synchronous state reset (same effect as `rst`): the batch in progress and an update being read
        out are dropped; the state returns to the reset pattern (written in the 1 + ceil(a/L) +
        ceil(b/L) cycles after `clear`).
    busy : Out(1)
        The engine holds a batch, an update, or is initialising.
    sample_count : Out(16)
        Samples received in the current batch (0 .. max_batch); during the read-out the batch's n (it
        drops to 0 as the read-out's last beat issues, before that beat leaves on `o`).
    saturated : Out(1)
        Sticky: some value was clamped (state, coefficient, float exponent, output element).
    framing_error : Out(1)
        Sticky: an input tag disagreed with the configured a, b, or a batch reached max_batch samples
        without `last_of_batch`. A batch holds at most max_batch samples: sample max_batch closes it
        (read-out as if tagged last_of_batch) and the following samples form the next batch, as in
        golden/rtl/sbe_engine.py ("Batch length").

    Latency and throughput (L = lanes, LAT = cfg.alu_latency): a sample takes ceil(b/L) + ceil(a/L)
    cycles; the CHAIN of sample j (contract.microcode_schedule.segment_lengths(LAT)["CHAIN"] cycles: the
    microcode statically scheduled for the pipelined ALU) overlaps the passes of samples j+1 and j+2 and
    stalls nothing while it is shorter than a sample, so each sample takes max(ceil(b/L) + ceil(a/L),
    CHAIN) cycles. After the last sample of a batch: ACC cycles to the dot-product latches (7 at L <= 2, 8 at
    L = 3..4, 9 above, hdl/engine/vector_datapath.py), its LAST (the
    CHAIN fused with FINAL) up to RDY D (1 + contract.microcode_schedule.rdy_index(Vec.D, LAT) cycles: s
    and Dhat's scale), then ceil(a/L) + ceil(b/L) read-out beats (the first issues with RDY D, at a sample
    boundary) and 12 pipeline cycles (bench/engine.py measures the total). The read-out writes nothing
    back (the next batch's first two passes apply the last two updates), so the next batch's first sample
    passes while LAST runs, and only its second waits for the read-out (3 cycles after its last beat at
    the earliest: the lanes' pM DSPs serve both, hdl/engine/lane.py): batches streamed back to back take
    n samples plus the read-out's beats and a few cycles each (bench/engine.py, "stream"). After reset or
    `clear` the scalar unit rewrites its register file (NREGS cycles) before INIT. Storage: state (ceil(a/L) + ceil(b/L)) x L x state_width bits (block RAM);
    sample buffer 3 x that x in_width.
    """

    #: HDL-only keyword parameters (not EngineConfig fields; the golden model has no counterpart, the
    #: results are bit-identical and the cycles the same):
    #: compact=True builds the scalar unit's area-saving forms for the iCE40 (ScalarUnit/FloatALU `compact`:
    #: halving-step normalisers, compares as logic, the product in the SB_MAC16's register, the register
    #: file's reset values from its own block RAM; ~475 fewer logic cells on the iCEBreaker top, longer
    #: paths: off by default, the ECP5 builds keep the fast forms), the lanes' saturating sums and the
    #: one-lane accumulators in short carry chains (Lane/VectorDatapath `short_chains`: the iCE40's carry
    #: costs ~0.28 ns a bit; on the ECP5 the extra logic, ~570 LUT at L = 4, only costs), and the issue
    #: stage's next-state terms by outcome (IssueStage `short_paths`). The ECP5 builds' Verilog stays as it
    #: was placed (its Fmax moves by several MHz with any change of the netlist).
    #: bram_delays=True puts the vector datapath's pipeline delay lines (and KSEL's in the scalar unit) in
    #: block RAM (VectorDatapath, ScalarUnit, hdl/engine/delay_line.py) for the iCE40 builds: 3 more
    #: SB_RAM40_4K at one lane, a few fewer logic cells (iCEBreaker host_top, in_width 8: 5,693 LC against
    #: 5,701), slower paths out of the RAMs (off by default: the ECP5 builds keep the registers).
    #: dsp selects the lanes' multipliers (VectorDatapath/Lane `dsp`, hdl/dsp_multiplier.py): "generic"
    #: (default: registers and `*`, the simulators' and the iCE40's Verilog), "ecp5" (each product in a
    #: MULT18X18D with its own input and output registers: synth_ecp5 packs no fabric register into an
    #: inferred one; flow/synth.py passes it for the ecp5 target), "auto" ("ecp5" on an ECP5 platform).

    def __init__(self, cfg: EngineConfig | None = None, *, compact: bool = False, bram_delays: bool = False,
                 dsp: str = "generic", **params):
        self.cfg = cfg = cfg if cfg is not None else EngineConfig(**params)
        for name, value in (("compact", compact), ("bram_delays", bram_delays)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, not {value!r}")
        self.compact, self.bram_delays = compact, bram_delays
        self.dsp = Lane.check_dsp(cfg, dsp)
        check_rtl_latency(cfg, compact)
        self.in_layout = sample_layout(cfg.lanes, cfg.in_width, cfg.exp_width)
        self.out_layout = update_layout(lanes=cfg.lanes, elem_width=cfg.elem_width, mant_width=cfg.s_mant_width,
                                        exp_width=cfg.s_exp_width)
        # width of the exact dot products of a pass (v.M, v.x_{j-1}, v.v), with margin
        self.acc_width = (cfg.in_width + max(cfg.state_width, cfg.in_width)
                          + (max(cfg.a, cfg.b) * cfg.lanes).bit_length() + 2)
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
        cfg = self.cfg
        m = Module()
        m.submodules.init = init = StateInit(cfg)
        m.submodules.issue = issue = IssueStage(cfg, short_paths=self.compact)
        m.submodules.dp = dp = VectorDatapath(cfg, acc_width=self.acc_width, bram_delays=self.bram_delays,
                                                short_chains=self.compact,
                                                dsp=self.dsp)
        m.submodules.su = su = ScalarUnit(acc_width=self.acc_width, compact=self.compact, dsp=self.dsp,
                                          latch_carries=dp.deferred_carry, bram_delays=self.bram_delays,
                                          **cfg.kwargs())
        m.submodules.sched = sched = SegmentScheduler(cfg.alu_latency)

        # The state: read a cycle ahead of the issue (data at the port in stage 0), written back by stage 6, or
        # by StateInit after reset. A read whose data a beat uses never meets the write of its word (the
        # issue stage's `inflight` wait; StateInit writes while nothing issues), so Yosys is told to leave
        # out its read-during-write bypass (`no_rw_check`: on the ECP5 it put a register compare and a select
        # after the block RAM's slow clock-to-out, into M1: the worst path once the lanes' DSPs were fixed).
        words = cfg.words(Vec.D) + cfg.words(Vec.X)
        m.submodules.state = state = Memory(shape=unsigned(cfg.lanes * cfg.state_width), depth=words, init=[],
                                            attrs={"no_rw_check": 1})
        st_rd, st_wr = state.read_port(), state.write_port()
        self.state_read_port = st_rd    # for test benches: no used read meets a write of its word
        # Observability, no port: tests and benches watch the state write port (en, addr, data) to check
        # the state invariants on the RTL's own signals (generated Verilog: core.st_wr__en/__addr/__data).
        self.state_write_port = st_wr
        self.issue_stage = issue        # for test benches (IssueStage.buffer_ports, after elaboration)
        self.datapath = dp              # for the formal proofs (the invariants of its blocks, after elaboration)
        self.rdy_late = sched.rdy_late       # 1: the read-out start was not counted right (tests watch it)
        m.d.comb += [st_rd.en.eq(dp.adv), st_rd.addr.eq(issue.st_addr), dp.m.eq(st_rd.data)]
        with m.If(init.en):
            m.d.comb += [st_wr.en.eq(1), st_wr.addr.eq(init.addr), st_wr.data.eq(init.data)]
        with m.Else():
            m.d.comb += [st_wr.en.eq(dp.we), st_wr.addr.eq(dp.waddr), st_wr.data.eq(dp.wdata)]

        # Samples in, beats through the datapath, the update out.
        wiring.connect(m, wiring.flipped(self.i), issue.i)
        m.d.comb += [
            issue.adv.eq(dp.adv), issue.ro_credit.eq(dp.ro_credit), issue.en.eq(~init.busy),
            issue.inflight.eq(dp.inflight), issue.lpend.eq(dp.lpend), issue.full.eq(dp.full),
            issue.inflight_rest.eq(dp.inflight_rest), issue.inflight_used.eq(dp.inflight_used),
            issue.lpend_rest.eq(dp.lpend_rest),
            issue.full_next.eq(dp.full_next), issue.credit_next.eq(dp.credit_next),
            dp.beat.eq(issue.beat), dp.x.eq(issue.x), dp.xa.eq(issue.xa), dp.xb.eq(issue.xb),
            dp.pw.eq(issue.pw), dp.pa.eq(issue.pa), dp.s.eq(issue.s),
        ]
        wiring.connect(m, dp.o, wiring.flipped(self.o))

        # The scalar unit: dot products in; AXPY words, read-out scales and s out to the pass registers.
        m.d.comb += [
            su.lat.eq(dp.lat), dp.rel.eq(su.rel),
            issue.coef.eq(su.coef), issue.scale.eq(su.scale), issue.s_mant.eq(su.s_mant), issue.s_exp.eq(su.s_exp),
        ]
        # The scheduler starts its segments as the latches fill; a finished CHAIN j lets the pass of sample
        # j+2 start (its AXPY word exists), FINAL's RDY v the read-out of v.
        m.d.comb += [
            su.start.eq(sched.start), su.seg.eq(sched.seg), su.last.eq(sched.last), su.jc.eq(sched.jc), su.gpar.eq(sched.gpar),
            sched.busy.eq(su.busy), sched.chain_done.eq(su.chain_done), sched.rdy.eq(su.rdy),
            sched.full.eq(dp.full), sched.lob.eq(dp.lob),
            issue.word_inc.eq(sched.word_inc), sched.ro_hold.eq(issue.ro_hold), issue.rdy.eq(sched.ro_rdy),
        ]

        m.d.comb += [
            self.busy.eq(init.busy | issue.busy | dp.busy | su.busy | sched.pending),
            self.sample_count.eq(issue.count),
            self.saturated.eq(dp.saturated | su.flag),
            self.framing_error.eq(issue.framing_error),
        ]

        # `clear` resets everything (the ports' registers included), exactly like `rst`.
        top = Module()
        top.submodules.core = ResetInserter({"sync": self.clear})(m)
        return top
