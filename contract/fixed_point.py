"""Fixed-point primitives of the SBE engine: the ONE rounding rule, saturation, the scalar float, and the
quantisers that turn floats into the streams' integer formats.

Everything here is plain Python integer arithmetic; the RTL (hdl/fixed_point.py, hdl/engine/float_alu.py,
hdl/engine/sbe_engine.py) is bit-exact with these functions. Formats are stated where they are defined.

Rounding rule (the only one in the design)
    ``rshift_round(v, s)`` = floor((v + 2**(s-1)) / 2**s) for s > 0: round to nearest, ties toward
    +infinity ("round half up"), applied at every narrowing (vector AXPY, dot -> float, float
    multiply/add, coefficient and output conversion). s <= 0 is an exact left shift.
Saturation (never wrap-around)
    ``saturate(v, width)`` clamps to [-2**(width-1), 2**(width-1) - 1] and reports whether it clamped;
    every caller ORs that into a sticky flag (``Flags``).

Scalar float ("sfloat") used by the scalar unit
    A pair (m, e), value m * 2**e; m a signed `mw`-bit integer, e a signed `ew`-bit integer.
    ``fnorm`` produces it from any exact integer V * 2**e0: shift so that the magnitude of m has
    mw-1 significant bits (bit_length(m if m >= 0 else ~m) == mw-1), round with the one rule, fix the
    single rounding overflow m == 2**(mw-1) -> 2**(mw-2), e+1. Zero is (0, 0). One exception to the bit
    count: a negative value just beyond -2**k that rounds up onto -2**(mw-2) * 2**e keeps m = -2**(mw-2)
    (mw-2 magnitude bits; the value is right), in hdl/fixed_point.py fnorm_hw as well. Exponent overflow
    saturates to the largest magnitude (flagged); underflow gives zero (flagged as well).
    A positive result therefore has m in [2**(mw-2), 2**(mw-1)): relative precision 2**-(mw-2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import check_finite


def rshift_round(v: int, s: int) -> int:
    """Round v / 2**s to an integer, ties toward +inf (s > 0); exact v * 2**-s for s <= 0."""
    if s <= 0:
        return v << -s
    return (v + (1 << (s - 1))) >> s


def saturate(v: int, width: int) -> tuple[int, bool]:
    """Clamp v to a signed `width`-bit range; return (value, clamped?)."""
    hi = (1 << (width - 1)) - 1
    lo = -(1 << (width - 1))
    if v > hi:
        return hi, True
    if v < lo:
        return lo, True
    return v, False


def mag_bits(v: int) -> int:
    """Significant magnitude bits of a two's complement integer (its width minus the sign bit)."""
    return (v if v >= 0 else ~v).bit_length()


@dataclass
class Flags:
    """Sticky status: any saturation (vector, coefficient shift, float exponent, output)."""
    saturated: bool = False

    def note(self, hit: bool) -> None:
        self.saturated |= bool(hit)


