"""Behavioural memristor device models, with the parameter names and meanings of IBM aihwkit.

A device model is a frozen dataclass of parameters (what aihwkit calls a device config) plus two
pieces of behaviour used by :class:`golden.arrays.crossbar.Crossbar`:

* ``draw(a, b)``: the per-device (device-to-device, "d2d") parameters of an a x b array, drawn once
  from ``numpy.random.Generator(PCG64(construction_seed))``;
* ``update(w, d, p, xi)``: the "update once" rule, one pulse coincidence on every device of a block,
  vectorised (``w``, the signed step count ``d``, ``xi`` and the entries of ``p`` have the same shape).

Common per-device draws (aihwkit ``PulsedDevice`` semantics, all relative spreads)::

    w_max_bound = w_max * (1 + w_max_dtod * xi1)          w_min_bound = w_min * (1 + w_min_dtod * xi2)
    gain        = 1 + dw_min_dtod * xi3                    r = up_down_dtod * xi4
    scale_up    = dw_min * (gain + r + min(up_down, 0))    scale_down = dw_min * (gain - r - max(up_down, 0))

so a positive ``up_down`` makes up steps larger than down steps; the weaker direction carries the
systematic asymmetry and the stronger one keeps dw_min (aihwkit's normalisation). Compared with the
shorthand ``dw_min*(1 + d*beta_ij + dw_min_dtod*xi)`` of docs/device-models.md, the d2d part is identical
(``beta_ij = r`` contributes +-r) but the systematic ``up_down`` enters once, on one side, as in aihwkit;
we keep aihwkit's form because the presets (ReRamES: up_down 0.259) were fitted in it.

With ``enforce_consistency`` (aihwkit default) scales are made positive and bounds are made to contain 0
(swapped if crossed, then w_max_bound = |.|, w_min_bound = -|.|). Corrupt devices (probability
``corrupt_devices_prob``) get both bounds equal to a value drawn uniformly from
[max(lo, -range), min(hi, range)] and zero step scales: they are stuck at that value.

Cycle-to-cycle ("c2c") noise multiplies each step by ``(1 + dw_min_std * xi)`` (one standard normal per
coincidence, supplied by the caller; ``LinearStep(mult_noise=False)`` and ExpStep's "complex" noise are
additive instead, see those classes), after which the weight is clipped to the device's own bounds.
``write_noise_std`` (in units of dw_min, as in aihwkit) is applied by the crossbar to the apparent weight.

Draw order, fixed so that changing one spread does not reshuffle the others (every matrix is drawn even
when its spread is 0): xi1, xi2, xi3, xi4 (each ``standard_normal((a, b))``), then the model's own
normals (listed in each class), then ``random((a, b))`` for the corrupt test and ``random((a, b))`` for
the stuck value. The stream is not aihwkit's (which interleaves per device), so draws have the same
distribution as aihwkit's, not the same values.

Ideal mode (dw_min -> 0): :class:`Ideal` has no pulse step at all; the crossbar refuses pulse slots for it
and writes it only with ``Crossbar.apply_ideal(delta_w)``, which adds the real-valued update exactly and
clips to the (by default fixed) bounds. It isolates the effect of granularity from everything else.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = [
    "PulsedDevice", "ConstantStep", "LinearStep", "SoftBounds", "ExpStep", "PowStep", "PiecewiseStep",
    "Ideal", "GokmenVlasov", "Idealized", "Noiseless", "ReRamES", "ReRamSB", "PCM", "EcRam",
    "Capacitor", "COMMON_PARAMS",
]

#: Names of the per-device arrays every model provides (see the module docstring).
COMMON_PARAMS = ("w_min_bound", "w_max_bound", "scale_up", "scale_down")


def _check_real(name, value, *, nonneg=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{name} must be a real number, not {value!r}")
    if nonneg and value < 0:
        raise ValueError(f"{name} must be a non-negative number, not {value!r}")


@dataclass(frozen=True)
class PulsedDevice:
    """Parameters common to every pulsed device (aihwkit ``PulsedDevice`` names and meanings).

    Use a concrete model (:class:`ConstantStep`, :class:`LinearStep`, ...) or a preset. Defaults are
    aihwkit's ``PulsedDevice`` defaults, which are the Gokmen-Vlasov 2016 baseline.

    Parameters
    ----------
    dw_min : float
        Mean weight step per pulse coincidence.
    dw_min_dtod : float
        Device-to-device spread of the step (relative, std of ``gain``).
    dw_min_std : float
        Cycle-to-cycle spread of each step (relative).
    up_down, up_down_dtod : float
        Systematic up/down asymmetry and its device-to-device spread.
    w_min, w_max : float
        Nominal hard bounds; the interval must contain 0.
    w_min_dtod, w_max_dtod : float
        Relative device-to-device spread of the bounds.
    write_noise_std : float
        Std of the noise on the apparent weight, in units of dw_min, resampled when a device is touched.
    corrupt_devices_prob : float
        Probability that a device is stuck.
    corrupt_devices_range : float
        Stuck values are drawn inside [-range, range] (and inside the device's bounds).
    enforce_consistency : bool
        Make scales positive and bounds contain 0 after the d2d draw.
    construction_seed : int
        Seed of the d2d draws (``Generator(PCG64(construction_seed))``).
    """

    dw_min: float = 0.001
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_min: float = -0.6
    w_max: float = 0.6
    w_min_dtod: float = 0.3
    w_max_dtod: float = 0.3
    write_noise_std: float = 0.0
    corrupt_devices_prob: float = 0.0
    corrupt_devices_range: float = 1000.0
    enforce_consistency: bool = True
    construction_seed: int = 0

    #: Names of the model-specific per-device arrays (after COMMON_PARAMS).
    extra_params: ClassVar[tuple[str, ...]] = ()
    #: Number of standard-normal (a, b) matrices the model draws after the common four.
    n_extra_draws: ClassVar[int] = 0
    #: False only for the ideal (continuous) mode.
    pulsed: ClassVar[bool] = True

    def __post_init__(self):
        for name in ("dw_min", "dw_min_dtod", "dw_min_std", "up_down_dtod", "w_min_dtod", "w_max_dtod",
                     "write_noise_std", "corrupt_devices_range"):
            _check_real(name, getattr(self, name), nonneg=True)
        for name in ("up_down", "w_min", "w_max"):
            _check_real(name, getattr(self, name))
        _check_real("corrupt_devices_prob", self.corrupt_devices_prob, nonneg=True)
        if self.corrupt_devices_prob > 1:
            raise ValueError(f"corrupt_devices_prob must be in [0, 1], not {self.corrupt_devices_prob!r}")
        if not (self.w_min <= 0 <= self.w_max):
            raise ValueError(f"the interval [w_min, w_max] must contain 0, "
                             f"not [{self.w_min!r}, {self.w_max!r}]")
        if self.pulsed and not self.dw_min > 0:
            raise ValueError(f"dw_min must be positive for a pulsed device, not {self.dw_min!r} "
                             f"(use Ideal for the dw_min -> 0 mode)")
        if not isinstance(self.enforce_consistency, bool):
            raise TypeError(f"enforce_consistency must be a bool, not {self.enforce_consistency!r}")
        if (isinstance(self.construction_seed, bool) or not isinstance(self.construction_seed, int)
                or self.construction_seed < 0):
            raise ValueError(f"construction_seed must be a non-negative integer, "
                             f"not {self.construction_seed!r}")

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the per-device arrays returned by :meth:`draw`, in storage order."""
        return COMMON_PARAMS + self.extra_params

    # -- construction --------------------------------------------------------------------------
    def draw(self, a: int, b: int, seed: int | None = None) -> dict[str, np.ndarray]:
        """Per-device parameters of an a x b array (plus ``corrupt``, a boolean mask of stuck devices).

        ``seed`` overrides ``construction_seed``. The draw order is given in the module docstring.
        """
        rng = np.random.Generator(np.random.PCG64(self.construction_seed if seed is None else seed))
        shape = (a, b)
        xi = [rng.standard_normal(shape) for _ in range(4)]
        extra_xi = [rng.standard_normal(shape) for _ in range(self.n_extra_draws)]
        u_corrupt = rng.random(shape)
        u_value = rng.random(shape)

        w_max_b = self.w_max * (1.0 + self.w_max_dtod * xi[0])
        w_min_b = self.w_min * (1.0 + self.w_min_dtod * xi[1])
        gain = 1.0 + self.dw_min_dtod * xi[2]
        r = self.up_down_dtod * xi[3]
        up_bias = min(self.up_down, 0.0)
        down_bias = -max(self.up_down, 0.0)
        scale_up = (up_bias + gain + r) * self.dw_min
        scale_down = (down_bias + gain - r) * self.dw_min
        if self.enforce_consistency:
            scale_up, scale_down = np.abs(scale_up), np.abs(scale_down)
            crossed = w_min_b > w_max_b
            w_min_b, w_max_b = np.where(crossed, w_max_b, w_min_b), np.where(crossed, w_min_b, w_max_b)
            w_max_b, w_min_b = np.abs(w_max_b), -np.abs(w_min_b)
        else:
            # aihwkit "turns off" a device whose bounds crossed: both at the midpoint.
            crossed = w_min_b > w_max_b
            mid = 0.5 * (w_min_b + w_max_b)
            w_min_b, w_max_b = np.where(crossed, mid, w_min_b), np.where(crossed, mid, w_max_b)

        p = {"w_min_bound": w_min_b, "w_max_bound": w_max_b, "scale_up": scale_up, "scale_down": scale_down}
        p.update(self._derive(p, extra_xi))

        corrupt = u_corrupt < self.corrupt_devices_prob
        if corrupt.any():
            rng_ = abs(self.corrupt_devices_range)
            lo = np.maximum(np.minimum(w_max_b, w_min_b), -rng_)
            hi = np.minimum(np.maximum(w_max_b, w_min_b), rng_)
            value = lo + (hi - lo) * u_value
            for name in ("w_min_bound", "w_max_bound"):
                p[name] = np.where(corrupt, value, p[name])
            for name in ("scale_up", "scale_down"):
                p[name] = np.where(corrupt, 0.0, p[name])
        p["corrupt"] = corrupt
        return p

    def _derive(self, p: dict, extra_xi: list) -> dict:
        """Model-specific per-device arrays from the common ones and the model's own normals."""
        return {}

    # -- update once ---------------------------------------------------------------------------
    def step(self, w: np.ndarray, up: np.ndarray, p: dict) -> np.ndarray:
        """Noiseless step magnitude (>= 0) of one coincidence in direction ``up`` (True) / down."""
        raise NotImplementedError

    def update(self, w: np.ndarray, d, p: dict, xi: np.ndarray | None = None) -> np.ndarray:
        """New weights after one pulse coincidence on every element of a block, clipped to its bounds.

        ``d`` is the signed number of steps per element: +1 up, -1 down, 0 no move (elements with d = 0
        must also have xi = 0), a fraction for the half-select disturb. ``xi`` (standard normals, same
        shape) gives the c2c noise; None means none. Returns a new array.
        """
        d = np.asarray(d, dtype=np.float64)
        dw = d * self.step(w, d > 0, p)
        if xi is not None and self.dw_min_std > 0:
            dw *= 1.0 + self.dw_min_std * xi
        dw += w
        return np.clip(dw, p["w_min_bound"], p["w_max_bound"], out=dw)


@dataclass(frozen=True)
class ConstantStep(PulsedDevice):
    """Step independent of the weight: w <- clip(w +- scale_d * (1 + dw_min_std*xi)).

    The Gokmen-Vlasov 2016 device. Only this model is additive in the number of pulses, which is what
    makes :meth:`Crossbar.apply_coincidence_counts` a closed form for it.
    """

    def step(self, w, up, p):
        return np.where(up, p["scale_up"], p["scale_down"])


@dataclass(frozen=True)
class LinearStep(PulsedDevice):
    """Step linear in the weight (aihwkit ``LinearStepDevice``).

    up:   scale_up   * (1 - gamma_up_ij   * w / w_ref_up)
    down: scale_down * (1 - gamma_down_ij * w / w_ref_down)

    with w_ref the nominal bounds (``mean_bound_reference=True``) or the device's own bounds; the step
    is clamped at 0 (it never reverses). gamma_d_ij = gamma_d + gamma_d_dtod * xi, made non-negative
    unless ``allow_increasing``. Extra draws (in order): xi_gamma_up, xi_gamma_down.
    ``mult_noise``: c2c noise multiplies the step (True) or is additive, scale_d * dw_min_std * xi.
    """

    gamma_up: float = 0.0
    gamma_down: float = 0.0
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    allow_increasing: bool = False
    mean_bound_reference: bool = True
    mult_noise: bool = True

    extra_params: ClassVar[tuple[str, ...]] = ("k_up", "k_down")
    n_extra_draws: ClassVar[int] = 2

    def __post_init__(self):
        super().__post_init__()
        for name in ("gamma_up", "gamma_down"):
            _check_real(name, getattr(self, name))
        for name in ("gamma_up_dtod", "gamma_down_dtod"):
            _check_real(name, getattr(self, name), nonneg=True)

    def _derive(self, p, extra_xi):
        g_up = self.gamma_up + self.gamma_up_dtod * extra_xi[0]
        g_down = self.gamma_down + self.gamma_down_dtod * extra_xi[1]
        if not self.allow_increasing:
            g_up, g_down = np.abs(g_up), np.abs(g_down)
        if self.mean_bound_reference:
            ref_up = np.full_like(g_up, self.w_max)
            ref_down = np.full_like(g_down, self.w_min)
        else:
            ref_up, ref_down = p["w_max_bound"], p["w_min_bound"]
        # k = gamma / w_ref (0 where the reference bound is 0, as in aihwkit)
        with np.errstate(divide="ignore", invalid="ignore"):
            k_up = np.where(ref_up != 0, g_up / np.where(ref_up != 0, ref_up, 1.0), 0.0)
            k_down = np.where(ref_down != 0, g_down / np.where(ref_down != 0, ref_down, 1.0), 0.0)
        return {"k_up": k_up, "k_down": k_down}

    def step(self, w, up, p):
        scale = np.where(up, p["scale_up"], p["scale_down"])
        k = np.where(up, p["k_up"], p["k_down"])
        return scale * np.maximum(1.0 - k * w, 0.0)

    def update(self, w, d, p, xi=None):
        if self.mult_noise or xi is None or self.dw_min_std == 0:
            return super().update(w, d, p, xi)
        d = np.asarray(d, dtype=np.float64)
        up = d > 0
        noise = np.sign(d) * np.where(up, p["scale_up"], p["scale_down"]) * self.dw_min_std * xi
        return np.clip(w + d * self.step(w, up, p) + noise, p["w_min_bound"], p["w_max_bound"])


@dataclass(frozen=True)
class SoftBounds(LinearStep):
    """LinearStep with gamma = 1 referred to each device's own bounds (aihwkit ``SoftBoundsDevice``).

    up: scale_up * (1 - w / w_max_bound_ij), down: scale_down * (1 - w / w_min_bound_ij): the step
    shrinks linearly to exactly 0 at the bound it moves toward.
    """

    gamma_up: float = 1.0
    gamma_down: float = 1.0
    gamma_up_dtod: float = 0.0
    gamma_down_dtod: float = 0.0
    mean_bound_reference: bool = False


@dataclass(frozen=True)
class ExpStep(PulsedDevice):
    """Exponential state dependence (aihwkit ``ExpStepDevice``), z = 2*a*w/(w_max_ij - w_min_ij) + b.

    up:   scale_up   * max(0, 1 - A_up   * exp( gamma_up   * z))
    down: scale_down * max(0, 1 - A_down * exp(-gamma_down * z))

    Defaults are aihwkit's. With ``dw_min_std_add`` or ``dw_min_std_slope`` non-zero the c2c noise is
    aihwkit's "complex" additive form: dw_min_std * (|dw| + dw_min_std_add + dw_min_std_slope*|w|) * xi.
    A device whose bounds coincide (stuck) does not move. No extra draws.
    """

    A_up: float = 0.00081
    A_down: float = 0.36833
    gamma_up: float = 12.44625
    gamma_down: float = 12.78785
    a: float = 0.244
    b: float = 0.2425
    dw_min_std_add: float = 0.0
    dw_min_std_slope: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        for name in ("A_up", "A_down", "gamma_up", "gamma_down", "a", "b", "dw_min_std_add",
                     "dw_min_std_slope"):
            _check_real(name, getattr(self, name))

    def step(self, w, up, p):
        diff = p["w_max_bound"] - p["w_min_bound"]
        z = 2.0 * self.a * w / np.where(diff > 0, diff, 1.0) + self.b
        # exponents capped so that a device that does not move (d = 0) never yields 0 * inf = NaN
        y = np.where(up, 1.0 - self.A_up * np.exp(np.minimum(self.gamma_up * z, 700.0)),
                     1.0 - self.A_down * np.exp(np.minimum(-self.gamma_down * z, 700.0)))
        y = np.where(diff > 0, np.maximum(y, 0.0), 0.0)
        return np.where(up, p["scale_up"], p["scale_down"]) * y

    def update(self, w, d, p, xi=None):
        complex_noise = self.dw_min_std > 0 and (self.dw_min_std_add != 0 or self.dw_min_std_slope != 0)
        if xi is None or not complex_noise:
            return super().update(w, d, p, xi)
        d = np.asarray(d, dtype=np.float64)
        dw = d * self.step(w, d > 0, p)
        std = self.dw_min_std * (np.abs(dw) + self.dw_min_std_add + self.dw_min_std_slope * np.abs(w))
        return np.clip(w + dw + std * xi, p["w_min_bound"], p["w_max_bound"])


@dataclass(frozen=True)
class PowStep(PulsedDevice):
    """Power-law state dependence (aihwkit ``PowStepDevice``, Fusi & Abbott 2007).

    up:   scale_up   * ((w_max_ij - w) / (w_max_ij - w_min_ij)) ** gamma_up_ij
    down: scale_down * ((w - w_min_ij) / (w_max_ij - w_min_ij)) ** gamma_down_ij

    gamma_up_ij = pow_gamma * (gain + r + min(pow_up_down, 0)), gamma_down_ij = pow_gamma *
    (gain - r - max(pow_up_down, 0)), gain = 1 + pow_gamma_dtod * xi_g, r = pow_up_down_dtod * xi_r
    (extra draws in that order), made non-negative under enforce_consistency.
    """

    pow_gamma: float = 1.0
    pow_gamma_dtod: float = 0.1
    pow_up_down: float = 0.0
    pow_up_down_dtod: float = 0.0

    extra_params: ClassVar[tuple[str, ...]] = ("gamma_up", "gamma_down")
    n_extra_draws: ClassVar[int] = 2

    def __post_init__(self):
        super().__post_init__()
        _check_real("pow_gamma", self.pow_gamma, nonneg=True)
        _check_real("pow_up_down", self.pow_up_down)
        _check_real("pow_gamma_dtod", self.pow_gamma_dtod, nonneg=True)
        _check_real("pow_up_down_dtod", self.pow_up_down_dtod, nonneg=True)

    def _derive(self, p, extra_xi):
        gain = 1.0 + self.pow_gamma_dtod * extra_xi[0]
        r = self.pow_up_down_dtod * extra_xi[1]
        g_up = (min(self.pow_up_down, 0.0) + gain + r) * self.pow_gamma
        g_down = (-max(self.pow_up_down, 0.0) + gain - r) * self.pow_gamma
        if self.enforce_consistency:
            g_up, g_down = np.abs(g_up), np.abs(g_down)
        return {"gamma_up": g_up, "gamma_down": g_down}

    def step(self, w, up, p):
        lo, hi = p["w_min_bound"], p["w_max_bound"]
        rng = hi - lo
        safe = np.where(rng > 0, rng, 1.0)
        dist = np.where(up, hi - w, w - lo) / safe
        y = np.maximum(dist, 0.0) ** np.where(up, p["gamma_up"], p["gamma_down"])
        return np.where(rng > 0, np.where(up, p["scale_up"], p["scale_down"]) * y, 0.0)


@dataclass(frozen=True)
class PiecewiseStep(PulsedDevice):
    """Step scaled by linear interpolation over measured node values (aihwkit ``PiecewiseStepDevice``).

    ``piecewise_up`` / ``piecewise_down`` hold the relative step at nodes equally spaced over each
    device's own range [w_min_ij, w_max_ij]; the hook for measured device curves. No extra draws.
    """

    piecewise_up: tuple[float, ...] = (1.0,)
    piecewise_down: tuple[float, ...] = (1.0,)

    def __post_init__(self):
        super().__post_init__()
        for name in ("piecewise_up", "piecewise_down"):
            nodes = getattr(self, name)
            if (not isinstance(nodes, (tuple, list)) or len(nodes) == 0
                    or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in nodes)):
                raise ValueError(f"{name} must be a non-empty sequence of non-negative numbers, "
                                 f"not {nodes!r}")
            object.__setattr__(self, name, tuple(float(v) for v in nodes))

    @staticmethod
    def _interp(nodes, t):
        if len(nodes) == 1:
            return np.full_like(t, nodes[0])
        return np.interp(t, np.linspace(0.0, 1.0, len(nodes)), nodes)

    def step(self, w, up, p):
        lo, hi = p["w_min_bound"], p["w_max_bound"]
        rng = hi - lo
        t = np.clip((w - lo) / np.where(rng > 0, rng, 1.0), 0.0, 1.0)
        y = np.where(up, self._interp(self.piecewise_up, t), self._interp(self.piecewise_down, t))
        return np.where(rng > 0, np.where(up, p["scale_up"], p["scale_down"]) * y, 0.0)


