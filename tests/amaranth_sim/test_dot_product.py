"""Amaranth-simulator tests of hdl/dot_product.py against its golden twin, with stalls on both streams."""
import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.rtl.dot_product import dot_product, to_lane_beats
from hdl.dot_product import DotProduct
from tb.amaranth_sim.streams import stream_get, stream_put


def run_vectors(dut, vectors, seed):
    rng_in, rng_out = random.Random(seed), random.Random(seed + 1)
    got = []

    async def producer(ctx):
        for x, y in vectors:
            for xs, ys, last in to_lane_beats(x, y, dut.lanes):
                await stream_put(ctx, dut.i, dut.in_layout.const({"x": xs, "y": ys, "last": last}),
                                 rng=rng_in, p_gap=0.3)

    async def consumer(ctx):
        for _ in vectors:
            got.append(await stream_get(ctx, dut.o, rng=rng_out, p_stall=0.4))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return got


@pytest.mark.parametrize("lanes,width", [(1, 16), (3, 8), (4, 16)])
def test_matches_golden_with_stalls(lanes, width):
    rng = np.random.default_rng(lanes * 100 + width)
    lo, hi = -(1 << (width - 1)), 1 << (width - 1)
    vectors = [(rng.integers(lo, hi, n), rng.integers(lo, hi, n)) for n in rng.integers(1, 20, 12)]
    # Full-scale corner: every product is (-2^(w-1))^2, the largest magnitude, over the maximum length.
    vectors.append((np.full(37, lo), np.full(37, lo)))
    dut = DotProduct(width=width, lanes=lanes, max_length=37)
    assert run_vectors(dut, vectors, seed=lanes) == [dot_product(x, y) for x, y in vectors]


def test_accumulator_is_wide_enough_for_max_length():
    dut = DotProduct(width=16, lanes=1, max_length=1024)
    worst = 1024 * (1 << 30)          # 1024 products of (-2^15)^2
    assert worst < (1 << (dut.acc_width - 1))


@pytest.mark.parametrize("kwargs,exc,text", [
    ({"width": 1}, ValueError, "width must be between 2 and 32, not 1"),
    ({"lanes": 9}, ValueError, "lanes must be between 1 and 8, not 9"),
    ({"lanes": 2.0}, TypeError, "lanes must be an integer, not 2.0"),
    ({"max_length": 0}, ValueError, "max_length must be between 1 and"),
])
def test_rejects_bad_parameters(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        DotProduct(**kwargs)