class FloatFormat:
    """Scalar float with an `mw`-bit signed mantissa and an `ew`-bit signed exponent.

    The operations are the specification of hdl/engine/float_alu.py. Each returns a pair (m, e) and ORs
    any exponent saturation into `flags`.
    """

    def __init__(self, mw: int = 24, ew: int = 12, seed_bits: int = 8):
        self.mw, self.ew, self.seed_bits = mw, ew, seed_bits
        self.emax = (1 << (ew - 1)) - 1
        self.emin = -(1 << (ew - 1))
        self.seed_table = rsqrt_seed_table(seed_bits, mw)

    # -- construction ---------------------------------------------------------------------------
    def fnorm(self, v: int, e: int, flags: Flags | None = None, width: int | None = None) -> tuple[int, int]:
        """Normalise and round the exact value v * 2**e to `width` (default mw) mantissa bits."""
        w = self.mw if width is None else width
        if v == 0:
            return (0, 0)
        s = mag_bits(v) - (w - 1)
        m = rshift_round(v, s)
        if m == 1 << (w - 1):
            m >>= 1
            s += 1
        e += s
        if e > self.emax:
            if flags is not None:
                flags.note(True)
            return ((1 << (w - 1)) - 1 if m > 0 else -(1 << (w - 1)), self.emax)
        if e < self.emin:
            if flags is not None:
                flags.note(True)
            return (0, 0)
        return (m, e)

    def const(self, value: float) -> tuple[int, int]:
        """A float constant that is exactly representable (a dyadic rational such as 1.5 or 2**k)."""
        fr = float(value).as_integer_ratio()
        num, den = fr
        if den & (den - 1):
            raise ValueError(f"{value!r} is not a dyadic rational")
        return self.fnorm(num, -(den.bit_length() - 1))

    @staticmethod
    def to_float(f: tuple[int, int]) -> float:
        return math.ldexp(f[0], f[1])

    # -- operations (one ALU op each) ------------------------------------------------------------
    def mul(self, a, b, flags=None):
        if a[0] == 0 or b[0] == 0:
            return (0, 0)
        return self.fnorm(a[0] * b[0], a[1] + b[1], flags)

    def add(self, a, b, flags=None):
        """Exact sum, rounded once, when the exponents differ by at most mw+1; else the larger operand."""
        if a[0] == 0:
            return b
        if b[0] == 0:
            return a
        if a[1] < b[1]:
            a, b = b, a
        d = a[1] - b[1]
        if d > self.mw + 1:
            return a
        return self.fnorm((a[0] << d) + b[0], b[1], flags)

    def sub(self, a, b, flags=None):
        return self.add(a, self.neg(b), flags)

    def neg(self, a):
        """-a, renormalised (no flag): = fnorm(-m, e) for the normalised operands every op produces, in
        the three cases the RTL uses instead of a normaliser (hdl/engine/float_alu.py): m = -2**(mw-1) becomes
        (2**(mw-2), e+1) (saturated at emax), m = 2**(mw-2) becomes (-2**(mw-1), e-1) (0 below emin),
        any other m becomes (-m, e) (so fnorm's unnormalised m = -2**(mw-2) becomes (2**(mw-2), e))."""
        m, e = a
        if m == 0:
            return a
        top = 1 << (self.mw - 1)
        if m == -(top >> 1):
            # fnorm's one unnormalised result (a negative value rounded up onto -2**(mw-2)): its negation
            # 2**(mw-2) is normalised; the RTL's "any other m" case gives the same (-m, e).
            return (top >> 1, e)
        if mag_bits(m) != self.mw - 1:
            raise AssertionError(f"neg of a non-normalised operand {a!r}")
        if m == -top:
            return (top - 1, self.emax) if e == self.emax else (top >> 1, e + 1)
        if m == top >> 1:
            return (0, 0) if e == self.emin else (-top, e - 1)
        return (-m, e)

    def scale(self, a, k: int, flags=None):
        """a * 2**k (exact unless the exponent saturates)."""
        if a[0] == 0:
            return a
        return self.fnorm(a[0], a[1] + k, flags)

    def rsqrt_seed(self, a):
        """First guess of 1/sqrt(a) from a 2 * 2**seed_bits entry table; 0 for a <= 0.

        a = f * 2**E with f = m / 2**(mw-2) in [1, 2). With E odd, f' = 2f in [2, 4) and E' = E - 1.
        The table holds round(2**(seed_bits+1) / sqrt(midpoint of the interval of f')) for the interval
        picked by the parity of E and the `seed_bits` bits of m after its leading one. Relative error of
        the seed <= 2**-seed_bits; two Newton steps make it <= 2**-17 at mw=24, seed_bits=8 (tests check both).
        """
        m, e = a
        if m <= 0:
            return (0, 0)
        E = e + self.mw - 2
        odd = E & 1
        idx = (odd << self.seed_bits) | ((m >> (self.mw - 2 - self.seed_bits)) & ((1 << self.seed_bits) - 1))
        half = (E - odd) >> 1        # E' / 2, exact (floor division of an even number)
        return self.fnorm(self.seed_table[idx], -(self.seed_bits + 1) - half)


def rsqrt_seed_table(seed_bits: int, mw: int) -> list[int]:
    """Seed table of FloatFormat.rsqrt_seed (entry values in (2**seed_bits / 2, 2**(seed_bits+1)])."""
    table = []
    n = 1 << seed_bits
    for odd in (0, 1):
        for i in range(n):
            f_mid = (1 + (i + 0.5) / n) * (2 if odd else 1)
            table.append(int(math.floor((1 << (seed_bits + 1)) / math.sqrt(f_mid) + 0.5)))
    return table