@dataclass(frozen=True)
class Ideal(PulsedDevice):
    """Ideal mode, dw_min -> 0: continuous weights, written only by ``Crossbar.apply_ideal(delta_w)``.

    The update is applied exactly as the real-valued product and clipped to the bounds (fixed at
    [w_min, w_max] by default; set w_*_dtod for per-device bounds, or infinite bounds for none). There
    is no pulse step, so pulse slots and coincidence counts are rejected for this device.
    """

    dw_min: float = 0.0
    dw_min_dtod: float = 0.0
    dw_min_std: float = 0.0
    up_down_dtod: float = 0.0
    w_min: float = -1.0
    w_max: float = 1.0
    w_min_dtod: float = 0.0
    w_max_dtod: float = 0.0

    pulsed: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        if self.dw_min != 0 or self.dw_min_std != 0:
            raise ValueError(f"Ideal has no pulse step: dw_min and dw_min_std must be 0, "
                             f"not {self.dw_min!r} and {self.dw_min_std!r}")

    def step(self, w, up, p):
        return np.zeros_like(w)


# -- presets ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GokmenVlasov(ConstantStep):
    """Gokmen & Vlasov 2016 specification: ConstantStep, 1200 states (dw_min 0.001 over +-0.6), 30 %
    d2d and c2c spread of the step, 30 % d2d spread of the bounds, up_down_dtod 0.01.

    These are the paper's units (= aihwkit ``ConstantStepDevice`` defaults). aihwkit's
    ``GokmenVlasovPresetDevice`` rescales the same 1200 states to +-1 (dw_min 0.0016).
    """

    dw_min: float = 0.001
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_min: float = -0.6
    w_max: float = 0.6
    w_min_dtod: float = 0.3
    w_max_dtod: float = 0.3


