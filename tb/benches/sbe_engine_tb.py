"""cocotb (2.x) bench of the generated SBE-engine Verilog against golden/rtl/sbe_engine.py, bit for bit.

Configuration (bench_params): {"cfg": SBEEngine keyword parameters, "seed", "segments", "p_gap",
"p_stall", "results"}. `segments` is a list of items run in order:
    {"batches": [[n, kind], ...]}   full batches (kind: random | full | zero | alt); every output word
                                    is compared with the golden model
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

from contract.layouts import sample_beats
from golden.rtl.sbe_engine import SBEFixedEngine
from hdl.sbe_engine import SBEEngine
from tb.runner import bench_params
from tb.drivers.streams import StreamSink, StreamSource, no_pauses, pack, random_pauses, unpack
from tb.drivers.reset import reset



def packed_sample_beats(layout, lanes, x, delta, last_of_batch, x_exp, delta_exp):
    return [pack(layout, bt) for bt in sample_beats(x, delta, lanes, last_of_batch, x_exp, delta_exp)]


def make_batch(rng, a, b, n, kind, width, exp_range):
    """(xs, ds, x_exps, delta_exps) of one batch of `kind` (exponents 0 unless the kind says otherwise)."""
    lo, hi = -(1 << (width - 1)), 1 << (width - 1)
    zero_e = np.zeros(n, int)
    if kind == "random":      # block exponents in +-3 as well
        return (rng.integers(lo, hi, (n, b)), rng.integers(lo, hi, (n, a)), rng.integers(-3, 4, n),
                rng.integers(-3, 4, n))
    if kind == "full":        # full-scale elements at the extreme block exponents
        ends = np.array(exp_range)
        return (np.where(rng.random((n, b)) < 0.5, lo, hi - 1), np.where(rng.random((n, a)) < 0.5, lo, hi - 1),
                rng.choice(ends, n), rng.choice(ends, n))
    if kind == "zero":
        return np.zeros((n, b), int), np.zeros((n, a), int), zero_e, zero_e
    if kind == "alt":
        return (np.array([[lo if (i + j) % 2 else hi - 1 for i in range(b)] for j in range(n)]),
                np.array([[hi - 1 if (i + j) % 2 else lo for i in range(a)] for j in range(n)]), zero_e, zero_e)
    if kind.startswith("npz:"):   # "npz:<path>:<k>": recorded batch k (xs (K, n, b), ds (K, n, a), xe/de (K, n))
        _, path, k = kind.split(":")
        z = np.load(path)
        k = int(k)
        return (z["xs"][k][:n], z["ds"][k][:n], z["xe"][k][:n] if "xe" in z else zero_e,
                z["de"][k][:n] if "de" in z else zero_e)
    if kind == "small":   # +-1 LSB: exercises the upward rescaling and tiny norms
        return rng.integers(-1, 2, (n, b)), rng.integers(-1, 2, (n, a)), zero_e, zero_e
    raise ValueError(kind)


@cocotb.test()
async def sbe_engine_matches_golden(dut):
    p = bench_params()
    cfg = p["cfg"]
    seed = p.get("seed", 1)
    model = SBEEngine(**cfg)               # layouts only
    L, width, erange = model.lanes, model.cfg.in_width, model.cfg.exp_range
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
            xs, ds, xe, de = make_batch(rng, a, b, n, kind, width, erange)
            beats = []
            for x, d, ex, ed in zip(xs, ds, xe, de):
                beats += packed_sample_beats(model.in_layout, L, x, d, False, ex, ed)
            await src.send(beats)
            await ClockCycles(dut.clk, 3)
            assert int(dut.sample_count.value) == n
            dut.clear.value = 1
            await RisingEdge(dut.clk)
            dut.clear.value = 0
            golden.reset()
            continue
        for n, kind in seg["batches"]:
            xs, ds, xe, de = make_batch(rng, a, b, n, kind, width, erange)
            beats = []
            for j, (x, d, ex, ed) in enumerate(zip(xs, ds, xe, de)):
                beats += packed_sample_beats(model.in_layout, L, x, d, j == n - 1, ex, ed)
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