def _round_half_up(v: float, frac: int) -> int:
    """floor(v * 2**frac + 1/2) of a finite float, exactly. (The float expression floor(ldexp(v, frac) + 0.5)
    rounds 0.5 - 2**-54 up to 1, is off by one above 2**52 and raises OverflowError for a large v instead
    of saturating.) Below 2**51, x - floor(x) is exact, so the fast path compares it with 1/2; an
    underflowing ldexp only loses a value whose rounding is 0 anyway. Otherwise: integer arithmetic."""
    try:
        x = math.ldexp(v, frac)
    except OverflowError:
        x = math.inf
    if abs(x) < 2.0 ** 51:
        r = math.floor(x)
        return r + int(x - r >= 0.5)
    num, den = float(v).as_integer_ratio()
    if frac >= 0:
        num <<= frac
    else:
        den <<= -frac
    return (2 * num + den) // (2 * den)


def quantise(values, frac: int, width: int, flags: Flags | None = None, *, name: str = "values") -> list[int]:
    """Float -> signed `width`-bit integers with `frac` fractional bits: round half up, saturate.
    Non-finite input raises ValueError naming `name` (NaN has no integer image; inf would clamp silently)."""
    out = []
    for v in check_finite(name, values).ravel().tolist():
        q, hit = saturate(_round_half_up(v, frac), width)
        if flags is not None:
            flags.note(hit)
        out.append(q)
    return out


def quantise_block(values, frac: int, width: int, exp_range: tuple[int, int],
                   flags: Flags | None = None, *, name: str = "values") -> tuple[list[int], int]:
    """Float vector -> (signed `width`-bit integers, block exponent e): values ~ ints * 2**(e - frac).

    e is the smallest exponent in exp_range at which the largest |value| still fits without clamping
    (so every vector keeps `width` bits relative to its own largest element); a vector too large for
    the highest exponent saturates (flagged); an all-zero vector gets e = 0. Rounding as `quantise`.
    Non-finite input raises ValueError naming `name`.
    """
    lo, hi = exp_range
    vals = check_finite(name, values).ravel().tolist()
    big = max((abs(v) for v in vals), default=0.0)
    if big == 0.0:
        return quantise(vals, frac, width, flags), 0
    top = (1 << (width - 1)) - 1

    def fits(e: int) -> bool:
        return _round_half_up(big, frac - e) <= top
    e = min(hi, max(lo, math.frexp(big)[1] + frac - (width - 1)))
    while e > lo and fits(e - 1):
        e -= 1
    while e < hi and not fits(e):
        e += 1
    return quantise(vals, frac - e, width, flags), e


def quantise_unit(x, width: int, *, name: str = "x") -> np.ndarray:
    """Real vector -> Q1.(width-1) integers, rounded to nearest (NumPy's ties-to-even: a float-side
    conversion, not an RTL narrowing) and saturated: the update stream's element format."""
    f = 1 << (width - 1)
    return np.clip(np.round(check_finite(name, x) * f), -f, f - 1).astype(np.int64)


def quantise_scale(s: float, mant_width: int, exp_width: int = 8) -> tuple[int, int]:
    """Real s -> (s_mant, s_exp), s ~ s_mant * 2**s_exp with |s_mant| < 2**(mant_width-1), rounded to
    nearest. Below the exponent range the mantissa loses bits (down to 0: a zero update); above it the
    value saturates at the largest magnitude. A non-finite s raises ValueError."""
    s = float(check_finite("s", s))
    if s == 0:
        return 0, 0
    lim = (1 << (mant_width - 1)) - 1
    e_min, e_max = -(1 << (exp_width - 1)), (1 << (exp_width - 1)) - 1
    e = int(np.floor(np.log2(abs(s)))) - (mant_width - 2)
    e = max(e, e_min)
    mant = int(round(s / 2.0 ** e))
    if abs(mant) > lim:
        mant = int(round(s / 2.0 ** (e + 1)))
        e += 1
    if e > e_max:
        return (lim if s > 0 else -lim), e_max
    return mant, e
