"""Bit-exact golden twin of hdl/dot_product.py: the exact integer dot product of two int vectors.

Formats: x, y are signed `width`-bit integers (any binary point; the product of Qm.f and Qm.f numbers is
a Q.2f number). The sum is exact: the RTL accumulator has 2*width + ceil(log2(max_length)) bits, wide
enough that no sum of up to max_length products can overflow, so neither side saturates or rounds.
"""
from __future__ import annotations

import numpy as np

from contract.layouts import lane_chunks


def dot_product(x, y) -> int:
    """Exact sum(x[i]*y[i]) as a Python int (no float, no overflow)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    return sum(int(a) * int(b) for a, b in zip(x.tolist(), y.tolist()))


def to_lane_beats(x, y, lanes: int) -> list[tuple[list[int], list[int], bool]]:
    """Split one vector pair into beats (xs, ys, last) of `lanes` elements, the last beat zero-padded (the
    beat-cutting rule of contract/layouts.py lane_chunks, as the RTL expects)."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have equal lengths, got {len(x)} and {len(y)}")
    return [(xs, ys, last) for (xs, last), (ys, _) in zip(lane_chunks(x, lanes), lane_chunks(y, lanes))]
