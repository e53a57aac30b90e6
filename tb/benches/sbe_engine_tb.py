"""cocotb (2.x) bench of the generated SBE-engine Verilog against golden/rtl/sbe_engine.py, bit for bit.

Configuration (bench_params): {"cfg": SBEEngine keyword parameters, "seed", "segments", "p_gap",
"p_stall", "results"}. `segments` is a list of items run in order:
    {"batches": [[n, kind], ...]}   full batches (kind: a tb.stimulus.engine_batch kind); every output
                                    word is compared with the golden model
    {"partial": [n, kind]}          n samples of a batch that is then abandoned with `clear` (state reset
                                    in the middle of a batch); the golden model is reset as well
With "results" set, the bench writes a JSON file there: cycles from the first accepted input beat to the
last output beat per batch, total cycles, and wall-clock seconds (for the simulator speed figure).
"""
import json
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.engine.sbe_engine import SBEEngine
from tb.drivers.reset import reset
from tb.drivers.streams import StreamSink, StreamSource, no_pauses, pack, random_pauses, unpack
from tb.runner import bench_params
from tb.stimulus import batch_beats, engine_batch


def batch_of(rng, model, n: int, kind: str):
    """One batch of `kind` (tb.stimulus.engine_batch) for the engine `model`. Block exponents: within +-3
    for random batches, the two ends of the exponent range for full-scale ones, 0 otherwise."""
    exps = {"random": range(-3, 4), "full": model.cfg.exp_range}.get(kind)
    return engine_batch(rng, model.a, model.b, n, kind, width=model.cfg.in_width, exps=exps)


@cocotb.test()
async def sbe_engine_matches_golden(dut):
    p = bench_params()
    cfg = p["cfg"]
    seed = p.get("seed", 1)
    model = SBEEngine(**cfg)               # layouts only
    a, b = model.a, model.b
    golden = SBEFixedEngine(**cfg)
    rng = np.random.default_rng(seed)
    p_gap, p_stall = p.get("p_gap", 0.3), p.get("p_stall", 0.3)

    cycle = [0]

    async def count():
        while True:
            await RisingEdge(dut.clk)
            cycle[0] += 1

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    cocotb.start_soon(count())
    src = StreamSource(dut, "i", dut.clk, random_pauses(p_gap, seed) if p_gap else no_pauses())
    sink = StreamSink(dut, "o", dut.clk, random_pauses(p_stall, seed + 1) if p_stall else no_pauses())
    dut.clear.value = 0
    await reset(dut)
    t_wall = time.time()
    c_start = cycle[0]
    per_batch, words_checked = [], 0

    for seg in p["segments"]:
        if "partial" in seg:
            n, kind = seg["partial"]
            beats = batch_beats(batch_of(rng, model, n, kind), model.lanes, complete=False)
            await src.send([pack(model.in_layout, bt) for bt in beats])
            await ClockCycles(dut.clk, 3)
            assert int(dut.sample_count.value) == n
            dut.clear.value = 1
            await RisingEdge(dut.clk)
            dut.clear.value = 0
            golden.reset()
            continue
        for n, kind in seg["batches"]:
            batch = batch_of(rng, model, n, kind)
            beats = [pack(model.in_layout, bt) for bt in batch_beats(batch, model.lanes)]
            for x, d, ex, ed in zip(*batch):
                golden.sample(x, d, ex, ed)
            want = golden.beats(golden.end_batch())
            first_accept = [None]

            async def send_and_mark():
                await RisingEdge(dut.clk)
                task = cocotb.start_soon(src.send(beats))
                while src.sent == sent0:
                    await RisingEdge(dut.clk)
                first_accept[0] = cycle[0]
                await task

            sent0 = src.sent
            sender = cocotb.start_soon(send_and_mark())
            got_raw = await sink.recv(len(want), timeout_cycles=50 * (n + 2) * (a + b + 200))
            c_end = cycle[0]
            await sender
            got = [unpack(model.out_layout, r) for r in got_raw]
            for i, (g, w_) in enumerate(zip(got, want)):
                assert g == w_, f"batch of {n} ({kind}), beat {i}: got {g}, want {w_}"
            words_checked += len(got)
            per_batch.append({"n": n, "cycles": c_end - first_accept[0] + 1})

    await ClockCycles(dut.clk, 3)
    await ReadOnly()
    assert bool(dut.saturated.value) == golden.flags.saturated, "sticky saturation flag"
    assert not dut.framing_error.value
    wall = time.time() - t_wall
    dut._log.info("%d output words matched the golden model bit for bit; batches: %s", words_checked, per_batch)
    if p.get("results"):
        with open(p["results"], "w") as f:
            json.dump({"batches": per_batch, "total_cycles": cycle[0] - c_start, "wall_s": wall,
                       "words": words_checked}, f)
