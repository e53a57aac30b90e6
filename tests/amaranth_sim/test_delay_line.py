"""hdl/engine/delay_line.py against the chain of registers it replaces, with random advances."""
import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl.engine.delay_line import DelayLine


@pytest.mark.parametrize("width,delay", [(5, 2), (20, 3), (13, 6), (8, 17)])
def test_delay_line_matches_register_chain(width, delay):
    """q of the block-RAM buffer equals the last of `delay` registers loaded on en, every cycle, with
    random en and data (a wrong read address or a read not held while en is low fails)."""
    dut = DelayLine(width, delay)
    rng = np.random.default_rng(width * 100 + delay)
    n = 40 * delay + 60
    ens = (rng.random(n) < 0.7).astype(int).tolist()
    data = rng.integers(0, 1 << width, n).tolist()
    chain = [0] * delay                      # the registers' model: chain[-1] is q
    seen = []

    async def bench(ctx):
        for en, d in zip(ens, data):
            ctx.set(dut.en, en)
            ctx.set(dut.d, d)
            assert ctx.get(dut.q) == chain[-1]
            seen.append(chain[-1])
            await ctx.tick()
            if en:
                chain[1:] = chain[:-1]
                chain[0] = d
        assert ctx.get(dut.q) == chain[-1]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(set(seen)) > min(n // 4, 2 ** width // 2)    # it saw real data, not only the initial 0s


@pytest.mark.parametrize("kwargs,text", [({"width": 0, "delay": 3}, "width must be between 1 and 64"),
                                         ({"width": 8, "delay": 1}, "delay must be between 2 and 64")])
def test_delay_line_rejects_bad_parameters(kwargs, text):
    with pytest.raises(ValueError, match=text):
        DelayLine(**kwargs)
