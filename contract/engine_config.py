"""Parameters and constants of the SBE engine, shared by its golden twin (golden/rtl/sbe_engine.py) and
the RTL (hdl/engine/sbe_engine.py, hdl/engine/scalar_unit.py). Formats: golden/rtl/sbe_engine.py states each one.

Initial state: M_X, M_D = +-2**q with signs from a 16-bit Galois LFSR (taps INIT_LFSR_TAPS, seed
INIT_LFSR_SEED), one bit per element, D elements first; q = `init_exponent(len, state_width)`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import microcode as P
from .microcode_schedule import MAX_LATENCY, MIN_LATENCY
from .checks import check_int
from .enums import Vec
from .fixed_point import FloatFormat

INIT_LFSR_SEED, INIT_LFSR_TAPS = 0xACE1, 0xB400
KMIN = -8          #: largest left shift of the state per rewrite (2**8 growth)
LMAX = 8           #: largest left shift of the AXPY term / read-out product
MAX_LENGTH = 4096  #: largest a or b
SAMPLE_COUNT_WIDTH = 16   #: width of the engine's sample counter: max_batch < 2**16


def init_exponent(length: int, state_width: int) -> int:
    """q: the largest integer with length * 4**q < 2**(2*state_width - 4)."""
    q = 0
    while length * 4 ** (q + 1) < 1 << (2 * state_width - 4):
        q += 1
    while q > 0 and length * 4 ** q >= 1 << (2 * state_width - 4):
        q -= 1
    return q


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Engine parameters, validated at construction (TypeError/ValueError naming the field).

    a, b                delta length (rows) and x length (columns), 1 .. 4096
    lanes               elements per beat, 1 .. 8
    in_width            input word width, 2 .. 16
    x_frac, delta_frac  binary points of x and delta (default in_width - 2: Q2.14 at 16 bits)
    state_width         stored state element width (12 .. 32)
    coef_width          AXPY coefficient / read-out scale mantissa (8 .. 25, <= mant_width)
    mant_width, fexp_width, seed_bits   scalar float: mantissa, exponent, rsqrt seed table index bits
    elem_width          Dhat/Xhat element width on the update stream (Q1.(elem_width-1))
    s_mant_width, s_exp_width           s on the update stream (s_mant_width <= mant_width)
    max_batch           samples per batch (1 .. 2**16-1)
    exp_width           per-vector input block exponent width (1 .. 7)
    alu_latency         scalar unit ALU latency in cycles, issue to result visible (the microcode is
                        scheduled for it, contract/microcode_schedule.py; the RTL supports 3 .. 10, 10
                        in its compact form only)
    """

    a: int
    b: int
    lanes: int = 1
    in_width: int = 16
    x_frac: int | None = None
    delta_frac: int | None = None
    state_width: int = 24
    coef_width: int = 18
    mant_width: int = 24
    fexp_width: int = 12
    seed_bits: int = 8
    elem_width: int = 16
    s_mant_width: int = 16
    s_exp_width: int = 8
    max_batch: int = (1 << SAMPLE_COUNT_WIDTH) - 1
    exp_width: int = 6
    alu_latency: int = 3

    def __post_init__(self):
        check_int("a", self.a, 1, MAX_LENGTH)
        check_int("b", self.b, 1, MAX_LENGTH)
        check_int("lanes", self.lanes, 1, 8)
        check_int("in_width", self.in_width, 2, 16)
        for name in ("x_frac", "delta_frac"):       # default: two integer bits (Q2.(in_width-2))
            value = getattr(self, name)
            object.__setattr__(self, name, check_int(name, self.in_width - 2 if value is None else value, 0, 32))
        check_int("state_width", self.state_width, 12, 32)
        check_int("coef_width", self.coef_width, 8, 25)
        check_int("mant_width", self.mant_width, 16, 32)
        check_int("fexp_width", self.fexp_width, 8, 16)
        check_int("seed_bits", self.seed_bits, 4, 10)
        check_int("elem_width", self.elem_width, 2, 32)
        check_int("s_mant_width", self.s_mant_width, 2, 32)
        check_int("s_exp_width", self.s_exp_width, 2, 16)
        check_int("max_batch", self.max_batch, 1, (1 << SAMPLE_COUNT_WIDTH) - 1)
        check_int("exp_width", self.exp_width, 1, 7)
        check_int("alu_latency", self.alu_latency, MIN_LATENCY, MAX_LATENCY)
        if self.coef_width > self.mant_width:
            raise ValueError(f"coef_width ({self.coef_width}) must not exceed mant_width ({self.mant_width})")
        if self.s_mant_width > self.mant_width:
            raise ValueError(f"s_mant_width ({self.s_mant_width}) must not exceed mant_width ({self.mant_width})")
        if self.seed_bits > self.mant_width - 3:
            raise ValueError(f"seed_bits must be at most mant_width - 3 = {self.mant_width - 3}, not {self.seed_bits}")

    def kwargs(self) -> dict:
        return asdict(self)

    # -- derived constants (used by both models) ---------------------------------------------------
    @property
    def exp_range(self) -> tuple[int, int]:
        """(lowest, highest) input block exponent."""
        return -(1 << (self.exp_width - 1)), (1 << (self.exp_width - 1)) - 1

    @property
    def kmax(self) -> int:
        return self.state_width + 1

    @property
    def rmax(self) -> int:
        """AXPY right shift beyond which every product rounds to 0."""
        return self.coef_width + self.in_width + 1

    @property
    def rmax_out(self) -> int:
        return self.coef_width + self.state_width + 1

    def length(self, vec: int) -> int:
        """Elements of vector `vec` (Vec.D: a, Vec.X: b)."""
        return self.a if vec == Vec.D else self.b

    def words(self, vec: int) -> int:
        """Beats (state words) of vector `vec`: ceil(length / lanes)."""
        return math.ceil(self.length(vec) / self.lanes)

    def q(self, vec: int) -> int:
        return init_exponent(self.length(vec), self.state_width)

    def float_format(self) -> FloatFormat:
        """The scalar unit's float format."""
        return FloatFormat(self.mant_width, self.fexp_width, self.seed_bits)

    def reset_registers(self, ff: FloatFormat) -> list[tuple[int, int]]:
        """Register file at reset (before the INIT segment runs)."""
        regs = [(0, 0)] * P.NREGS
        units = self.x_frac + self.delta_frac        # true vectors are in integer units of x*delta
        R = P.REGS
        regs[R["C15"]] = ff.const(1.5)
        regs[R["nX1"]] = ff.fnorm(self.b, 2 * units)
        regs[R["nD1"]] = ff.fnorm(self.a, 2 * units)
        for v, t, r1, r2 in ((P.VEC_X, "tX1", "rX1", "rX2"), (P.VEC_D, "tD1", "rD1", "rD2")):
            q = self.q(v)
            regs[R[t]] = ff.fnorm(1, q - units)
            regs[R[r1]] = regs[R[r2]] = ff.fnorm(1, units - q)
        return regs
