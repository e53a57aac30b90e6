"""hdl/engine/sbe_engine.py against golden/rtl/sbe_engine.py in the Amaranth simulator, random stalls on both streams.

Every output word (s_mant, s_exp, elems, vec, last) is compared bit for bit, plus the sticky flags. Besides
the twin comparison, `StateMonitor` checks invariants on the RTL's own state write port that do not lean on
the golden model (golden/rtl/sbe_engine.py "State invariant"): after every rewrite of a vector its norm is in
the documented window, no element is near the clamps (so none holds a wrapped value) and the lanes past a
vector's end stay 0. Every wait has a cycle limit that fails naming what was awaited.
"""
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from contract import microcode as P
from contract import microcode_schedule as S
from contract.enums import Vec
from contract.layouts import sample_beats
from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.engine.sbe_engine import SBEEngine
from tb.amaranth_sim.streams import stream_put
from tb.state_window import StateWindow
from tb.stimulus import batch_beats, engine_batch


class StateMonitor(StateWindow):
    """tb/state_window.StateWindow fed from the engine's state write port (SBEEngine.state_write_port),
    sampled at every clock edge of the Amaranth simulator."""

    def __init__(self, dut, *, window: bool = True):
        super().__init__(dut.cfg, window=window)
        self.dut = dut

    def process(self):
        """Background testbench: samples the write port at every clock edge, and checks that no read of
        the sample buffer meets the write of its word in the same cycle (its memories carry Yosys's
        no_rw_check, hdl/engine/issue_stage.py: synthesis leaves the read-during-write result open), nor
        does a read of the state memory (no_rw_check too, hdl/engine/sbe_engine.py) whose data the beat
        issued in the next cycle takes."""
        port = self.dut.state_write_port
        self.buffer_collisions, self.buffer_writes = [], 0
        self.state_collisions, self.state_reads = [], 0

        async def monitor(ctx):
            cycle = 0
            bufs = self.dut.issue_stage.buffer_ports          # known once the design is elaborated
            sigs = [s for rd, wr in bufs for s in (rd.en, rd.addr, wr.en, wr.addr)]
            st_rd, beat = self.dut.state_read_port, self.dut.issue_stage.beat
            prev_read = None                                # (read address, write met) of the cycle before
            async for _, _, en, addr, data, r_addr, issued, *buf in ctx.tick().sample(
                    port.en, port.addr, port.data, st_rd.addr, beat.valid, *sigs):
                cycle += 1
                if issued and prev_read is not None:         # the beat issued now takes the word read before
                    self.state_reads += 1
                    if prev_read[1]:
                        self.state_collisions.append((cycle, prev_read[0]))
                prev_read = (r_addr, bool(en) and addr == r_addr)
                if en:
                    self.write(addr, data, cycle)
                for k in range(len(bufs)):
                    r_en, r_addr, w_en, w_addr = buf[4 * k:4 * k + 4]
                    self.buffer_writes += bool(w_en)
                    if r_en and w_en and r_addr == w_addr:
                        self.buffer_collisions.append((cycle, k, r_addr))
        return monitor



async def put_beat(ctx, port, payload, *, limit: int = 10_000, what: str = "input beat"):
    """Send one beat on `port` (valid held until ready), failing after `limit` cycles without ready."""
    ctx.set(port.payload, payload)
    ctx.set(port.valid, 1)
    for _ in range(limit):
        _, _, ready = await ctx.tick().sample(port.ready)
        if ready:
            ctx.set(port.valid, 0)
            return
    raise AssertionError(f"timeout: {what} not accepted in {limit} cycles")


async def get_words(ctx, dut, n: int, *, limit: int, what: str = "update beats") -> list[dict]:
    """Take n beats from dut.o (ready held high), failing after `limit` cycles."""
    got = []
    ctx.set(dut.o.ready, 1)
    for _ in range(limit):
        if len(got) == n:
            return got
        _, _, payload, valid = await ctx.tick().sample(dut.o.payload, dut.o.valid)
        if valid:
            got.append(word_of(payload))
    raise AssertionError(f"timeout: {len(got)} of {n} {what} in {limit} cycles")


