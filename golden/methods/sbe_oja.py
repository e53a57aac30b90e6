"""Division-free (Oja-form) rank-1 SBE, section 2.2 of docs/sbe-algorithm.md (paper, supplement).

Per sample, with a constant step xi (a power of two is a shift in hardware) and the projections taken on
the stored (approximately unit-norm) vectors, all three right-hand sides use the values from BEFORE
the sample:

    c_d = delta . D,   c_x = x . X
    X <- X*(1 - xi*c_d*c_x) + xi * x * c_d
    D <- D*(1 - xi*c_d*c_x) + xi * delta * c_x
    s <- s*(1 - xi) + xi * c_d * c_x

No divide and no square root, in the sample loop or at the end of a batch: the batch returns
(s, D, X) as stored, so ||D|| and ||X|| are only approximately 1 (Oja's rule keeps them near 1 when
xi*|c_d*c_x| << 1; the paper warns it can be unstable -- watch `norms()`). s is an exponential running
mean of c_d*c_x with time constant 1/xi samples, NOT reset at batch boundaries (warm start).

Initial state (ours): X, D seeded standard-normal vectors scaled to unit norm (one-time set-up, not part
of the streaming datapath), s = 0.
"""
from __future__ import annotations

import numpy as np

from golden.methods.update_method import RankOneTerm, UpdateMethod


class SBEOja(UpdateMethod):
    """Oja-form rank-1 SBE, float64.

    Parameters
    ----------
    a, b : int
        Layer output / input widths.
    xi : float
        Constant step, 0 < xi < 1. Stability needs xi * |delta.D| * |x.X| well below 1 and
        xi * ||x||^2 * |delta.D|^2 < 2 (the usual Oja bound); inputs must be scaled accordingly.
    seed : int
        Seed of the initial X and D.
    """

    def __init__(self, a: int, b: int, *, xi: float = 2.0 ** -6, seed: int = 0):
        super().__init__(a, b)
        if not (isinstance(xi, (int, float)) and 0 < xi < 1):
            raise ValueError(f"xi must be a float in (0, 1), not {xi!r}")
        self.xi = float(xi)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        rng = np.random.default_rng(self.seed)
        X = rng.standard_normal(self.b)
        D = rng.standard_normal(self.a)
        self.X = X / np.linalg.norm(X)
        self.D = D / np.linalg.norm(D)
        self.s = 0.0

    def norms(self) -> tuple[float, float]:
        """(||X||, ||D||): 1 in exact arithmetic, the quantity to watch for the variant's instability."""
        return float(np.linalg.norm(self.X)), float(np.linalg.norm(self.D))

    def _sample(self, x: np.ndarray, delta: np.ndarray) -> None:
        xi = self.xi
        c_d = float(delta @ self.D)
        c_x = float(x @ self.X)
        g = xi * c_d * c_x
        X_new = self.X * (1.0 - g) + (xi * c_d) * x
        self.D = self.D * (1.0 - g) + (xi * c_x) * delta
        self.X = X_new
        self.s = self.s * (1.0 - xi) + g

    def _end_batch(self) -> list[RankOneTerm]:
        if not (np.all(np.isfinite(self.X)) and np.all(np.isfinite(self.D)) and np.isfinite(self.s)):
            raise FloatingPointError("SBEOja state diverged (non-finite); reduce xi or scale the inputs")
        return [RankOneTerm(self.s, self.D.copy(), self.X.copy())]
