"""Directed tests of SBE-engine contracts that twin comparisons alone do not pin down (a bug injected in both
hdl/ and golden/ would survive those): saturation (clamp, never wrap-around) checked on the RTL's own
signals, the input lane mask past a vector's end, `sample_count` during the read-out, `clear` during the
read-out, and the batch closed at `max_batch`. Every wait has a cycle limit naming what was awaited.
"""
import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.engine.lane import Lane
from hdl.engine.sbe_engine import SBEEngine
from hdl.engine.vector_datapath import VectorDatapath
from contract.engine_config import EngineConfig
from tb.stimulus import batch_beats

from tests.amaranth_sim.test_sbe_engine import (StateMonitor, get_words, golden_words, make_batches, put_beat,
                                                run_engine, wait_for, word_of)

BOOT = 200          # cycles: reset, state init and the INIT microcode are far shorter


# -- 1. saturation: a clamp, never a wrap-around ------------------------------------------------------------
@pytest.mark.parametrize("case", ["pass_pos", "pass_neg", "readout_pos", "readout_neg"])
def test_lane_state_rewrite_clamps_never_wraps(case):
    """One Lane driven directly (no golden model): a state rewrite whose exact sum leaves the state width
    must write exactly 2**(SW-1)-1 or -2**(SW-1) and raise its `sat` bit (stage 4 for a sample pass, stage
    6 for the read-out)."""
    cfg = EngineConfig(a=4, b=4)
    SW, CW, W = cfg.state_width, cfg.coef_width, cfg.in_width
    hi, lo = (1 << (SW - 1)) - 1, -(1 << (SW - 1))
    dut = Lane(cfg)
    ports = {  # m, kA, cmA, xa, shA; ro; kB (read-out: B = rnd(MA, kB), a left shift by 2)
        "pass_pos": dict(m=hi, cmA=(1 << (CW - 1)) - 1, xa=(1 << (W - 1)) - 1),
        "pass_neg": dict(m=lo, cmA=-(1 << (CW - 1)), xa=(1 << (W - 1)) - 1),
        "readout_pos": dict(m=(1 << (SW - 2)) + 3, ro=1, kB=-2),
        "readout_neg": dict(m=-(1 << (SW - 2)) - 3, ro=1, kB=-2),
    }[case]
    want = hi if case.endswith("pos") else lo
    seen = {}

    async def bench(ctx):
        ctx.set(dut.adv, 1)
        ctx.set(dut.m, ports["m"])
        ctx.set(dut.cmA, ports.get("cmA", 0))
        ctx.set(dut.xa, ports.get("xa", 0))
        for p in (dut.ro0, dut.ro4):
            ctx.set(p, ports.get("ro", 0))
        ctx.set(dut.kB, ports.get("kB", 0))
        for _ in range(10):        # inputs held: every stage holds the same beat
            await ctx.tick()
        seen["mb"], seen["sat"] = ctx.get(dut.mb), ctx.get(dut.sat)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen["mb"] == want, f"{case}: wrote {seen['mb']}, want the clamp {want}"
    assert seen["sat"] & (0b010 if ports.get("ro") else 0b001)


def test_engine_large_inputs_clamp_the_state():
    """Full-scale inputs at the largest block exponent drive the state into saturation (the AXPY shift
    range cannot absorb them). On the RTL's state write port (no golden model): clamped elements of both
    signs are written, exactly +(2**(SW-1)-1) and -2**(SW-1), and the sticky `saturated` flag is set."""
    rng = np.random.default_rng(5)
    cfg = dict(a=4, b=6, lanes=2)
    got, status = run_engine(cfg, make_batches(rng, 4, 6, [4, 3], kind="full", exps=(31, 31)), seed=2,
                             p_gap=0.0, p_stall=0.0, window=False)
    mon = status["monitor"]
    assert mon.clamps["pos"] > 0 and mon.clamps["neg"] > 0, f"no clamped state element written: {mon.clamps}"
    assert status["saturated"] == 1
    assert len(got) == 2 * (2 + 3)


# -- 2. the input lane mask ---------------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,lanes", [(5, 7, 3), (6, 11, 4)])
def test_junk_past_a_vectors_end_and_junk_exponents_are_ignored(a, b, lanes):
    """Non-zero junk in the lanes past each vector's end (and random exponents on non-last beats) give the
    same updates, word for word, as the zero-padded stream, and the golden model's."""
    rng = np.random.default_rng(a * 7 + b)
    cfg = dict(a=a, b=b, lanes=lanes)
    batches = make_batches(rng, a, b, [3, 2])
    clean, _ = run_engine(cfg, batches, seed=1, p_gap=0.0, p_stall=0.0)
    junk, status = run_engine(cfg, batches, seed=1, p_gap=0.0, p_stall=0.0, junk_lanes=True, junk_exp=True)
    want, _ = golden_words(cfg, batches)
    assert junk == clean == want
    assert not status["framing"]