async def wait_for(ctx, signal, value, *, limit: int, what: str):
    """Tick until `signal` == value, failing after `limit` cycles with a message naming `what`."""
    for _ in range(limit):
        if ctx.get(signal) == value:
            return
        await ctx.tick()
    raise AssertionError(f"timeout: {what} not seen in {limit} cycles")


def word_of(payload) -> dict:
    return {"s_mant": payload.s_mant, "s_exp": payload.s_exp, "elems": list(payload.elems),
            "vec": payload.vec, "last": payload.last}


def make_batches(rng, a, b, sizes, width=16, kind="random", exps=(-3, 3)):
    """Batches of tb.stimulus.engine_batch, random elements within a quarter of the word range and
    per-sample block exponents drawn from `exps` (inclusive)."""
    return [engine_batch(rng, a, b, n, kind, width=width, exps=range(exps[0], exps[1] + 1), headroom=2)
            for n in sizes]


def golden_words(cfg, batches):
    g = SBEFixedEngine(**cfg)
    words = []
    for xs, ds, xe, de in batches:
        for x, d, ex, ed in zip(xs, ds, xe, de):
            g.sample(x, d, ex, ed)
        words += g.beats(g.end_batch())
    return words, g


def run_engine(cfg, batches, *, seed=0, p_gap=0.3, p_stall=0.3, max_cycles=None, junk_exp=False,
               junk_lanes=False, window=True, hdl=None):
    """junk_exp: random exponents on every beat but a vector's last (the engine must ignore them).
    junk_lanes: random non-zero words in the lanes past a vector's end (the engine must ignore them).
    window: check the state norm window (StateMonitor; off for extreme block exponents).
    hdl: SBEEngine's HDL-only keyword parameters (not EngineConfig fields: the golden model has none)."""
    dut = SBEEngine(**cfg, **(hdl or {}))
    mon = StateMonitor(dut, window=window)
    rng_in, rng_out = random.Random(seed), random.Random(seed + 1)
    beats = [bt for batch in batches for bt in batch_beats(batch, dut.lanes)]
    if junk_exp:
        elo, ehi = dut.cfg.exp_range
        beats = [bt if bt["last"] else {**bt, "exp": rng_in.randint(elo, ehi)} for bt in beats]
    if junk_lanes:
        beats = with_junk_lanes(dut.cfg, beats, rng_in)
    n_out = sum(-(-cfg["a"] // dut.lanes) + -(-cfg["b"] // dut.lanes) for _ in batches)
    if max_cycles is None:        # generous: a sample takes ~max(beats, CHAIN) cycles, x3 for the stalls
        max_cycles = 1_000 + 300 * sum(len(batch[0]) + 2 for batch in batches)
    got, status = [], {}

    async def producer(ctx):
        for bt in beats:           # a hang here ends with the consumer's timeout
            await stream_put(ctx, dut.i, dut.in_layout.const(bt), rng=rng_in, p_gap=p_gap)

    async def consumer(ctx):
        cycles = 0
        while len(got) < n_out:
            ready = rng_out.random() >= p_stall
            ctx.set(dut.o.ready, int(ready))
            _, _, payload, valid = await ctx.tick().sample(dut.o.payload, dut.o.valid)
            cycles += 1
            assert cycles < max_cycles, f"timeout: {len(got)} of {n_out} update beats in {max_cycles} cycles"
            if ready and valid:
                got.append(word_of(payload))
        ctx.set(dut.o.ready, 0)
        for _ in range(3):
            await ctx.tick()
        status.update(saturated=ctx.get(dut.saturated), framing=ctx.get(dut.framing_error),
                      busy=ctx.get(dut.busy), rdy_late=ctx.get(dut.rdy_late))

    bad = set()

    seen = {"one": 0, "ro_hold": 0}         # cycles in which the batch-boundary paths were taken

    async def invariants(ctx):      # every cycle: the registered issue decision agrees with the state it was
        conds = dut.issue_stage.invariants() + dut.datapath.invariants()      # made ahead of, and the rest
        one, hold = dut.issue_stage.boundary_state()
        async for _ in ctx.tick():
            bad.update(msg for cond, msg in conds if not ctx.get(cond))
            seen["one"] += ctx.get(one)
            seen["ro_hold"] += ctx.get(hold)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.add_testbench(mon.process(), background=True)
    sim.add_testbench(invariants, background=True)
    sim.run()
    assert not bad, sorted(bad)
    mon.check(min_rewrites=len(batches))
    assert mon.buffer_writes > 0 and not mon.buffer_collisions, \
        f"sample buffer read meets its write (cycle, buffer, word): {mon.buffer_collisions[:5]}"
    assert mon.state_reads > 0 and not mon.state_collisions, \
        f"a used state read meets its write (cycle, word): {mon.state_collisions[:5]}"
    status["monitor"], status["boundary"] = mon, seen
    return got, status


def with_junk_lanes(cfg, beats, rng):
    """The beats with random non-zero words in the lanes past each vector's end (last beats only)."""
    lo, hi = -(1 << (cfg.in_width - 1)), (1 << (cfg.in_width - 1)) - 1
    out = []
    for bt in beats:
        if bt["last"]:
            length = cfg.length(Vec(bt["vec"]))
            rem = length - (cfg.words(Vec(bt["vec"])) - 1) * cfg.lanes
            elems = list(bt["elems"])
            for k in range(rem, cfg.lanes):
                elems[k] = rng.choice([lo, hi, rng.randint(lo, hi) or 1])
            bt = {**bt, "elems": elems}
        out.append(bt)
    return out


def check(cfg, batches, **kw):
    want, g = golden_words(cfg, batches)
    got, status = run_engine(cfg, batches, **kw)
    for i, (gw, ww) in enumerate(zip(got, want)):
        assert gw == ww, f"beat {i}: got {gw}, want {ww}"
    assert len(got) == len(want)
    assert status["saturated"] == g.flags.saturated
    assert not status["framing"]
    assert not status["rdy_late"], "the read-out start (counted) disagreed with the scalar unit's RDY"
    return g


@pytest.mark.parametrize("a,b,lanes,sizes", [
    (1, 1, 1, [1, 3]),
    (3, 5, 1, [4, 1, 2]),
    (5, 7, 2, [3, 5]),
    (6, 11, 4, [6]),
    (13, 9, 3, [2, 3]),
])
def test_engine_matches_golden_with_stalls(a, b, lanes, sizes):
    rng = np.random.default_rng(a * 100 + b)
    cfg = dict(a=a, b=b, lanes=lanes)
    check(cfg, make_batches(rng, a, b, sizes), seed=a + b)


@pytest.mark.parametrize("a,b,lanes,p_stall", [(3, 19, 2, 0.0), (9, 17, 1, 0.3)])
def test_engine_batches_back_to_back(a, b, lanes, p_stall):
    """Batches with no gap in the input: the next batch's first beat waits behind the read-out. Vectors of
    more than 7 words (no in-flight wait before a pass), so the read-out's last beats and the next
    sample's first ones sit close in the pipeline, where they share the lanes' pM DSPs
    (hdl/engine/lane.py)."""
    rng = np.random.default_rng(a * 31 + b)
    check(dict(a=a, b=b, lanes=lanes), make_batches(rng, a, b, [2, 3, 1]), seed=a, p_gap=0.0, p_stall=p_stall)


def test_next_batch_first_sample_passes_before_the_readout():
    """The read-out writes nothing back, so the next batch's first sample may pass while the read-out
    waits for its RDY (short samples: 8 beats against a LAST of ~100 cycles), and a batch of that one
    sample may close before the read-out ran (its own read-out then follows, with both of its updates
    pending). Both paths are taken (counted in the issue stage) and the updates are the golden model's."""
    cfg = dict(a=3, b=5, lanes=1)
    rng = np.random.default_rng(7)
    batches = make_batches(rng, 3, 5, [3, 1, 2, 1, 1, 4])
    want, g = golden_words(cfg, batches)
    got, status = run_engine(cfg, batches, seed=5, p_gap=0.0, p_stall=0.2)
    assert got == want
    assert status["boundary"]["one"] > 0, "no next-batch sample passed before a read-out"
    assert status["boundary"]["ro_hold"] > 0, "no batch of one sample closed before the previous read-out"
    assert not status["framing"] and not status["rdy_late"]


@pytest.mark.parametrize("kind", ["full", "zero", "alt"])
def test_engine_extreme_inputs(kind):
    rng = np.random.default_rng(7)
    cfg = dict(a=4, b=6, lanes=2)
    check(cfg, make_batches(rng, 4, 6, [3, 2], kind=kind), seed=3)


@pytest.mark.parametrize("kind", ["full", "alt"])
def test_engine_short_chain_sums_match_golden(kind):
    """compact=True builds the lanes' saturating sums in short carry chains (Lane `short_chains`: the
    low bits' carry selects parts made for both of its values): full-scale inputs at the UP5K formats,
    bit-exact with the golden model. (The clamps themselves, rare with a normalised state, are proved
    for every input by `python -m flow.formal lane_saturation_short`.)"""
    rng = np.random.default_rng(17)
    cfg = dict(a=4, b=6, lanes=1, in_width=8, state_width=16, coef_width=12, elem_width=12, s_mant_width=12,
               exp_width=4, mant_width=16, fexp_width=8)
    check(cfg, make_batches(rng, 4, 6, [3, 2, 4], kind=kind, width=8), seed=5, hdl=dict(compact=True))


@pytest.mark.parametrize("exps", [(-32, 31), (31, 31), (-32, -32)])
def test_engine_block_exponent_extremes(exps):
    """Per-sample block exponents over the whole 6-bit range (and stuck at either end): the exponent
    is folded into the scalar unit exactly as in the golden model; exponents on beats other than a
    vector's last are ignored."""
    rng = np.random.default_rng(11)
    cfg = dict(a=5, b=3, lanes=2)
    check(cfg, make_batches(rng, 5, 3, [4, 3], exps=exps), seed=4, junk_exp=True, window=False)


def test_engine_8bit_inputs_other_binary_point():
    rng = np.random.default_rng(8)
    cfg = dict(a=5, b=4, lanes=1, in_width=8, x_frac=3, delta_frac=5)
    check(cfg, make_batches(rng, 5, 4, [3, 4], width=8, exps=(0, 0)), seed=5, p_gap=0.1, p_stall=0.0)


@pytest.mark.parametrize("state_width,lanes", [(12, 1), (17, 2), (18, 1)])
def test_engine_narrow_state_formats(state_width, lanes):
    """State words at and below the lanes' 17-bit DSP split (hdl/engine/lane.py `split`): the signed
    half of pM keeps at least the sign bit, so every state_width EngineConfig allows (12..32) elaborates
    and matches the golden model (12 is also the formal proofs' configuration, flow/formal_props)."""
    rng = np.random.default_rng(state_width)
    cfg = dict(a=3, b=5, lanes=lanes, in_width=8, state_width=state_width, coef_width=12, elem_width=8)
    check(cfg, make_batches(rng, 3, 5, [3, 2], width=8, exps=(0, 0)), seed=state_width)


def test_engine_smallest_float_formats():
    """The narrowest scalar formats EngineConfig allows: mant_width 16 = coef_width = s_mant_width (the
    COEF/SOUT normalisers round a value no wider than their result; they crashed at elaboration),
    fexp_width 8: the engine elaborates and matches the golden model."""
    rng = np.random.default_rng(16)
    cfg = dict(a=4, b=3, lanes=1, in_width=8, state_width=16, mant_width=16, coef_width=16, s_mant_width=16,
               fexp_width=8, elem_width=8)
    check(cfg, make_batches(rng, 4, 3, [3, 2], width=8, exps=(0, 0)), seed=16)


@pytest.mark.parametrize("a,b,lanes,sizes,p_gap", [
    (8, 12, 1, [3, 2], 0.3),        # the iCEBreaker build's shape (in_width 8, state_width 12, one lane)
    (8, 12, 1, [2, 3], 0.0),        # back to back: the read-out's last beats beside the next sample's
    (3, 5, 1, [4, 1, 2], 0.3),      # short vectors: in-flight waits between passes
    (7, 10, 3, [3, 2], 0.3),        # several lanes: the lane sums registered before the accumulators
])
def test_engine_bram_delays_matches_golden(a, b, lanes, sizes, p_gap):
    """bram_delays=True (the iCE40 builds: pipeline delay lines in block RAM, hdl/engine/delay_line.py)
    is bit-exact against the golden model like the default, with stalls and back-pressure."""
    rng = np.random.default_rng(a * 7 + b + lanes)
    cfg = dict(a=a, b=b, lanes=lanes, in_width=8, state_width=12, coef_width=12, elem_width=8, s_mant_width=8,
               exp_width=4, mant_width=16, fexp_width=8)
    check(cfg, make_batches(rng, a, b, sizes, width=8, exps=(-3, 3)), seed=a + lanes, p_gap=p_gap,
          hdl={"bram_delays": True})


def test_engine_up5k_build_forms_match_golden():
    """The UP5K build's forms together (flow/configs/sbe_engine_a100_b784_l1_in8.json: compact, bram_delays,
    ALU latency 10, so that KSEL's result also goes through a block-RAM delay line, ScalarUnit
    bram_delays) on a small layer, bit-exact with stalls and gaps, and the same cycles."""
    rng = np.random.default_rng(510)
    cfg = dict(a=6, b=9, lanes=1, in_width=8, state_width=16, mant_width=16, coef_width=12, fexp_width=8,
               elem_width=12, s_mant_width=12, exp_width=4, max_batch=255, alu_latency=10)
    check(cfg, make_batches(rng, 6, 9, [4, 1, 3], width=8), seed=10, p_gap=0.3,
          hdl={"compact": True, "bram_delays": True})


def test_engine_bram_delays_is_checked():
    with pytest.raises(TypeError, match="bram_delays must be True or False"):
        SBEEngine(a=2, b=2, bram_delays=1)


@pytest.mark.parametrize("kwargs,exc,text", [
    ({"a": 0, "b": 3}, ValueError, "a must be between 1 and 4096, not 0"),
    ({"a": 3, "b": 3, "lanes": 0}, ValueError, "lanes must be between 1 and 8, not 0"),
    ({"a": 3, "b": "4"}, TypeError, "b must be an integer, not '4'"),
])
def test_engine_rejects_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        SBEEngine(**kwargs)


def test_clear_mid_batch_status_and_framing_flag():
    """`clear` in the middle of a batch drops it (the next batch matches a fresh golden model); busy and
    sample_count follow the batch; a wrong tag sets framing_error without changing the arithmetic."""
    cfg = dict(a=3, b=4, lanes=2)
    rng = np.random.default_rng(21)
    (xs0, ds0, _, _), (xs1, ds1, xe1, de1) = make_batches(rng, 3, 4, [2, 3])
    want, _ = golden_words(cfg, [(xs1, ds1, xe1, de1)])
    dut = SBEEngine(**cfg)
    seen = {}

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        # boot: register-file reset (NREGS cycles) beside the state init (1+ceil(a/L)+ceil(b/L) cycles),
        # then the scheduled INIT microcode, plus a few cycles of hand-shake
        boot = P.NREGS + S.segment_lengths(dut.cfg.alu_latency)["INIT"] + 4
        for _ in range(boot):
            await ctx.tick()
        seen["idle_busy"] = ctx.get(dut.busy)
        for bt in sample_beats(xs0[0], ds0[0], dut.lanes, False) + sample_beats(xs0[1], ds0[1], dut.lanes, False)[:2]:
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), what="beat of the abandoned batch")
        await ctx.tick()
        seen["count"], seen["busy"] = ctx.get(dut.sample_count), ctx.get(dut.busy)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        beats = batch_beats((xs1, ds1, xe1, de1), dut.lanes)
        beats[0] = {**beats[0], "vec": int(Vec.D)}  # wrong tag on the first beat (an x beat)
        for bt in beats:
            await put_beat(ctx, dut.i, dut.in_layout.const(bt), what="beat after clear")
        seen["got"] = await get_words(ctx, dut, len(want), limit=2_000, what="update beats after clear")
        seen["framing"] = ctx.get(dut.framing_error)
        for _ in range(200):
            await ctx.tick()
        seen["end_busy"], seen["end_count"] = ctx.get(dut.busy), ctx.get(dut.sample_count)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen["idle_busy"] == 0
    assert seen["count"] == 1 and seen["busy"] == 1
    assert seen["got"] == want
    assert seen["framing"] == 1
    assert seen["end_busy"] == 0 and seen["end_count"] == 0


