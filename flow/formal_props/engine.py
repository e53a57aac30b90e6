"""Properties of the SBE engine (hdl/engine/sbe_engine.py) and of one of its lanes (hdl/engine/lane.py)."""
from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.hdl import Assert, Assume

from contract.engine_config import LMAX, EngineConfig
from contract.enums import Vec
from contract.microcode import NREGS
from contract.microcode_schedule import segment_lengths
from hdl.engine.lane import Lane
from hdl.engine.sbe_engine import SBEEngine

from .common import Elaborated, FormalTop, assert_invariants, drive_free, stream_rules

#: Tiny configuration (the smallest formats EngineConfig allows, a=2, b=3, one lane): 5 beats a sample.
SMALL = dict(a=2, b=3, lanes=1, in_width=4, state_width=12, coef_width=8, mant_width=16, fexp_width=8,
             seed_bits=4, elem_width=4, s_mant_width=4, s_exp_width=4, max_batch=3, exp_width=2)


def _engine(m: Module, params: dict, compact: bool = False) -> tuple[SBEEngine, Signal, Signal]:
    """The engine with free inputs (samples keep the stream rules; tags are free, framing errors
    included), a free `clear` and a free o.ready; elaborated ahead (common.Elaborated) so the datapath's
    invariants (VectorDatapath.invariants) are asserted too. Returns (engine, input transfer, output transfer)."""
    dut = SBEEngine(**{**SMALL, **params}, compact=compact)
    m.submodules.dut = Elaborated(dut)
    assert_invariants(m, dut.datapath.invariants() + dut.issue_stage.invariants())
    drive_free(m, dut.i.valid, dut.i.payload, dut.o.ready, dut.clear)
    xin = stream_rules(m, dut.i, name="i", assume=True)
    xout = stream_rules(m, dut.o, name="o", assume=False, exempt=dut.clear)
    return dut, xin, xout


def _past(m: Module, value, name: str) -> Signal:
    """`value` one cycle ago (its reset value in the first cycle)."""
    p = Signal.like(value, name=name)
    m.d.sync += p.eq(value)
    return p


class EngineStreamProps(FormalTop):
    """The engine's stream rules: the environment's samples keep them (assumed), the update stream `o`
    keeps them (asserted: valid never drops without a transfer, the payload is stable while stalled;
    `clear` excepted, which drops an update being read out). `saturated` and `framing_error` are sticky
    (they fall only on `clear`). Meant for k-induction (mode prove): the properties then hold for traces
    of any length, through any number of batches.

    No read-out word is dropped: the output FIFO never sees a write while full (the credits of the
    issue stage, hdl/engine/vector_datapath.py; with a read-out longer than the output's OUT_DEPTH
    words, a=10 b=8, back-pressure fills it).

    The induction step starts from any state in which the assertions held for k cycles, reachable or
    not; the datapath's invariants (VectorDatapath.invariants: the output FIFO's, OutFIFO.invariants,
    its buffer level at most its depth, pointers in range and `level` apart, and the credit accounting,
    `owed` = the read-out words in the pipeline, the bypass register and the FIFO) are asserted too,
    which rules out unreachable states (without them a buffer level past the depth wraps `level` to 0,
    the bypass register takes a word while the FIFO's output is stalled and the payload changes): they
    are proved with the rest, and the whole set is 1-inductive (`--depth 1` passes; the default depth 8
    adds an 8-cycle bounded check from reset). With the FIFO one word short (OUT_DEPTH - 1, the bug this
    found) the induction step fails on the dropped word."""

    def __init__(self, compact: bool = False, **params):
        self.params = params
        self.compact = compact          # SBEEngine(compact=...): the iCE40 builds' forms
        self.cfg = EngineConfig(**{**SMALL, **params})
        super().__init__()

    def elaborate(self, platform):
        m = self.module()
        dut, xin, xout = _engine(m, self.params, compact=self.compact)
        fifo = dut.datapath.out_fifo
        m.d.comb += Assert(~(fifo.w_en & ~fifo.w_rdy), "a read-out word dropped: the output FIFO was full")
        p_clear = _past(m, dut.clear, "p_clear")
        for flag in ("saturated", "framing_error"):
            p = _past(m, getattr(dut, flag), f"p_{flag}")
            with m.If(p & ~p_clear):
                m.d.comb += Assert(getattr(dut, flag), f"{flag} fell without clear")
        return m