# -- 3. sample_count, clear during the read-out, max_batch ------------------------------------------------
def _sim(dut, bench, mon=None):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    if mon is not None:
        sim.add_testbench(mon.process(), background=True)
    sim.run()


def test_sample_count_during_readout_and_clear_during_readout():
    """sample_count counts the samples of the batch being received: 0 from the batch's last sample on,
    through its read-out (stalled by the consumer) and after it, as the golden board model's STATUS shows
    it (engine.j). A `clear` in the middle of a read-out drops the rest of the update: nothing more comes
    out, sample_count is 0, and the next batch matches a freshly reset golden model."""
    # a read-out (17 beats) longer than the datapath pipeline, so the stalled consumer holds it mid-way
    cfg = dict(a=21, b=11, lanes=2)
    rng = np.random.default_rng(31)
    b0, b1, b2 = make_batches(rng, 21, 11, [3, 2, 4])
    want0, _ = golden_words(cfg, [b0])
    want12, _ = golden_words(cfg, [b1, b2])        # a fresh model: after the clear
    dut = SBEEngine(**cfg)
    mon = StateMonitor(dut)
    seen = {}

    async def feed(ctx, batch, what):
        for bt in batch_beats(batch, dut.lanes):
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), what=what)

    async def bench(ctx):
        ctx.set(dut.o.ready, 0)
        await wait_for(ctx, dut.i.ready, 0, limit=5, what="reset")
        for _ in range(BOOT):
            await ctx.tick()
        # batch 0, read-out held by back-pressure: sample_count = 0 throughout (the batch is closed)
        await feed(ctx, b0, "beat of batch 0")
        await wait_for(ctx, dut.o.valid, 1, limit=500, what="first read-out beat of batch 0")
        counts = []
        for _ in range(20):                         # stalled read-out
            counts.append(ctx.get(dut.sample_count))
            await ctx.tick()
        ctx.set(dut.o.ready, 1)
        got = []
        for _ in range(200):                        # released: record sample_count per cycle
            _, _, payload, valid, count = await ctx.tick().sample(dut.o.payload, dut.o.valid, dut.sample_count)
            counts.append(count)
            if valid:
                got.append(word_of(payload))
            if len(got) == len(want0):
                break
        seen["counts0"], seen["got0"] = counts, got
        for _ in range(30):
            seen["counts0"].append(ctx.get(dut.sample_count))
            await ctx.tick()
        # batch 1, cleared after two of its read-out beats
        await feed(ctx, b1, "beat of batch 1")
        seen["count1_ro"] = []
        ctx.set(dut.o.ready, 0)
        await wait_for(ctx, dut.o.valid, 1, limit=500, what="first read-out beat of batch 1")
        seen["count1_ro"].append(ctx.get(dut.sample_count))
        seen["got1"] = await get_words(ctx, dut, 2, limit=50, what="read-out beats of batch 1 before clear")
        ctx.set(dut.o.ready, 0)
        seen["count1_ro"].append(ctx.get(dut.sample_count))
        seen["busy1"] = ctx.get(dut.busy)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        await ctx.tick()
        seen["after_clear"] = (ctx.get(dut.sample_count), ctx.get(dut.o.valid))
        ctx.set(dut.o.ready, 1)
        stray = 0
        for _ in range(BOOT):                       # nothing of batch 1 may come out
            _, _, valid = await ctx.tick().sample(dut.o.valid)
            stray += valid
        seen["stray"], seen["idle_busy"] = stray, ctx.get(dut.busy)
        # batch 2 after the clear: the fresh model's first batch (golden reset = clear)
        await feed(ctx, b2, "beat of batch 2 after clear")
        seen["got2"] = await get_words(ctx, dut, len(want0), limit=1_000, what="update of batch 2 after clear")
        seen["framing"] = ctx.get(dut.framing_error)

    _sim(dut, bench, mon)
    c0 = seen["counts0"]
    assert seen["got0"] == want0
    assert set(c0) == {0}, f"sample_count over the read-out: {c0}"
    assert seen["count1_ro"] == [0, 0] and seen["busy1"] == 1
    assert seen["got1"] == golden_words(cfg, [b0, b1])[0][len(want0):len(want0) + 2]
    assert seen["after_clear"] == (0, 0) and seen["stray"] == 0 and seen["idle_busy"] == 0
    fresh = SBEFixedEngine(**cfg)
    for s in zip(*b2):
        fresh.sample(*s)
    assert seen["got2"] == fresh.beats(fresh.end_batch())
    assert not seen["framing"]
    mon.check(min_rewrites=4)