@dataclass(frozen=True)
class Idealized(ConstantStep):
    """aihwkit ``IdealizedPresetDevice``: ConstantStep with 10000 states (dw_min 0.0002 over +-1),
    symmetric on average (up_down_dtod 0) but with 30 % d2d and c2c spread, as in aihwkit."""

    dw_min: float = 0.0002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.0
    w_min: float = -1.0
    w_max: float = 1.0
    w_min_dtod: float = 0.3
    w_max_dtod: float = 0.3


@dataclass(frozen=True)
class Noiseless(ConstantStep):
    """ConstantStep without any spread or noise: every coincidence moves a device by exactly +-dw_min,
    bounds exactly [w_min, w_max]. The reference device of the bit-exact and statistical checks."""

    dw_min: float = 0.001
    dw_min_dtod: float = 0.0
    dw_min_std: float = 0.0
    up_down: float = 0.0
    up_down_dtod: float = 0.0
    w_min: float = -1.0
    w_max: float = 1.0
    w_min_dtod: float = 0.0
    w_max_dtod: float = 0.0


@dataclass(frozen=True)
class ReRamES(ExpStep):
    """aihwkit ``ReRamESPresetDevice``: ExpStep fit to Gong et al., Nat. Commun. 2018 (HfO2 ReRAM).

    Note the large c2c (dw_min_std 5) and write noise (75 dw_min = 0.10) of this fit, as in aihwkit.
    """

    dw_min: float = 0.00135
    up_down: float = 0.259359
    w_max: float = 1.0
    w_min: float = -1.0
    a: float = -0.5
    b: float = -0.5
    gamma_up: float = 5.0
    gamma_down: float = 5.0
    A_up: float = -1.18445
    A_down: float = -0.081404
    dw_min_dtod: float = 0.2
    up_down_dtod: float = 0.05
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    dw_min_std: float = 5.0
    write_noise_std: float = 75.0


