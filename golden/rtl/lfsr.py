"""Per-line LFSRs of the pulse schemes: bit-exact golden twin of hdl/controller/lfsr.py.

The generator (polynomials TAPS, the `steps`-step leap, the per-line seed rule) is defined in
contract/lfsr.py; here it runs on NumPy arrays of line states: `step` (one scalar step), `leap`
(vectorised, in block form while steps <= both taps) and `LineLFSRs` (a bank of lines, seeded with
contract.lfsr.line_seeds: evenly spaced starts on the one sequence).
"""
from __future__ import annotations

import numpy as np

from contract.lfsr import TAPS, check_width

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
    if len(taps) == 2:
        # Block form, in pieces of at most the low tap: while k <= both taps every new bit reads only
        # old bits, so the k feedback bits are one XOR of two shifted copies (the same bits the single
        # steps produce: the bit made at step i lands at position k-1-i and reads old bits t-1-i).
        t1, t2 = taps
        while steps:
            k = min(steps, t1, t2)
            fb = ((s >> np.uint64(t1 - k)) ^ (s >> np.uint64(t2 - k))) & np.uint64((1 << k) - 1)
            s = ((s << np.uint64(k)) | fb) & mask
            steps -= k
        return s
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
    seeds : sequence of int
        Reset states of the lines (contract.lfsr.line_seeds), each 1 .. 2**width - 1.
    width : int
        LFSR width, a key of TAPS.
    steps : int
        Single steps per leap (one leap per pulse slot; the pulse scheme leaps contract.lfsr.leap_steps).
    bits : int, optional
        Bits of each random number, the low bits of the leapt state (1 .. steps; default `steps`).
    """

    def __init__(self, seeds, *, width: int = 31, steps: int = 16, bits: int | None = None):
        self.width = check_width(width)
        if not 1 <= steps <= width:
            raise ValueError(f"steps must be between 1 and {width}, not {steps!r}")
        self.steps = steps
        self.bits = steps if bits is None else bits
        if not 1 <= self.bits <= steps:
            raise ValueError(f"bits must be between 1 and steps ({steps}), not {bits!r}")
        seeds = [int(x) for x in seeds]
        if any(not 0 < x < (1 << width) for x in seeds):
            raise ValueError(f"every seed must be between 1 and 2**{width} - 1")
        self.state = np.array(seeds, dtype=np.uint64)

    def next_values(self) -> np.ndarray:
        """Leap every line once; return the low `bits` bits of the new states (int64 array)."""
        self.state = leap(self.state, self.width, self.steps)
        return (self.state & np.uint64((1 << self.bits) - 1)).astype(np.int64)
