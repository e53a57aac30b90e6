"""cocotb (2.x) bench of the generated SBE-engine Verilog against golden/rtl/sbe_engine.py, bit for bit.

Configuration (bench_params): {"cfg": SBEEngine keyword parameters, "seed", "segments", "p_gap",
"p_stall", "results"}. `segments` is a list of items run in order:
    {"batches": [[n, kind], ...]}   full batches (kind: a tb.stimulus.engine_batch kind); every output
                                    word is compared with the golden model
    {"partial": [n, kind]}          n samples of a batch that is then abandoned with `clear` (state reset
                                    in the middle of a batch); the golden model is reset as well
    {"stream": [[n, kind], ...]}    batches sent back to back, without waiting for their updates (the
                                    next batch's samples overlap the read-out); compared as above
With "results" set, the bench writes a JSON file there: per batch the cycles from its first accepted input
beat to its last output beat ("batches"; in a stream: from the previous batch's last output beat, the
steady-state period), total cycles, and wall-clock seconds (for the simulator speed figure).

Independent of the golden model, `StateWatch` follows the RTL's state write port (core.st_wr__en/__addr/
__data, SBEEngine.state_write_port) every cycle and asserts the state invariants of golden/rtl/sbe_engine.py
("State invariant"): lanes past a vector's end stay 0; while every block exponent since the last reset is
within +-3, each element |e| <= 2**(SW-2) (1 + 2**-8) and each completed vector rewrite has
2**(SW-4) <= ||M|| <= 2**(SW-2) (1 + 2**-8); any element at +-(2**(SW-1)-1) / -2**(SW-1) is counted as a clamp.
"""
import json
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, SimTimeoutError, with_timeout

from contract.enums import Vec
from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.engine.sbe_engine import SBEEngine
from tb.drivers.reset import reset
from tb.drivers.streams import StreamSink, StreamSource, no_pauses, pack, random_pauses, unpack
from tb.runner import bench_params
from tb.state_window import StateWindow
from tb.stimulus import batch_beats, engine_batch


def batch_of(rng, model, n: int, kind: str):
    """One batch of `kind` (tb.stimulus.engine_batch) for the engine `model`. Block exponents: within +-3
    for random batches, the two ends of the exponent range for full-scale ones, 0 otherwise."""
    exps = {"random": range(-3, 4), "full": model.cfg.exp_range}.get(kind)
    return engine_batch(rng, model.a, model.b, n, kind, width=model.cfg.in_width, exps=exps)


MODERATE_EXP = 3     #: block exponents within +-MODERATE_EXP keep the state in its documented window


class StateWatch(StateWindow):
    """tb/state_window.StateWindow fed from the engine's state write port (core.st_wr__*), sampled in the
    read-only phase of every cycle; a violation fails the bench at once."""

    def __init__(self, dut, cfg):
        super().__init__(cfg)
        self.core = dut.core

    async def run(self, clk):
        cycle = 0
        while True:
            await RisingEdge(clk)
            await ReadOnly()          # the write port as it stands for the next edge
            cycle += 1
            if int(self.core.st_wr__en.value):
                self.write(int(self.core.st_wr__addr.value), int(self.core.st_wr__data.value), cycle)
                assert not self.errors, self.errors[0]


def moderate(batch) -> bool:
    return all(abs(int(e)) <= MODERATE_EXP for e in list(batch[2]) + list(batch[3]))


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
    watch = StateWatch(dut, model.cfg)
    watcher = cocotb.start_soon(watch.run(dut.clk))
    t_wall = time.time()
    c_start = cycle[0]
    per_batch, words_checked = [], 0

    for seg in p["segments"]:
        if "partial" in seg:
            n, kind = seg["partial"]
            batch = batch_of(rng, model, n, kind)
            watch.window &= moderate(batch)
            beats = batch_beats(batch, model.lanes, complete=False)
            limit = 50 * (n + 2) * (a + b + 200)
            try:                          # every wait is bounded: a stuck input fails, naming it
                await with_timeout(src.send([pack(model.in_layout, bt) for bt in beats]), 10 * limit, "ns")
            except SimTimeoutError:
                raise AssertionError(f"timeout: the {n} samples of the abandoned batch not accepted in "
                                     f"{limit} cycles") from None
            await ClockCycles(dut.clk, 3)
            assert int(dut.sample_count.value) == n
            dut.clear.value = 1
            await RisingEdge(dut.clk)
            dut.clear.value = 0
            golden.reset()
            watch.window = True           # the reset pattern is in the window again
            continue
        if "stream" in seg:
            wants, beats, sizes = [], [], []
            for n, kind in seg["stream"]:
                batch = batch_of(rng, model, n, kind)
                watch.window &= moderate(batch)
                beats += [pack(model.in_layout, bt) for bt in batch_beats(batch, model.lanes)]
                for x, d, ex, ed in zip(*batch):
                    golden.sample(x, d, ex, ed)
                wants.append(golden.beats(golden.end_batch()))
                sizes.append(n)
            sent0 = src.sent
            sender = cocotb.start_soon(src.send(beats))
            while src.sent == sent0:
                await RisingEdge(dut.clk)
            c_prev = cycle[0]
            for n, want in zip(sizes, wants):
                got_raw = await sink.recv(len(want), timeout_cycles=50 * (n + 2) * (a + b + 200))
                got = [unpack(model.out_layout, r) for r in got_raw]
                for i, (g, w_) in enumerate(zip(got, want)):
                    assert g == w_, f"streamed batch of {n}, beat {i}: got {g}, want {w_}"
                words_checked += len(got)
                per_batch.append({"n": n, "cycles": cycle[0] - c_prev + (1 if not per_batch else 0)})
                c_prev = cycle[0]
            await sender
            continue
        for n, kind in seg["batches"]:
            batch = batch_of(rng, model, n, kind)
            watch.window &= moderate(batch)
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
    watcher.cancel()
    assert watch.checked > 0, "no state rewrite was checked against the norm window"
    assert watch.rewrites >= 2 * words_checked // (model.cfg.words(Vec.D) + model.cfg.words(Vec.X))
    dut._log.info("state invariants: %d vector rewrites watched, %d window-checked, %d clamped elements",
                  watch.rewrites, watch.checked, watch.clamps)
    wall = time.time() - t_wall
    dut._log.info("%d output words matched the golden model bit for bit; batches: %s", words_checked, per_batch)
    if p.get("results"):
        with open(p["results"], "w") as f:
            json.dump({"batches": per_batch, "total_cycles": cycle[0] - c_start, "wall_s": wall,
                       "words": words_checked}, f)
