"""The one interface every batch-update method implements (SBE, its variants and the baselines).

A method sees a layer's batch as a stream of (x, delta) pairs, x the layer input (length b) and delta
the back-propagated error at its output (length a), and at the end of the batch returns the update
direction as a list of rank-1 terms (scale, u, v) so that

    W <- W - eta * sum_k scale_k * outer(u_k, v_k)

For the batch methods the terms approximate (or equal) the batch-MEAN gradient
G = (1/n) sum_j delta_j x_j^T. State that carries over to the next batch (warm start) lives in the
object; `reset()` returns it to its seeded initial value.

Input checks, made here once for every method: x and delta of each sample must have the layer's widths
(ValueError) and be finite: a NaN or infinite element raises ValueError naming the argument, the sample
(its 0-based index in the batch) and the element, e.g. "x of sample 3 must be finite, found nan at
index 17", and leaves the method's state as it was before that sample. Zero samples are valid input;
each method states what a zero batch gives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.checks import check_finite, check_finite_samples


@dataclass(frozen=True)
class RankOneTerm:
    """One outer-product write: scale * outer(u, v). u has length a, v length b; scale is signed."""

    scale: float
    u: np.ndarray
    v: np.ndarray

    def matrix(self) -> np.ndarray:
        return self.scale * np.outer(self.u, self.v)


class UpdateMethod:
    """Base class. Subclasses implement `_begin_batch`, `_sample` and `_end_batch`.

    Parameters
    ----------
    a, b : int
        Output and input widths of the layer (the gradient is a x b).
    """

    #: Matrix updates (whole-array writes) counted per batch of n samples; SGD overrides.
    def matrix_updates_per_batch(self, n: int) -> int:
        return 1

    def __init__(self, a: int, b: int):
        for name, val in (("a", a), ("b", b)):
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, not {val!r}")
        self.a, self.b = int(a), int(b)
        self._in_batch = False
        self._n = 0

    # -- public API -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the warm-start state."""

    def sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        """Stream one sample of the current batch (checked as the module docstring states)."""
        x = np.asarray(x, dtype=np.float64)
        delta = np.asarray(delta, dtype=np.float64)
        if x.shape != (self.b,) or delta.shape != (self.a,):
            raise ValueError(f"expected x of shape ({self.b},) and delta of shape ({self.a},), "
                             f"got {x.shape} and {delta.shape}")
        j = self._n if self._in_batch else 0
        check_finite("x", x, sample=j)
        check_finite("delta", delta, sample=j)
        if not self._in_batch:
            self._begin_batch()
            self._in_batch = True
            self._n = 0
        self._n += 1
        self._sample(x, delta)

    def end_batch(self) -> list[RankOneTerm]:
        """Close the batch and return its update as rank-1 terms (empty for an empty batch)."""
        if not self._in_batch:
            return []
        self._in_batch = False
        return self._end_batch()

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        """Stream a whole batch (rows of xs and deltas) and return its update. Every sample is checked
        before the first one is streamed, so a rejected batch leaves the state untouched."""
        xs, deltas = np.atleast_2d(xs), np.atleast_2d(deltas)
        if len(xs) != len(deltas):
            raise ValueError(f"xs and deltas must have the same number of rows, got {len(xs)} and {len(deltas)}")
        if xs.shape[1:] == (self.b,) and deltas.shape[1:] == (self.a,):    # else sample() names the shape
            check_finite_samples(("x", xs), ("delta", deltas), start=self._n if self._in_batch else 0)
        for x, d in zip(xs, deltas):
            self.sample(x, d)
        return self.end_batch()

    def _check_whole_batch(self, xs, deltas) -> tuple[np.ndarray, np.ndarray]:
        """Validation shared by the whole-batch fast paths (`batch` overrides): float64 2-D arrays of
        matching lengths and widths, every element finite, and no streamed batch left open."""
        if self._in_batch:
            raise RuntimeError("batch() called while a streamed batch is open; call end_batch() first")
        xs = np.atleast_2d(np.asarray(xs, dtype=np.float64))
        deltas = np.atleast_2d(np.asarray(deltas, dtype=np.float64))
        if xs.shape[1:] != (self.b,) or deltas.shape[1:] != (self.a,) or len(xs) != len(deltas):
            raise ValueError(f"expected xs (n, {self.b}) and deltas (n, {self.a}), got {xs.shape} and {deltas.shape}")
        check_finite_samples(("x", xs), ("delta", deltas))
        return xs, deltas

    # -- to implement ------------------------------------------------------------------------------
    def _begin_batch(self) -> None:
        pass

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        raise NotImplementedError

    def _end_batch(self) -> list[RankOneTerm]:
        raise NotImplementedError


def update_matrix(terms: list[RankOneTerm], a: int, b: int) -> np.ndarray:
    """Sum of the rank-1 terms as a dense a x b matrix (zeros for no terms)."""
    out = np.zeros((a, b))
    for t in terms:
        out += t.matrix()
    return out
