"""Segment scheduler of the SBE engine (hdl/engine/sbe_engine.py): starts the scalar unit's microcode segments."""
from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from contract import microcode_schedule as MS
from contract.checks import check_int
from contract.enums import Segment, Vec


class SegmentScheduler(wiring.Component):
    """Starts the scalar unit's segments (contract/microcode.py) in the order of a batch.

    INIT once after reset; CHAIN per sample, as soon as both vectors' dot products are latched; for the
    batch's last sample the CHAIN fused with FINAL (`last`: microcode.LAST; s, read-out scales, RDY per
    vector), then RESCALE (the next batch's warm start), which runs while the update is read out. A
    pending INIT or RESCALE starts before a CHAIN, in that order, as soon as the scalar unit is idle.
    (FINAL alone is not started: LAST does its work.)

    The read-out of v may start in the cycle LAST's RDY v issues (the scale and s are in place then,
    contract/microcode_schedule.py): the schedule is static, so `ro_rdy` v is a registered pulse the cycle
    before, counted from LAST's start (slot i issues i + 1 cycles after the start,
    hdl/engine/scalar_unit.py); `rdy_late` flags a count that disagrees with the scalar unit's `rdy`.

    Parameters
    ----------
    lat : int
        The scalar unit's ALU latency (cfg.alu_latency): the schedule whose RDY slots are counted.

    Ports
    -----
    busy, chain_done, rdy : In(1), In(1), In(2)
        The scalar unit's `busy`, `chain_done` (a CHAIN or LAST ends) and `rdy` (hdl/engine/scalar_unit.py).
    full : In(2)
        Bit v: the dot products of vector v are latched (a CHAIN needs both).
    lob : In(1)
        The latched sample is the batch's last (hdl/engine/vector_datapath.py `lob`).
    start, seg, last : Out(1), Out(2), Out(1)
        Start segment `seg` (enums.Segment) this cycle; to the scalar unit. `last` with a CHAIN: the
        batch's last sample (the scalar unit runs LAST). `seg` and `last` name the segment that starts
        when `start` does, in every cycle, from registers only (not from `busy` and `full`: the scalar
        unit's microcode address follows them, `start` then only selects it); read them with `start`.
    jc : Out(16)
        To the scalar unit: 1-based index of the sample of the running (or last) CHAIN, n for FINAL;
        0 for INIT and RESCALE.
    chains : Out(16)
        CHAINs finished in this batch: the AXPY words of samples 1..chains are made (the LAST of the
        batch's last sample is not counted; its end clears the count).
    word_inc : Out(1)
        `chain_done` passed on: a CHAIN (LAST too) ends, so one more AXPY word is made (the issue stage
        counts them against the samples, hdl/engine/issue_stage.py); a register of the scalar unit.
    gpar : Out(1)
        Parity of the running (or last) CHAIN's sample counted since the reset across batches: the
        scalar unit's COEF writes slot gpar of its vector's two AXPY words.
    ro_hold : In(1)
        A batch's read-out must end before the LAST of the next batch's last sample starts
        (hdl/engine/issue_stage.py `ro_hold`).
    ro_rdy : Out(2)
        Bit v, pulse (registered): LAST's RDY v issues the next cycle; then its read-out scale (and s, and
        v's last AXPY word) are in place.
    rdy_late : Out(1)
        Sticky: the scalar unit's RDY v did not come the cycle after `ro_rdy` v (a schedule the count does
        not match; tests watch it).
    pending : Out(1)
        A segment waits to start (INIT or RESCALE).

    Latency: `start` is combinational from `busy` and `full` (a segment starts the cycle the scalar unit
    is idle).
    """

    def __init__(self, lat: int):
        self.lat = check_int("lat", lat, MS.MIN_LATENCY, MS.MAX_LATENCY)
        self.rdy_at = [MS.rdy_index(v, self.lat, "LAST") for v in Vec]   # slot of RDY v in LAST
        if min(self.rdy_at) < 3:
            raise ValueError(f"RDY at slot {min(self.rdy_at)} of LAST: the count needs >= 3")
        super().__init__({
            "busy": In(1), "chain_done": In(1), "rdy": In(2),
            "full": In(2), "lob": In(1),
            "start": Out(1), "seg": Out(2), "last": Out(1), "jc": Out(16),
            "chains": Out(16), "ro_rdy": Out(2), "pending": Out(1),
            "rdy_late": Out(1), "word_inc": Out(1), "gpar": Out(1), "ro_hold": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        pend_init = Signal(init=1)
        pend_rescale = Signal()
        seg_run = Signal(2)                         # the segment started last (running or done)
        chain_last = Signal()                       # ... a CHAIN of the batch's last sample
        gnext = Signal(init=1)                      # parity of the next CHAIN's sample (the first: 1)

        # the segment a start would start (registers only; `start` adds busy and full)
        m.d.comb += [self.seg.eq(Mux(pend_init, Segment.INIT, Mux(pend_rescale, Segment.RESCALE, Segment.CHAIN))),
                     self.last.eq(~pend_init & ~pend_rescale & self.lob)]

        def start(seg):
            m.d.comb += self.start.eq(1)
            m.d.sync += seg_run.eq(seg)

        with m.If(~self.busy & pend_init):
            start(Segment.INIT)
            m.d.sync += pend_init.eq(0)
        with m.Elif(~self.busy & pend_rescale):
            start(Segment.RESCALE)
            m.d.sync += pend_rescale.eq(0)
        with m.Elif(~self.busy & self.full.all() & ~(self.lob & self.ro_hold)):
            start(Segment.CHAIN)
            m.d.sync += [chain_last.eq(self.lob), self.gpar.eq(gnext), gnext.eq(~gnext)]

        m.d.comb += self.jc.eq(Mux(seg_run == Segment.CHAIN, self.chains + 1, 0))
        # Cycles since LAST's start (cnt = c in cycle start + c from c = 2), up to the later RDY; ro_rdy v
        # registered from cnt == rdy_at[v] - 1 (>= 2), so it is 1 in cycle start + rdy_at[v], RDY v's issue
        # being the next. The count starts from a register (LAST started in the cycle before), not from
        # `start`: that comes late (the scalar unit's busy, the latches' full, the issue stage's ro_hold).
        top = max(self.rdy_at)
        cnt = Signal(range(top + 1))
        counting = Signal()
        last_started = Signal()
        m.d.sync += last_started.eq(self.start & (self.seg == Segment.CHAIN) & self.lob)
        with m.If(last_started):
            m.d.sync += [cnt.eq(2), counting.eq(1)]
        with m.Elif(counting):
            m.d.sync += cnt.eq(cnt + 1)
            with m.If(cnt == top - 1):
                m.d.sync += counting.eq(0)
        for v in Vec:
            m.d.sync += self.ro_rdy[v].eq(counting & (cnt == self.rdy_at[v] - 1))
        ro_rdy_q = Signal(2)
        m.d.sync += ro_rdy_q.eq(self.ro_rdy)
        with m.If(ro_rdy_q != Mux((seg_run == Segment.CHAIN) & chain_last, self.rdy, 0)):
            m.d.sync += self.rdy_late.eq(1)
        m.d.comb += self.word_inc.eq(self.chain_done)
        with m.If(self.chain_done):
            with m.If(chain_last):
                m.d.sync += [self.chains.eq(0), pend_rescale.eq(1)]
            with m.Else():
                m.d.sync += self.chains.eq(self.chains + 1)

        m.d.comb += self.pending.eq(pend_init | pend_rescale)
        return m