class EngineCounterProps(FormalTop):
    """Sample counter and clear:

    * the cycle after `clear`, sample_count is 0; while no beat has been accepted since, it stays 0 and
      `busy` is low from `quiet_cycles` cycles after the clear on (the state re-initialisation,
      1 + ceil(a/L) + ceil(b/L) cycles, overlapped by the scalar unit's register-file reset, NREGS
      cycles, then its scheduled INIT segment: default NREGS + INIT slots + 2 cycles);
    * sample_count rises by exactly one in the cycle after a sample's last beat is accepted (the
      engine's own beat count: ceil(b/L) + ceil(a/L) beats a sample), or returns to 0 if that beat
      closed the batch (tagged last_of_batch, or the batch's max_batch-th sample); otherwise it holds;
    * no beat is accepted while the state is being initialised after reset or clear.
    """

    def __init__(self, *, quiet_cycles: int | None = None, **params):
        self.params = params
        self.cfg = cfg = EngineConfig(**{**SMALL, **params})
        self.beats = cfg.words(Vec.D) + cfg.words(Vec.X)
        self.quiet_cycles = quiet_cycles if quiet_cycles is not None else max(1 + self.beats, NREGS + segment_lengths(cfg.alu_latency)["INIT"]) + 2
        super().__init__()

    def elaborate(self, platform):
        m = self.module()
        dut, xin, xout = _engine(m, self.params)
        nb = self.beats

        # The engine's sample boundaries by beat count, restarted by clear (a beat accepted in the
        # clear cycle itself is dropped with the batch).
        k = Signal(range(nb), name="beat_in_sample")
        ends = Signal(name="sample_ends")
        m.d.comb += ends.eq(xin & (k == nb - 1) & ~dut.clear)
        with m.If(dut.clear):
            m.d.sync += k.eq(0)
        with m.Elif(xin):
            m.d.sync += k.eq(Mux(k == nb - 1, 0, k + 1))

        since = Signal(range(self.quiet_cycles + 1), name="since_clear", init=self.quiet_cycles)
        quiet = Signal(name="quiet")                # no beat accepted since the last clear
        with m.If(dut.clear):
            m.d.sync += [since.eq(0), quiet.eq(1)]
        with m.Else():
            with m.If(since != self.quiet_cycles):
                m.d.sync += since.eq(since + 1)
            with m.If(xin):
                m.d.sync += quiet.eq(0)
        booting = Signal(name="booting", init=1)    # from power-on to the first clear
        with m.If(dut.clear):
            m.d.sync += booting.eq(0)

        p_clear = _past(m, dut.clear, "p_clear")
        p_ends = _past(m, ends, "p_ends")
        p_count = _past(m, dut.sample_count, "p_count")
        p_lob = _past(m, dut.i.payload.last_of_batch, "p_lob")
        with m.If(p_clear):
            m.d.comb += Assert(dut.sample_count == 0, "sample_count not 0 after clear")
        with m.Elif(p_ends):
            closes = p_lob | (p_count + 1 == self.cfg.max_batch)
            m.d.comb += Assert(dut.sample_count == Mux(closes, 0, p_count + 1),
                               "sample_count did not rise by one (or return to 0 as the batch closed)")
        with m.Else():
            m.d.comb += Assert(dut.sample_count == p_count, "sample_count changed without a sample")
        with m.If(quiet & ~booting):
            m.d.comb += Assert(dut.sample_count == 0, "sample_count not 0 after a quiet clear")
            with m.If(since == self.quiet_cycles):
                m.d.comb += Assert(~dut.busy, "busy still high after a quiet clear")
            with m.If(since <= nb):                 # StateInit: 1 + ceil(a/L) + ceil(b/L) cycles
                m.d.comb += Assert(~dut.i.ready, "a beat accepted during the state initialisation")
        return m