@dataclass(frozen=True)
class ReRamSB(SoftBounds):
    """aihwkit ``ReRamSBPresetDevice``: SoftBounds loose fit to Gong et al. 2018 (dw_min 0.002,
    w in [-0.75, 1.25], additive c2c noise dw_min_std 3.75, write noise 56 dw_min)."""

    dw_min: float = 0.002
    up_down: float = 0.0
    w_max: float = 1.25
    w_min: float = -0.75
    mult_noise: bool = False
    dw_min_dtod: float = 0.3
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.3 / 1.25
    w_min_dtod: float = 0.3 / 0.75
    dw_min_std: float = 3.75
    write_noise_std: float = 56.0


@dataclass(frozen=True)
class PCM(ExpStep):
    """aihwkit ``PCMPresetDevice``: ExpStep fit to GST PCM (Nandakumar et al., Front. Neurosci. 2020),
    w in [0, 2], dw_min 0.01, complex c2c noise.

    aihwkit uses it only as a one-sided pair with refresh (``PCMPresetUnitCell``); here it is one
    bidirectional device (no pair, no refresh, no reset behaviour). Build the pair as two arrays if needed.
    """

    dw_min: float = 0.01
    up_down: float = 0.0
    w_max: float = 2.0
    w_min: float = 0.0
    a: float = -1.0
    b: float = 0.0
    gamma_up: float = 2.5
    gamma_down: float = 2.5
    A_up: float = -27.235
    A_down: float = -2.235
    dw_min_dtod: float = 0.2
    up_down_dtod: float = 0.05
    w_max_dtod: float = 0.1
    w_min_dtod: float = 0.0
    dw_min_std: float = 0.6
    dw_min_std_add: float = 0.042
    dw_min_std_slope: float = 0.108
    write_noise_std: float = 0.0


@dataclass(frozen=True)
class EcRam(LinearStep):
    """aihwkit ``EcRamPresetDevice``: LinearStep fit to Li-based ECRAM (Tang et al., IEDM 2018)."""

    dw_min: float = 0.002
    up_down: float = 0.0
    w_max: float = 1.1724
    w_min: float = -0.8276
    mult_noise: bool = True
    gamma_up: float = 0.1153
    gamma_down: float = 0.5085
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    dw_min_std: float = 0.3
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True


@dataclass(frozen=True)
class Capacitor(LinearStep):
    """aihwkit ``CapacitorPresetDevice``: LinearStep fit to a capacitor cell (Li et al., VLSI 2018).

    aihwkit's leakage (``lifetime``) is not modelled.
    """

    dw_min: float = 0.005
    up_down: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    mult_noise: bool = False
    gamma_up: float = 0.05
    gamma_down: float = 0.05
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.06
    w_max_dtod: float = 0.07
    w_min_dtod: float = 0.07
    gamma_up_dtod: float = 0.01
    gamma_down_dtod: float = 0.01
    dw_min_std: float = 0.3
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True
