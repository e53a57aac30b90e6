"""cocotb (2.x) bench of the generated dot-product Verilog against golden/rtl/dot_product.py.

Seeded random vectors (lengths 1 .. max_length, random values, plus full-scale and alternating-sign
corners), random gaps on i.valid and random back-pressure on o.ready; every result compared bit for bit.
Configuration (width, lanes, max_length, seed) comes from the runner (tb.runner.bench_params).
"""
import cocotb
import numpy as np
from cocotb.clock import Clock

from golden.rtl.dot_product import dot_product, to_lane_beats
from hdl.dot_product import DotProduct
from tb.runner import bench_params
from tb.drivers.streams import StreamSink, StreamSource, pack, random_pauses, unpack
from tb.drivers.reset import reset


@cocotb.test()
async def dot_product_matches_golden(dut):
    p = bench_params()
    width, lanes, max_length, seed = p["width"], p["lanes"], p["max_length"], p.get("seed", 1)
    model = DotProduct(width=width, lanes=lanes, max_length=max_length)   # for its layouts only
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (width - 1)), 1 << (width - 1)
    vectors = [(rng.integers(lo, hi, n), rng.integers(lo, hi, n))
               for n in rng.integers(1, max_length + 1, 30)]
    alt = np.array([hi - 1, lo] * max_length)[:max_length]
    vectors += [(np.full(max_length, lo), np.full(max_length, lo)),      # largest positive sum
                (np.full(max_length, lo), np.full(max_length, hi - 1)),  # largest negative sum
                (alt, alt), (np.zeros(1, int), np.zeros(1, int))]
    beats = [pack(model.in_layout, {"x": xs, "y": ys, "last": last})
             for x, y in vectors for xs, ys, last in to_lane_beats(x, y, lanes)]

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = StreamSource(dut, "i", dut.clk, random_pauses(0.3, seed))
    sink = StreamSink(dut, "o", dut.clk, random_pauses(0.4, seed + 1))
    await reset(dut)
    cocotb.start_soon(src.send(beats))
    got = [unpack(model.o.payload.shape(), r) for r in await sink.recv(len(vectors))]
    want = [dot_product(x, y) for x, y in vectors]
    assert got == want
    dut._log.info("%d dot products matched the golden model bit for bit", len(got))