@pytest.mark.parametrize("lat,lanes", [(lat, lanes) for lat in range(3, 10) for lanes in (1, 4)])
def test_engine_matches_golden_at_other_alu_latencies(lat, lanes):
    """The scalar unit at every ALU latency (its own schedule of the microcode; the FloatALU's and the
    conversions' pipeline registers of that latency, hdl/engine/float_alu.py CUTS and
    hdl/engine/scalar_unit.py CONV_CUTS) bit-exact with the golden model (stalls and gaps on the streams)."""
    rng = np.random.default_rng(40 + lat + 10 * lanes)
    check(dict(a=5, b=7, lanes=lanes, alu_latency=lat), make_batches(rng, 5, 7, [3, 2]), seed=lat)


def test_rtl_rejects_alu_latency_below_three():
    with pytest.raises(ValueError, match="alu_latency"):
        SBEEngine(a=3, b=3, alu_latency=2)


def test_rtl_full_form_rejects_the_compact_only_latency():
    """ALU latency 8 (alu_latency 10) splits the compact normaliser (float_alu.CUTS "pre"); the full form
    has no such cut and says so at construction."""
    with pytest.raises(ValueError, match="needs compact=True"):
        SBEEngine(a=3, b=3, alu_latency=10)


@pytest.mark.parametrize("lat", [3, 5, 8])
def test_engine_s_output_clamps_at_alu_latencies(lat):
    """A narrow s exponent (s_exp_width 2: real exponents -2..1; binary points 7: these batches' s between
    2**-4 and 2**2) so that SOUT's conversion both saturates and underflows (the mantissa shifted right, rounded): the
    clamp logic in each of its pipeline forms (hdl/engine/scalar_unit.py CONV_CUTS: none at 3, "post" at
    5, "post" and "post2" at 8) against the golden model."""
    rng = np.random.default_rng(98)
    cfg = dict(a=5, b=7, lanes=1, s_exp_width=2, x_frac=7, delta_frac=7, alu_latency=lat)
    g = check(cfg, make_batches(rng, 5, 7, [3, 2, 4, 1, 6]), seed=lat)
    assert g.flags.saturated


