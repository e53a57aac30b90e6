"""The fast loop's bench-side memory formats (tb/fast_loop.py), without a simulator: the vectorised
sample-memory words equal the beat-by-beat packing of the stream contract, and slot words unpack to the
line flags in Cat(row_fire, row_pol, col_fire, col_pol) order."""
import numpy as np
import pytest

from contract.layouts import sample_beats, sample_layout
from tb.drivers.streams import pack
from tb.fast_loop import line_bits, memory_words, sample_memory_words


@pytest.mark.parametrize("lanes,a,b,n,pack_n", [(1, 3, 5, 4, 16), (2, 7, 4, 3, 4), (3, 5, 9, 1, 1), (8, 10, 17, 2, 8)])
def test_sample_memory_words_equal_beat_packing(lanes, a, b, n, pack_n):
    rng = np.random.default_rng(lanes * 100 + a)
    layout = sample_layout(lanes)
    samples = [(rng.integers(-2**15, 2**15, b).tolist(), rng.integers(-2**15, 2**15, a).tolist(),
                int(rng.integers(-32, 32)), int(rng.integers(-32, 32))) for _ in range(n)]
    beats = []
    for j, (x, d, xe, de) in enumerate(samples):
        beats += [pack(layout, bt) for bt in sample_beats(x, d, lanes, j == n - 1, xe, de)]
    words, count = sample_memory_words(layout, samples, lanes, pack_n)
    assert count == len(beats)
    assert words == memory_words(beats, layout.size, pack_n)


def test_line_bits_order():
    v = 0b1011 | (1 << 40)
    got = line_bits(v, 42)
    assert got[:4].tolist() == [True, True, False, True] and got[40] and not got[39] and got.sum() == 4
