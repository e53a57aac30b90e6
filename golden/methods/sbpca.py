"""Rank-k streaming batch PCA (SBPCA), section 3 of docs/sbe-algorithm.md (Huang et al., AAAI 2020 / JETC 2023).

State carried across batches (warm start): X (b x k), D (a x k) with orthonormal columns, sigma (k).
The batch is cut into sub-batches of m samples (the last one may be shorter, m_t < m); per sub-batch
t = 0, 1, ... with rows x_t (m_t x b), delta_t (m_t x a), the warm start counting as one sub-batch:

    w   = (t+1)/(t+2)
    X  <- w*X + x_t^T (delta_t D) / ((t+2) m_t) / sigma        (column-wise divide)
    X  <- orthonormalise(X)                                    (QR, columns times sign(diag R))
    D  <- w*D + delta_t^T (x_t X) / ((t+2) m_t) / sigma        (uses the new X)
    D  <- orthonormalise(D)
    sigma <- w*sigma + column_sums((delta_t D) * (x_t X)) / ((t+2) m_t)

End of batch: k terms (sigma_i, D[:, i], X[:, i]); the update is D diag(sigma) X^T (write them one after
another: "rank-seq"). sigma is signed, like SBE's s.

Choices of ours (not in the paper): initial X, D = Q factors of seeded standard-normal matrices,
sigma = 0. Where |sigma_i| is 0 (the first sub-batch after reset, or a zero gradient) the new column is
divided by its own norm instead of sigma_i (and left at 0 if that is 0 too), so nothing divides by zero.
The sign fix maps sign(0) to +1, so a zero-gradient sub-batch leaves X and D unchanged (only scaled
and re-orthonormalised). Samples are buffered per sub-batch (m x (a+b) words), as the hardware would.
"""
from __future__ import annotations

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


def orthonormalise(A: np.ndarray) -> np.ndarray:
    """Q of the thin QR of A with columns multiplied by sign(diag R) (0 -> +1), so each column of Q
    points the same way as the corresponding column of A (numpy's Householder QR has arbitrary signs)."""
    q, r = np.linalg.qr(A)
    sg = np.where(np.diag(r) < 0, -1.0, 1.0)
    return q * sg


def _divide_columns(T: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """T / sigma column-wise; where sigma is 0 use the column norm, where that is 0 too leave the 0 column."""
    norms = np.linalg.norm(T, axis=0)
    div = np.where(sigma != 0, sigma, np.where(norms > 0, norms, 1.0))
    return T / div


class SBPCA(UpdateMethod):
    """Rank-k streaming batch PCA with sub-batches, float64.

    Parameters
    ----------
    a, b : int
        Layer output / input widths.
    k : int
        Rank, 1 <= k <= min(a, b).
    m : int
        Sub-batch size (32 in the lab's code).
    seed : int
        Seed of the initial X and D.
    """

    def __init__(self, a: int, b: int, *, k: int = 3, m: int = 32, seed: int = 0):
        super().__init__(a, b)
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(a, b):
            raise ValueError(f"k must be an integer in [1, min(a, b)={min(a, b)}], not {k!r}")
        if not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"m must be a positive integer, not {m!r}")
        self.k, self.m, self.seed = int(k), int(m), seed
        self.reset()

    def reset(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.X = orthonormalise(rng.standard_normal((self.b, self.k)))
        self.D = orthonormalise(rng.standard_normal((self.a, self.k)))
        self.sigma = np.zeros(self.k)
        self._buf_x: list[np.ndarray] = []
        self._buf_d: list[np.ndarray] = []
        self._t = 0
        self._in_batch = False

    def _begin_batch(self) -> None:
        self._buf_x, self._buf_d, self._t = [], [], 0

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        self._buf_x.append(x)
        self._buf_d.append(delta)
        if len(self._buf_x) == self.m:
            self._sub_batch(np.array(self._buf_x), np.array(self._buf_d))
            self._buf_x, self._buf_d = [], []

    def _sub_batch(self, xt: np.ndarray, dt: np.ndarray) -> None:
        t, mt = self._t, len(xt)
        w, c = (t + 1) / (t + 2), 1.0 / ((t + 2) * mt)
        self.X = orthonormalise(w * self.X + _divide_columns(xt.T @ (dt @ self.D) * c, self.sigma))
        xX = xt @ self.X
        self.D = orthonormalise(w * self.D + _divide_columns(dt.T @ xX * c, self.sigma))
        self.sigma = w * self.sigma + np.sum((dt @ self.D) * xX, axis=0) * c
        self._t += 1

    def _end_batch(self) -> list[RankOneTerm]:
        if self._buf_x:
            self._sub_batch(np.array(self._buf_x), np.array(self._buf_d))
            self._buf_x, self._buf_d = [], []
        return [RankOneTerm(float(self.sigma[i]), self.D[:, i].copy(), self.X[:, i].copy())
                for i in range(self.k)]

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        """Whole batch at once, sub-batch by sub-batch (identical arithmetic to streaming it)."""
        xs, deltas = self._check_whole_batch(xs, deltas)
        if len(xs) == 0:
            return []
        self._t = 0
        for i in range(0, len(xs), self.m):
            self._sub_batch(xs[i:i + self.m], deltas[i:i + self.m])
        return [RankOneTerm(float(self.sigma[i]), self.D[:, i].copy(), self.X[:, i].copy())
                for i in range(self.k)]
