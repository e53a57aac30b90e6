"""hdl/engine/out_fifo.py cycle for cycle against amaranth.lib.fifo.SyncFIFOBuffered, with random writes and
reads (writes into a full FIFO included: both ignore them); its invariants (OutFIFO.invariants, which the
formal proofs assert) hold in every cycle."""
import numpy as np
import pytest
from amaranth import Module
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.sim import Simulator

from hdl.engine.out_fifo import OutFIFO


@pytest.mark.parametrize("gate_writes", [True, False], ids=["gated", "ungated"])
@pytest.mark.parametrize("width,depth,p_w,p_r", [(26, 13, 0.6, 0.4), (5, 2, 0.5, 0.5), (9, 8, 0.3, 0.8),
                                                 (7, 17, 0.7, 0.6)])
def test_out_fifo_matches_sync_fifo_buffered(width, depth, p_w, p_r, gate_writes):
    """Ungated (the engine's form), the writer keeps off a full FIFO, as the engine's credits do."""
    m = Module()
    m.submodules.dut = dut = OutFIFO(width, depth, gate_writes=gate_writes)
    m.submodules.ref = ref = SyncFIFOBuffered(width=width, depth=depth)
    rng = np.random.default_rng(depth * 10 + width)
    n = 600
    w_en, r_en = (rng.random(n) < p_w).astype(int), (rng.random(n) < p_r).astype(int)
    data = rng.integers(0, 1 << width, n)
    stats = {"reads": 0, "full": 0, "wrapped": 0}

    async def bench(ctx):
        for we, re, d in zip(w_en.tolist(), r_en.tolist(), data.tolist()):
            if not gate_writes:
                stats["full"] += we and not ctx.get(dut.w_rdy)
                we &= ctx.get(dut.w_rdy)
            for f in (dut, ref):
                ctx.set(f.w_en, we)
                ctx.set(f.w_data, d)
                ctx.set(f.r_en, re)
            got = [ctx.get(dut.r_rdy), ctx.get(dut.w_rdy), ctx.get(dut.level), ctx.get(dut.empty)]
            want = [ctx.get(ref.r_rdy), ctx.get(ref.w_rdy), ctx.get(ref.level), int(ctx.get(ref.level) == 0)]
            assert got == want
            for cond, msg in dut.invariants():      # (the FIFO is elaborated by now)
                assert ctx.get(cond), msg
            level, produce, consume = (ctx.get(v) for v in dut.buffer_state)
            stats["wrapped"] += produce < consume
            if want[0]:
                assert ctx.get(dut.r_data) == ctx.get(ref.r_data)
                stats["reads"] += re
            stats["full"] += gate_writes and not want[1]
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert stats["reads"] > n // 10                # words went through
    assert depth < 3 or stats["wrapped"] > 0        # and the pointers wrapped around (the invariants' hard case)
    if p_w > p_r:
        assert stats["full"] > 0                   # and writes met a full FIFO


def test_out_fifo_rejects_bad_parameters():
    with pytest.raises(ValueError, match="depth must be between 2 and 1024"):
        OutFIFO(8, 1)
    with pytest.raises(TypeError, match="gate_writes must be True or False"):
        OutFIFO(8, 4, gate_writes=0)
