"""Float rank-1 streaming batch eigenupdate (SBE), exactly as in section 2 of docs/sbe-algorithm.md.

State carried across batches (warm start): X (length b), D (length a), s (scalar), kept UN-normalised.
For sample j = 1..n of a batch, alpha = j/(j+1), beta = 1/(j+1), in this order:

    p_d = delta . D / ||D||
    X   = alpha*X + beta * p_d * x
    p_x = x . X / ||X||            (the X just updated)
    D   = alpha*D + beta * p_x * delta
    q_d = delta . D / ||D||        (the D just updated)
    s   = alpha*s + beta * p_x * q_d

End of batch: (s, D/||D||, X/||X||). s estimates the top singular value of the batch-MEAN gradient and
is signed; X and D may flip sign, but s*Dhat*Xhat^T keeps the right sign.

Initial state (not in the paper; ours): X, D seeded standard-normal vectors, s = 0.
Degenerate inputs: a zero norm ||X|| or ||D|| makes the projection 0 (not NaN); a batch whose
state ends with a zero vector returns no term (the write is skipped).
"""
from __future__ import annotations

import math

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


def _project(v: np.ndarray, w: np.ndarray) -> float:
    """v . w / ||w||, defined as 0 when w is the zero vector."""
    n = np.linalg.norm(w)
    return float(v @ w / n) if n > 0 else 0.0


class SBE(UpdateMethod):
    """Rank-1 SBE (Hoskins et al. 2019), float64.

    Parameters
    ----------
    a, b : int
        Layer output / input widths.
    seed : int
        Seed of the initial random X and D.
    """

    def __init__(self, a: int, b: int, *, seed: int = 0):
        super().__init__(a, b)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.X = rng.standard_normal(self.b)
        self.D = rng.standard_normal(self.a)
        self.s = 0.0

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        # The warm-start state counts as sample 0 of the batch, hence j/(j+1) with j the 1-based index.
        j = self._n
        alpha, beta = j / (j + 1), 1.0 / (j + 1)
        p_d = _project(delta, self.D)
        self.X = alpha * self.X + beta * p_d * x
        p_x = _project(x, self.X)
        self.D = alpha * self.D + beta * p_x * delta
        q_d = _project(delta, self.D)
        self.s = alpha * self.s + beta * p_x * q_d

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        """Whole batch: bit-identical to streaming it through `sample` (same operations in the same order;
        ||w|| = sqrt(w.w) is what numpy.linalg.norm computes for a 1-D float vector), with the input checks
        made once for the whole batch instead of per sample."""
        xs, deltas = self._check_whole_batch(xs, deltas)
        if len(xs) == 0:
            return []
        X, D, s, sqrt = self.X, self.D, self.s, math.sqrt
        for j, (x, delta) in enumerate(zip(xs, deltas), start=1):
            alpha, beta = j / (j + 1), 1.0 / (j + 1)
            nd = sqrt(D @ D)
            p_d = float(delta @ D / nd) if nd > 0 else 0.0
            X = alpha * X + beta * p_d * x
            nx = sqrt(X @ X)
            p_x = float(x @ X / nx) if nx > 0 else 0.0
            D = alpha * D + beta * p_x * delta
            nd = sqrt(D @ D)
            q_d = float(delta @ D / nd) if nd > 0 else 0.0
            s = alpha * s + beta * p_x * q_d
        self.X, self.D, self.s = X, D, s
        self._n = len(xs)
        return self._end_batch()

    def _end_batch(self) -> list[RankOneTerm]:
        nx, nd = np.linalg.norm(self.X), np.linalg.norm(self.D)
        if nx == 0 or nd == 0:
            return []
        return [RankOneTerm(self.s, self.D / nd, self.X / nx)]
