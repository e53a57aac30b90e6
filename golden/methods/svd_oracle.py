"""Exact truncated SVD of rank k of the batch-MEAN gradient: the oracle of the paper (not streamable).

It stores the whole batch (rows x_j, delta_j), forms G = (1/n) sum_j delta_j x_j^T and returns its top-k
singular triples as rank-1 terms (sigma_i, u_i, v_i), sigma_i > 0, in decreasing order. Terms with
sigma_i == 0 are dropped, so an all-zero batch gives no term (the write is skipped). The sign of u_i and
v_i is numpy's choice; only the product sigma_i u_i v_i^T is defined, and that is unique for distinct
singular values.

Speed (same result): for n < min(a, b) the SVD is taken of the n x n core R_d R_x^T / n of the thin QR
factorisations deltas^T = Q_d R_d, xs^T = Q_x R_x, so the oracle stays cheap at small batches.
"""
from __future__ import annotations

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


def top_k_svd(xs: np.ndarray, deltas: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, S, Vt) of the top-k singular triples of G = deltas^T xs / n (U: a x k', S: k', Vt: k' x b)."""
    xs, deltas = np.atleast_2d(xs), np.atleast_2d(deltas)
    n, a, b = len(xs), deltas.shape[1], xs.shape[1]
    if n < min(a, b):
        qd, rd = np.linalg.qr(deltas.T)           # a x n, n x n
        qx, rx = np.linalg.qr(xs.T)               # b x n, n x n
        u, s, vt = np.linalg.svd(rd @ rx.T / n)
        U, Vt = qd @ u, vt @ qx.T
    else:
        U, s, Vt = np.linalg.svd(deltas.T @ xs / n, full_matrices=False)
    return U[:, :k], s[:k], Vt[:k]


class SVDOracle(UpdateMethod):
    """Exact rank-k truncated SVD of the batch-mean gradient (stores the batch: a*b-free, but O(n(a+b))).

    Parameters
    ----------
    a, b : int
        Layer output / input widths.
    k : int
        Rank kept (1 for the paper's "SVD" baseline).
    """

    def __init__(self, a: int, b: int, *, k: int = 1):
        super().__init__(a, b)
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(a, b):
            raise ValueError(f"k must be an integer in [1, min(a, b)={min(a, b)}], not {k!r}")
        self.k = int(k)
        self._xs: list[np.ndarray] = []
        self._ds: list[np.ndarray] = []

    def reset(self) -> None:
        self._xs, self._ds = [], []
        self._in_batch = False

    def _begin_batch(self) -> None:
        self._xs, self._ds = [], []

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        self._xs.append(x)
        self._ds.append(delta)

    def _end_batch(self) -> list[RankOneTerm]:
        terms = self._terms(np.array(self._xs), np.array(self._ds))
        self._xs, self._ds = [], []
        return terms

    def _terms(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        U, S, Vt = top_k_svd(xs, deltas, self.k)
        return [RankOneTerm(float(S[i]), U[:, i].copy(), Vt[i].copy()) for i in range(len(S)) if S[i] > 0]

    def batch(self, xs: np.ndarray, deltas: np.ndarray) -> list[RankOneTerm]:
        """Whole batch at once (same result as streaming it, without the per-sample Python loop)."""
        xs, deltas = self._check_whole_batch(xs, deltas)
        if len(xs) == 0:
            return []
        return self._terms(xs, deltas)
