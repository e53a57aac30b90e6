"""Per-line LFSRs of the pulse schemes: bit-exact golden twin of hdl/controller/lfsr.py.

The generator (polynomials TAPS, the `steps`-step leap, the per-line seed rule) is defined in
contract/lfsr.py; here it runs on NumPy arrays of line states: `step` (one scalar step), `leap`
(vectorised, in block form while steps <= both taps) and `LineLFSRs` (a bank of lines).
"""
from __future__ import annotations

import numpy as np

from contract.lfsr import TAPS, check_width, line_seed

def step(state: int, width: int) -> int:
    """One single step of a scalar LFSR state."""
    fb = 0
    for t in TAPS[width]:
        fb ^= (state >> (t - 1)) & 1
    return ((state << 1) | fb) & ((1 << width) - 1)


def leap(states, width: int, steps: int) -> np.ndarray:
    """Advance every state of the uint64 array `states` by `steps` single steps (vectorised)."""
    check_width(width)
    s = np.asarray(states, dtype=np.uint64).copy()
    mask = np.uint64((1 << width) - 1)
    taps = TAPS[width]
    if len(taps) == 2 and steps <= min(taps):
        # Block form: while steps <= both taps every new bit reads only old bits, so the `steps`
        # feedback bits are one XOR of two shifted copies (the same bits the loop below produces:
        # the bit made at step i lands at position steps-1-i and reads old bits t-1-i).
        t1, t2 = taps
        fb = ((s >> np.uint64(t1 - steps)) ^ (s >> np.uint64(t2 - steps))) & np.uint64((1 << steps) - 1)
        return ((s << np.uint64(steps)) | fb) & mask
    one = np.uint64(1)
    for _ in range(steps):
        fb = np.zeros_like(s)
        for t in TAPS[width]:
            fb ^= (s >> np.uint64(t - 1)) & one
        s = ((s << one) | fb) & mask
    return s


class LineLFSRs:
    """A bank of per-line LFSRs (the golden image of the RTL's state registers).

    Parameters
    ----------
    indices : sequence of int
        Line indices (row i, COL_BASE + j, GATE_INDEX), which fix the seeds with `seed`.
    seed : int
        Global seed (the RTL's elaboration parameter `seed`).
    width : int
        LFSR width, a key of TAPS.
    steps : int
        Single steps per leap (one leap per pulse slot); also the bits of each random number.
    """

    def __init__(self, indices, *, seed: int, width: int = 31, steps: int = 16):
        self.width = check_width(width)
        if not 1 <= steps <= width:
            raise ValueError(f"steps must be between 1 and {width}, not {steps!r}")
        self.steps = steps
        self.state = np.array([line_seed(seed, int(i), width) for i in indices], dtype=np.uint64)

    def next_values(self) -> np.ndarray:
        """Leap every line once; return the low `steps` bits of the new states (int64 array)."""
        self.state = leap(self.state, self.width, self.steps)
        return (self.state & np.uint64((1 << self.steps) - 1)).astype(np.int64)
