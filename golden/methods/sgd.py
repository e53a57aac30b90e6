"""Stochastic gradient descent (SGD): one rank-1 write per sample, the paper's batch-size-1 baseline.

Each sample's gradient delta_j x_j^T is one outer-product write, returned as
RankOneTerm(||delta_j||*||x_j||, delta_j/||delta_j||, x_j/||x_j||) (a zero delta or x gives no term:
nothing to write). A batch of n samples therefore returns n terms and counts n matrix updates; its
`update_matrix` is the SUM of the per-sample writes (n * the batch-mean gradient), i.e. what n successive
writes put on the array if the weights did not change in between.

How the trainer applies it: `per_sample = True` tells golden/training/mlp.py `train` to run SGD with forward AND
backward passes per sample (true SGD, every write sees the weights of the previous one), whatever batch
size is asked for; each one-sample batch yields one term, W <- W - eta * delta_j x_j^T.
"""
from __future__ import annotations

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


class SGD(UpdateMethod):
    """One rank-1 write per sample (no state across samples or batches)."""

    #: The trainer steps the weights after every sample (see module docstring).
    per_sample = True

    def __init__(self, a: int, b: int):
        super().__init__(a, b)
        self._terms: list[RankOneTerm] = []

    def matrix_updates_per_batch(self, n: int) -> int:
        return int(n)

    def reset(self) -> None:
        self._terms = []
        self._in_batch = False

    def _begin_batch(self) -> None:
        self._terms = []

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        nx, nd = np.linalg.norm(x), np.linalg.norm(delta)
        if nx > 0 and nd > 0:
            self._terms.append(RankOneTerm(float(nx * nd), delta / nd, x / nx))

    def _end_batch(self) -> list[RankOneTerm]:
        terms, self._terms = self._terms, []
        return terms

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        """Whole batch at once: the same terms as streaming it, the input checks made once for the batch."""
        xs, deltas = self._check_whole_batch(xs, deltas)
        nx = np.sqrt(np.einsum("ij,ij->i", xs, xs))
        nd = np.sqrt(np.einsum("ij,ij->i", deltas, deltas))
        return [RankOneTerm(float(nx[j] * nd[j]), deltas[j] / nd[j], xs[j] / nx[j])
                for j in range(len(xs)) if nx[j] > 0 and nd[j] > 0]