def test_max_batch_closes_the_batch():
    """max_batch = 3. A batch of exactly 3 samples tagged last_of_batch on the third is ordinary. Then 5
    samples tagged only on the fifth: the engine closes the batch at sample 3 (one update, framing_error
    set) and takes samples 4, 5 as the next batch (a second update) -- the golden model's documented
    behaviour (golden/rtl/sbe_engine.py "Batch length"). sample_count never exceeds max_batch."""
    cfg = dict(a=3, b=4, lanes=2, max_batch=3)
    rng = np.random.default_rng(41)
    ok, long = make_batches(rng, 3, 4, [3, 5])
    g = SBEFixedEngine(**cfg)
    want = []
    for s in zip(*ok):
        assert g.sample(*s) is None
    want.append(g.beats(g.end_batch()))
    assert not g.batch_overflow
    closed = [g.sample(*s) for s in zip(*long)]
    assert [c is not None for c in closed] == [False, False, False, True, False]
    want.append(g.beats(closed[3]))
    want.append(g.beats(g.end_batch()))
    assert g.batch_overflow
    dut = SBEEngine(**cfg)
    seen = {"counts": [], "out": []}

    async def monitor(ctx):            # every output word and sample_count, every cycle
        ctx.set(dut.o.ready, 1)
        async for _, _, count, payload, valid in ctx.tick().sample(dut.sample_count, dut.o.payload, dut.o.valid):
            seen["counts"].append(count)
            if valid:
                seen["out"].append(word_of(payload))

    async def outputs(ctx, n, what):
        for _ in range(2_000):
            if len(seen["out"]) >= n:
                return
            await ctx.tick()
        raise AssertionError(f"timeout: {len(seen['out'])} of {n} update beats ({what}) in 2000 cycles")

    async def bench(ctx):
        for _ in range(BOOT):
            await ctx.tick()
        for bt in batch_beats(ok, dut.lanes):
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), what="beat of the max_batch batch")
        await outputs(ctx, len(want[0]), "update of the max_batch batch")
        seen["framing_ok"] = ctx.get(dut.framing_error)
        for bt in batch_beats(long, dut.lanes):
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), limit=1_000, what="beat of the over-long batch")
        await outputs(ctx, sum(map(len, want)), "the two updates of the over-long batch")
        for _ in range(10):
            await ctx.tick()
        seen["framing"] = ctx.get(dut.framing_error)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_testbench(monitor, background=True)
    sim.run()
    assert seen["framing_ok"] == 0
    assert seen["out"] == want[0] + want[1] + want[2]
    assert seen["framing"] == 1
    # the open batch's samples: max_batch - 1 at most (the max_batch-th closes it and the count returns to 0)
    assert max(seen["counts"]) == cfg["max_batch"] - 1


# -- 4. the output FIFO holds every credited read-out word ---------------------------------------------------
def test_readout_word_not_dropped_after_a_word_is_taken_from_a_full_output():
    """A consumer that stalls until the output is full (OUT_DEPTH words owed, all in the FIFO), takes one
    word and stalls again: the word credited by that take reaches a FIFO that holds the other owed words.
    The FIFO must hold OUT_DEPTH words (with OUT_DEPTH - 1, the word was dropped: found by the formal
    proof's credit invariant, when a bypass register still stood in front of the FIFO). A read-out longer than OUT_DEPTH beats. The
    datapath's invariants (VectorDatapath.invariants) hold in every cycle."""
    cfg = dict(a=10, b=8, lanes=1)
    depth = VectorDatapath.OUT_DEPTH
    assert cfg["a"] + cfg["b"] > depth + 1
    rng = np.random.default_rng(43)
    (batch,) = make_batches(rng, 10, 8, [2])
    want, _ = golden_words(cfg, [batch])
    dut = SBEEngine(**cfg)
    seen = {}

    async def bench(ctx):
        ctx.set(dut.o.ready, 0)
        for _ in range(BOOT):
            await ctx.tick()
        for bt in batch_beats(batch, dut.lanes):
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), what="beat")
        await wait_for(ctx, dut.o.valid, 1, limit=500, what="first read-out beat")
        for _ in range(3 * depth):                  # stalled: every credited word arrives
            await ctx.tick()
        seen["fifo_level"] = ctx.get(dut.datapath.out_fifo.level)
        ctx.set(dut.o.ready, 1)                     # take one word, then stall again
        _, _, payload = await ctx.tick().sample(dut.o.payload)
        ctx.set(dut.o.ready, 0)
        for _ in range(3 * depth):
            await ctx.tick()
        seen["got"] = [word_of(payload)] + await get_words(ctx, dut, len(want) - 1, limit=200,
                                                           what="rest of the update")

    async def invariants(ctx):          # the datapath's invariants (the formal proofs assert them), every cycle
        seen["bad"] = []
        async for _ in ctx.tick():
            seen["bad"] += [msg for cond, msg in dut.datapath.invariants() + dut.issue_stage.invariants()
                            if not ctx.get(cond)]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_testbench(invariants, background=True)
    sim.run()
    assert seen["fifo_level"] == depth, "the output FIFO did not fill: the case is not reached"
    assert seen["got"] == want
    assert not seen["bad"], sorted(set(seen["bad"]))