@pytest.mark.parametrize("cfg,sizes", [
    (dict(a=8, b=12, lanes=1, in_width=8, state_width=12, mant_width=16, coef_width=12, fexp_width=8,
          elem_width=8, s_mant_width=8, exp_width=4), [5, 3]),                       # 8-bit inputs, 12-bit state
    (dict(a=5, b=7, lanes=2, alu_latency=5), [3, 2]),                                 # with "post" cuts
    (dict(a=8, b=12, lanes=1, in_width=8, state_width=16, mant_width=16, coef_width=12, fexp_width=8,
          elem_width=12, s_mant_width=12, exp_width=4, alu_latency=4), [4, 1, 3]),  # the iCEBreaker's
    (dict(a=6, b=9, lanes=1, in_width=8, state_width=16, mant_width=16, coef_width=12, fexp_width=8,
          elem_width=12, s_mant_width=12, exp_width=4, alu_latency=8), [4, 2]),     # split normaliser
    (dict(a=6, b=9, lanes=1, in_width=8, state_width=16, mant_width=16, coef_width=12, fexp_width=8,
          elem_width=12, s_mant_width=12, exp_width=4, alu_latency=10), [3, 2]),    # the UP5K config's (cut "pre")
    (dict(a=5, b=7, lanes=1, s_exp_width=2, x_frac=7, delta_frac=7), [3, 2, 4, 1, 6]),  # s clamps both ways
])
def test_engine_compact_scalar_unit_matches_golden(cfg, sizes):
    """The compact scalar unit (ScalarUnit(compact=True): compact FloatALU and conversions, compares as
    logic, register-file reset values from a block-RAM ROM, a narrow jc + 1) bit-exact with the golden
    model, with stalls and gaps on the streams, and the same cycles (the schedule is the same)."""
    rng = np.random.default_rng(77 + len(sizes))
    check(cfg, make_batches(rng, cfg["a"], cfg["b"], sizes, width=cfg.get("in_width", 16)), seed=len(sizes),
          hdl=dict(compact=True))
