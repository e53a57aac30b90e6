"""Mini-batch gradient descent (MBGD): the exact batch-MEAN gradient G = (1/n) sum_j delta_j x_j^T.

It models the a*b accumulator next to the array. By default the batch returns ONE `DenseTerm` holding G,
so `update_matrix(terms, a, b)` is exactly G (0 + G, no rounding). On a crossbar that is a*b element
writes (or up to n outer products), counted as one matrix update per batch. With `terms="svd"` the batch
returns G's nonzero singular triples as `RankOneTerm`s instead (for code that needs (u, v) pairs); their
sum equals G to float64 rounding, not bit-exactly.
An all-zero batch returns no term.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


@dataclass(frozen=True)
class DenseTerm:
    """A full-rank update written element by element: scale * G (same `.matrix()` API as RankOneTerm)."""

    scale: float
    G: np.ndarray

    def matrix(self) -> np.ndarray:
        return self.G if self.scale == 1.0 else self.scale * self.G

    def rank_one_terms(self) -> list[RankOneTerm]:
        """The exact SVD of scale*G as rank-1 terms (nonzero singular values only)."""
        U, S, Vt = np.linalg.svd(self.matrix(), full_matrices=False)
        return [RankOneTerm(float(S[i]), U[:, i].copy(), Vt[i].copy()) for i in range(len(S)) if S[i] > 0]


class MBGD(UpdateMethod):
    """Exact batch-mean gradient.

    Parameters
    ----------
    a, b : int
        Layer output / input widths.
    terms : "dense" | "svd"
        Return one DenseTerm (default, exact) or the SVD as rank-1 terms.
    """

    def __init__(self, a: int, b: int, *, terms: str = "dense"):
        super().__init__(a, b)
        if terms not in ("dense", "svd"):
            raise ValueError(f"terms must be 'dense' or 'svd', not {terms!r}")
        self.terms = terms
        self._acc = np.zeros((self.a, self.b))

    def reset(self) -> None:
        self._acc = np.zeros((self.a, self.b))
        self._in_batch = False

    def _begin_batch(self) -> None:
        self._acc = np.zeros((self.a, self.b))

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        self._acc += np.outer(delta, x)

    def _end_batch(self) -> list:
        return self._wrap(self._acc / self._n)

    def _wrap(self, G: np.ndarray) -> list:
        if not np.any(G):
            return []
        term = DenseTerm(1.0, G)
        return [term] if self.terms == "dense" else term.rank_one_terms()

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list:
        """Whole batch at once: G = deltas^T xs / n in one matrix product (same value as streaming to rounding)."""
        xs, deltas = self._check_whole_batch(xs, deltas)
        if len(xs) == 0:
            return []
        return self._wrap(deltas.T @ xs / len(xs))