class LaneSaturationProps(FormalTop):
    """The state rewrite of one lane (stages 0..6 of a sample pass, hdl/engine/lane.py) is exact or
    clamped, and a clamp is flagged.

    The environment drives the lane freely, with the shifts of rnd(M, kA) (stage 1) and rnd(cmA * xa, shA)
    (stage 2) restricted to exact left shifts (kA, shA in [-LMAX, 0]), so the pre-saturation sum is known
    exactly: S = M * 2**-kA + cmA * xa * 2**-shA. The wrapper carries S through its own copy of the
    pipeline (the lane's fields enter at the stages its docstring names: m, xa, cmA, kA at stage 0, shA at
    stage 1) and asserts: the clamp flag of S (sat bit 0, registered: stage 4, with short_chains 5) is set exactly when S is outside the signed
    state_width range, and the word written back in stage 6 (mb, for a beat that was not a read-out beat
    in stage 5) is S clamped to that range: never a value other than the exact sum or the limit it crossed.
    """

    def __init__(self, short_chains: bool = False, **params):
        self.cfg = EngineConfig(**{**SMALL, **params})
        self.short_chains = short_chains
        super().__init__()

    def elaborate(self, platform):
        m = self.module()
        cfg = self.cfg
        SW = cfg.state_width
        m.submodules.lane = lane = Lane(cfg, short_chains=self.short_chains)
        drive_free(m, lane.adv, lane.x, lane.m, lane.xa, lane.xb, lane.ro0, lane.ro4, lane.ro6v, lane.kA,
                   lane.cmA, lane.cmB, lane.shA, lane.kB, lane.shB, lane.om, lane.osh)
        m.d.comb += [Assume((lane.kA <= 0) & (lane.kA >= -LMAX)), Assume((lane.shA <= 0) & (lane.shA >= -LMAX))]

        wide = signed(SW + cfg.coef_width + cfg.in_width + LMAX + 2)
        hi, lo = (1 << (SW - 1)) - 1, -(1 << (SW - 1))

        def reg(value, name):
            """`value` loaded on `adv` (the lane's pipeline registers move together on it)."""
            r = Signal.like(value, name=name) if isinstance(value, Signal) else Signal(wide, name=name)
            with m.If(lane.adv):
                m.d.sync += r.eq(value)
            return r

        # stage 0 -> 1: the beat's M, kA and the product's operands
        m1, ka1 = reg(lane.m, "ref_M1"), reg(lane.kA, "ref_kA1")
        xa1, cma1 = reg(lane.xa, "ref_xa1"), reg(lane.cmA, "ref_cmA1")
        # stage 1 -> 2: M * 2**-kA and cmA * xa * 2**-shA (shA is the field of the beat in stage 1)
        t2 = reg(m1 << (-ka1).as_unsigned()[:4], "ref_t2")
        p2 = reg((cma1 * xa1) << (-lane.shA).as_unsigned()[:4], "ref_p2")
        # stage 2 -> 3: the exact sum S of the beat in stage 3
        s3 = reg(t2 + p2, "ref_sum3")
        clamp = Mux(s3 > hi, hi, Mux(s3 < lo, lo, s3))
        ma4 = reg(clamp, "ref_MA4")
        hit4 = reg((s3 > hi) | (s3 < lo), "ref_MA_hit4")
        # (the short-chain lane registers MA's flag a stage later: Lane.sat_stages)
        hit = reg(hit4, "ref_MA_hit5") if lane.sat_stages[0] == 5 else hit4
        m.d.comb += Assert(lane.sat[0] == hit[0], "MA's clamp flag differs from the exact sum's")
        ma5 = reg(ma4, "ref_MA5")
        ro5 = reg(lane.ro4, "ref_ro5")
        mb6 = reg(ma5, "ref_MB6")
        mb_known = reg(~ro5, "ref_MB_known")    # stage 6 holds a sample-pass word (MB = MA)
        with m.If(mb_known[0]):
            m.d.comb += Assert(lane.mb == mb6[:SW].as_signed(), "written-back word is not the clamped exact sum")
        return m
