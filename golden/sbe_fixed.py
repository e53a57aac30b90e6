"""Bit-exact fixed-point model of the SBE engine: the specification of hdl/sbe_engine.py.

What it computes: the rank-1 SBE of golden/sbe.py (section 2 of sbe-algorithm.md) in the sums form of
section 2.1, with the vector updates skewed by two samples so the hardware streams without waiting for
the scalar unit. The scalar recurrences live in golden/sbe_program.py (microcode shared with the RTL);
the formats, the rounding rule and saturation in golden/fixed_point.py.

Formats (defaults)
------------------
======================  ===========================================================================
x, delta (input)        signed in_width=16 bits; x_frac / delta_frac fractional bits (default 14: Q2.14)
input block exponents   one signed exp_width=6 bit exponent per vector per sample (e_x, e_delta): the
                        sample is x = x_int * 2**(e_x - x_frac), delta = delta_int * 2**(e_delta -
                        delta_frac). Block floating point on the inputs: every sample keeps in_width
                        bits relative to its own largest element, however small its deltas. 0 = the
                        fixed binary point. Folded exactly into the scalar unit: LDI adds the exponents
                        to the dot products' (e_x, e_x + e_x(j-1), 2 e_x, same for delta), COEF adds
                        e_v(j) to the AXPY coefficient's exponent. Nothing in the vector datapath changes.
stored state M_X, M_D   signed state_width=24 bits per element, block floating point: one scale per
                        vector (rho, an sfloat in the scalar unit). Rescaled by 2**-k on every rewrite
                        so that ||M|| stays in [2**(SW-3), 2**(SW-2)): no element can overflow.
sample buffer           3 slots x (a + b) input words (x_j being received, x_{j-1}, x_{j-2})
dot accumulators        exact: in_width+state_width+ceil(log2(max(a,b)))+1 bits (no rounding)
scalar unit             sfloat, 24-bit mantissa, 12-bit exponent (golden/fixed_point.py FloatFormat)
AXPY coefficient        18-bit mantissa cm and a shift: M' = sat(rnd(M, k) + rnd(cm*v, sh))
read-out scale          18-bit mantissa; Dhat/Xhat elements Q1.15 (update_stream contract)
s                       s_mant 16 bits, s_exp 8 bits, s = s_mant * 2**s_exp (real units)
======================  ===========================================================================

Error budget (defaults; measured by golden/accuracy_engine.py and tests/test_golden_sbe_fixed.py)
    rsqrt: table seed <= 2**-8 relative, after two Newton steps <= 2**-17 (tested); every other scalar
    op is correctly rounded to 24 bits (2**-22). State elements carry >= 21 - log2(sqrt(len)) bits of
    their vector's norm; AXPY coefficients 17 bits. Planted stream at 16-bit inputs: 1-|cos| ~ 3e-9,
    |s/s_float - 1| ~ 3e-5. On real gradients the input quantisation at a fixed binary point
    dominates (small hidden-layer deltas): against the float SBE fed the same quantised inputs the
    rank-1 updates agree within 5e-4 (16 bit), 1.2e-3 (12 bit), 1e-3 (8 bit) relative Frobenius norm;
    with per-sample block exponents (SBEFixed's default) the input quantisation error is relative to each
    sample's own scale (see golden/accuracy_engine.py for the figures).

Initial state (reset): M_X, M_D = +-2**q with signs from a 16-bit Galois LFSR (taps 0xB400, seed 0xACE1),
one bit per element, D elements first; q the largest with len * 4**q < 2**(2*SW-4). In real units this is
the +-1 vector (the float SBE's random start has the same scale); s = 0. `initial_vectors()` gives it
for seeding golden/sbe.py in comparisons.

Degenerate inputs: a zero norm gives a zero rsqrt, so zero projections (no NaN, like golden/sbe.py);
an all-zero batch decays s toward 0; a batch of one sample works (its update uses the warm start).
"""
from __future__ import annotations

import math

import numpy as np

from hdl.params import check_int

from . import sbe_program as P
from .fixed_point import Flags, FloatFormat, quantize, quantize_block, rshift_round, saturate
from .update_method import RankOneTerm, UpdateMethod

LFSR_SEED, LFSR_TAPS = 0xACE1, 0xB400
KMIN = -8          # largest left shift of the state per rewrite (2**8 growth)
LMAX = 8           # largest left shift of the AXPY term / read-out product


def lfsr_bits(n: int) -> list[int]:
    """n successive output bits of the init LFSR (the bit shifted out at each step)."""
    s, out = LFSR_SEED, []
    for _ in range(n):
        bit = s & 1
        s >>= 1
        if bit:
            s ^= LFSR_TAPS
        out.append(bit)
    return out


def init_exponent(length: int, state_width: int) -> int:
    """q: the largest integer with length * 4**q < 2**(2*state_width - 4)."""
    q = 0
    while length * 4 ** (q + 1) < 1 << (2 * state_width - 4):
        q += 1
    while q > 0 and length * 4 ** q >= 1 << (2 * state_width - 4):
        q -= 1
    return q


class EngineConfig:
    """Parameters shared by the golden model and the RTL (validated here, with actionable messages)."""

    def __init__(self, *, a: int, b: int, lanes: int = 1, in_width: int = 16, x_frac: int | None = None,
                 delta_frac: int | None = None, state_width: int = 24, coef_width: int = 18,
                 mant_width: int = 24, fexp_width: int = 12, seed_bits: int = 8, elem_width: int = 16,
                 s_mant_width: int = 16, s_exp_width: int = 8, max_batch: int = 65535, exp_width: int = 6):
        self.a = check_int("a", a, 1, 4096)
        self.b = check_int("b", b, 1, 4096)
        self.lanes = check_int("lanes", lanes, 1, 8)
        self.in_width = check_int("in_width", in_width, 2, 16)
        self.x_frac = check_int("x_frac", in_width - 2 if x_frac is None else x_frac, 0, 32)
        self.delta_frac = check_int("delta_frac", in_width - 2 if delta_frac is None else delta_frac, 0, 32)
        self.state_width = check_int("state_width", state_width, 12, 32)
        self.coef_width = check_int("coef_width", coef_width, 8, 25)
        self.mant_width = check_int("mant_width", mant_width, 16, 32)
        self.fexp_width = check_int("fexp_width", fexp_width, 8, 16)
        self.seed_bits = check_int("seed_bits", seed_bits, 4, 10)
        self.elem_width = check_int("elem_width", elem_width, 2, 32)
        self.s_mant_width = check_int("s_mant_width", s_mant_width, 2, 32)
        self.s_exp_width = check_int("s_exp_width", s_exp_width, 2, 16)
        self.max_batch = check_int("max_batch", max_batch, 1, (1 << 16) - 1)
        self.exp_width = check_int("exp_width", exp_width, 1, 7)
        if self.coef_width > self.mant_width:
            raise ValueError(f"coef_width ({coef_width}) must not exceed mant_width ({mant_width})")
        if self.s_mant_width > self.mant_width:
            raise ValueError(f"s_mant_width ({s_mant_width}) must not exceed mant_width ({mant_width})")
        if self.seed_bits > self.mant_width - 3:
            raise ValueError(f"seed_bits must be at most mant_width - 3 = {mant_width - 3}, not {seed_bits}")

    def kwargs(self) -> dict:
        return {k: getattr(self, k) for k in (
            "a", "b", "lanes", "in_width", "x_frac", "delta_frac", "state_width", "coef_width", "mant_width",
            "fexp_width", "seed_bits", "elem_width", "s_mant_width", "s_exp_width", "max_batch", "exp_width")}

    @property
    def exp_range(self) -> tuple[int, int]:
        """(lowest, highest) input block exponent."""
        return -(1 << (self.exp_width - 1)), (1 << (self.exp_width - 1)) - 1

    # derived constants (used by both models)
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

    def q(self, vec: int) -> int:
        return init_exponent(self.a if vec == P.VEC_D else self.b, self.state_width)

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


def quantise_sample(cfg: EngineConfig, x, delta, *, block_exponent: bool = True,
                    flags: Flags | None = None) -> tuple[list[int], list[int], int, int]:
    """A float sample as the engine's input words (x_int, delta_int, x_exp, delta_exp): per-vector block
    exponents (fixed_point.quantize_block), or with block_exponent=False the fixed binary points
    x_frac / delta_frac and exponent 0. `flags` notes clamping."""
    c = cfg
    if block_exponent:
        xi, xe = quantize_block(x, c.x_frac, c.in_width, c.exp_range, flags)
        di, de = quantize_block(delta, c.delta_frac, c.in_width, c.exp_range, flags)
        return xi, di, xe, de
    return quantize(x, c.x_frac, c.in_width, flags), quantize(delta, c.delta_frac, c.in_width, flags), 0, 0


class SBEFixedEngine:
    """The engine's arithmetic on integers: feed quantised samples, read (s_mant, s_exp, Dhat, Xhat).

    `sample(x, delta)` takes signed in_width-bit integer vectors; `end_batch()` returns the update as
    a dict {"s_mant", "s_exp", "dhat", "xhat"} (Q1.(elem_width-1) integers) and starts the next batch
    from the warm state. `flags.saturated` is the sticky saturation flag of the RTL.
    """

    def __init__(self, cfg: EngineConfig | None = None, **params):
        self.cfg = cfg if cfg is not None else EngineConfig(**params)
        c = self.cfg
        self.ff = FloatFormat(c.mant_width, c.fexp_width, c.seed_bits)
        self.reset()

    # -- state -----------------------------------------------------------------------------------
    def reset(self) -> None:
        c = self.cfg
        self.flags = Flags()
        bits = lfsr_bits(c.a + c.b)
        qd, qx = c.q(P.VEC_D), c.q(P.VEC_X)
        self.M = {P.VEC_D: [(-1 if bit else 1) << qd for bit in bits[:c.a]],
                  P.VEC_X: [(-1 if bit else 1) << qx for bit in bits[c.a:]]}
        self.regs = c.reset_registers(self.ff)
        self.k = {P.VEC_D: 0, P.VEC_X: 0}
        self.coef = {}                     # (vec, sample index in batch) -> (k, cm, sh)
        self.outscale = {P.VEC_D: (0, 0), P.VEC_X: (0, 0)}
        self.s_out = (0, 0)
        self.j = 0                         # samples of the current batch
        self.buf = {P.VEC_D: [], P.VEC_X: []}   # the previous two samples, newest last
        self.samples_total = 0
        # input block exponents of the latest and the previous sample of each vector (scalar-unit registers)
        self.exp_cur = {P.VEC_D: 0, P.VEC_X: 0}
        self.exp_prev = {P.VEC_D: 0, P.VEC_X: 0}
        self._run("INIT", jc=0)

    def initial_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(X_0, D_0) of a fresh reset in real units (+-1), to seed golden/sbe.py identically."""
        bits = lfsr_bits(self.cfg.a + self.cfg.b)
        sign = np.where(np.array(bits) == 1, -1.0, 1.0)
        return sign[self.cfg.a:].copy(), sign[:self.cfg.a].copy()

    def state(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The warm-start state (X, D, s) in real units, as golden/sbe.py holds it between batches.

        Valid between batches (after reset or end_batch). A comparison aid with no RTL port: the
        accuracy report re-synchronises the float SBE to it before each batch, so each batch's error is
        measured from the same start (golden/accuracy_engine.py).
        """
        if self.j:
            raise ValueError("state() is defined between batches only")
        c, R, to_f = self.cfg, P.REGS, FloatFormat.to_float
        units = c.x_frac + c.delta_frac
        X = np.array(self.M[P.VEC_X], dtype=float) * math.ldexp(to_f(self.regs[R["rX1"]]), -units)
        D = np.array(self.M[P.VEC_D], dtype=float) * math.ldexp(to_f(self.regs[R["rD1"]]), -units)
        return X, D, math.ldexp(to_f(self.regs[R["T"]]), -units)

    # -- microcode interpreter ---------------------------------------------------------------------
    def _run(self, segment: str, jc: int, latches: dict | None = None) -> None:
        ff, c, R, fl = self.ff, self.cfg, P.REGS, self.flags
        regs = self.regs
        for op, d, a, b in P.SEGMENTS[segment]:
            if op == "MUL":
                regs[R[d]] = ff.mul(regs[R[a]], regs[R[b]], fl)
            elif op == "ADD":
                regs[R[d]] = ff.add(regs[R[a]], regs[R[b]], fl)
            elif op == "SUB":
                regs[R[d]] = ff.sub(regs[R[a]], regs[R[b]], fl)
            elif op == "SCL":
                regs[R[d]] = ff.scale(regs[R[a]], b, fl)
            elif op == "MOV":
                regs[R[d]] = regs[R[a]]
            elif op == "SEED":
                regs[R[d]] = ff.rsqrt_seed(regs[R[a]])
            elif op == "LDI":
                v, e = ((jc + 1) ** 2, 0) if a == "NSQ" else latches[a]
                regs[R[d]] = ff.fnorm(v, e, fl)
            elif op == "KSEL":
                self.k[d] = self.ksel(regs[R[a]])
            elif op == "SCLK":
                vec, sgn = b
                regs[R[d]] = ff.scale(regs[R[a]], sgn * self.k[vec], fl)
            elif op == "COEF":
                f = regs[R[a]]       # applied to sample j's integers: carries its block exponent
                self.coef[(d, jc)] = self.coef_word(self.k[d], (f[0], f[1] + self.exp_cur[d]))
            elif op == "OUTC":
                self.outscale[d] = self.outscale_word(regs[R[a]])
            elif op == "SOUT":
                self.s_out = self.s_word(regs[R[a]])
            elif op in ("REL", "RDY"):
                pass
            elif op == "DONE":
                break
            else:  # pragma: no cover
                raise AssertionError(op)

    # -- conversions done by the scalar unit when it hands values to the vector datapath ----------
    def ksel(self, n) -> int:
        """Rescale shift k: ||M|| * 2**-k in [2**(SW-3), 2**(SW-2)) for the predicted n = ||M||^2."""
        c = self.cfg
        if n[0] == 0:
            return 0
        k = (n[1] + c.mant_width - 2 - (2 * c.state_width - 6)) >> 1
        return max(KMIN, min(c.kmax, k))

    def coef_word(self, k: int, f) -> tuple[int, int, int]:
        c = self.cfg
        cm, ce = self.ff.fnorm(f[0], f[1], self.flags, width=c.coef_width)
        sh = -ce
        if sh < -LMAX:
            self.flags.note(cm != 0)
            sh = -LMAX
        sh = min(sh, c.rmax)
        return (k, cm, sh)

    def outscale_word(self, f) -> tuple[int, int]:
        c = self.cfg
        om, oe = self.ff.fnorm(f[0], f[1], self.flags, width=c.coef_width)
        sh = -(oe + c.elem_width - 1)
        if sh < -LMAX:
            self.flags.note(om != 0)
            sh = -LMAX
        return (om, min(sh, c.rmax_out))

    def s_word(self, f) -> tuple[int, int]:
        c = self.cfg
        m, e = self.ff.fnorm(f[0], f[1], self.flags, width=c.s_mant_width)
        if m == 0:
            return (0, 0)
        e -= c.x_frac + c.delta_frac
        emax, emin = (1 << (c.s_exp_width - 1)) - 1, -(1 << (c.s_exp_width - 1))
        if e > emax:
            self.flags.note(True)
            return ((1 << (c.s_mant_width - 1)) - 1 if m > 0 else -(1 << (c.s_mant_width - 1)), emax)
        if e < emin:
            return (rshift_round(m, min(emin - e, c.s_mant_width + 1)), emin)
        return (m, e)

    # -- vector datapath ---------------------------------------------------------------------------
    def axpy(self, m: int, v: int, word: tuple[int, int, int]) -> int:
        """One element of M' = sat(rnd(M, k) + rnd(cm * v, sh)) (rnd: the one rounding rule)."""
        k, cm, sh = word
        val, hit = saturate(rshift_round(m, k) + rshift_round(cm * v, sh), self.cfg.state_width)
        self.flags.note(hit)
        return val

    def _coef_for(self, vec: int, j: int):
        return self.coef[(vec, j)] if j >= 1 else (0, 0, 0)

    def _pass(self, vec: int, v: list[int]) -> tuple[int, int, int]:
        """Pass of sample j over vector `vec`: apply the update of sample j-2, return the 3 dots."""
        j, M, buf = self.j, self.M[vec], self.buf[vec]
        word = self._coef_for(vec, j - 2)
        older = buf[-2] if len(buf) >= 2 else [0] * len(M)
        prev = buf[-1] if buf else [0] * len(M)
        dm = dv1 = dvv = 0
        for i in range(len(M)):
            M[i] = self.axpy(M[i], older[i], word)
            dm += v[i] * M[i]
            dv1 += v[i] * prev[i]
            dvv += v[i] * v[i]
        buf.append(list(v))
        del buf[:-2]
        return dm, dv1, dvv

    # -- public API --------------------------------------------------------------------------------
    def sample(self, x, delta, x_exp: int = 0, delta_exp: int = 0) -> None:
        """One sample: signed in_width-bit integer vectors and their block exponents (see Formats)."""
        c = self.cfg
        x, delta = [int(t) for t in x], [int(t) for t in delta]
        if len(x) != c.b or len(delta) != c.a:
            raise ValueError(f"expected x of length {c.b} and delta of length {c.a}")
        lo, hi = -(1 << (c.in_width - 1)), 1 << (c.in_width - 1)
        if not all(lo <= t < hi for t in x + delta):
            raise ValueError(f"inputs must be signed {c.in_width}-bit integers")
        elo, ehi = c.exp_range
        for name, e in (("x_exp", x_exp), ("delta_exp", delta_exp)):
            check_int(name, e, elo, ehi)
        if self.j >= c.max_batch:
            raise ValueError(f"a batch holds at most max_batch={c.max_batch} samples")
        self.j += 1
        self.samples_total += 1
        xm, xx1, xx = self._pass(P.VEC_X, x)
        dm, dd1, dd = self._pass(P.VEC_D, delta)
        for vec, e in ((P.VEC_X, int(x_exp)), (P.VEC_D, int(delta_exp))):
            self.exp_prev[vec], self.exp_cur[vec] = self.exp_cur[vec], e
        ex, ex1, ed, ed1 = (self.exp_cur[P.VEC_X], self.exp_prev[P.VEC_X], self.exp_cur[P.VEC_D],
                            self.exp_prev[P.VEC_D])
        self._run("CHAIN", jc=self.j, latches={"XM": (xm, ex), "XX1": (xx1, ex + ex1), "XX": (xx, 2 * ex),
                                               "DM": (dm, ed), "DD1": (dd1, ed + ed1), "DD": (dd, 2 * ed)})

    def end_batch(self) -> dict:
        """Read-out pass (applies the updates of samples n-1 and n), then the warm-start rescale."""
        if self.j == 0:
            raise ValueError("end_batch() needs at least one sample in the batch")
        n = self.j
        self._run("FINAL", jc=n)
        out = {"s_mant": self.s_out[0], "s_exp": self.s_out[1]}
        for vec, key in ((P.VEC_D, "dhat"), (P.VEC_X, "xhat")):
            wa, wb = self._coef_for(vec, n - 1), self._coef_for(vec, n)
            buf, M = self.buf[vec], self.M[vec]
            older = buf[-2] if len(buf) >= 2 else [0] * len(M)
            om, osh = self.outscale[vec]
            elems = []
            for i in range(len(M)):
                M[i] = self.axpy(self.axpy(M[i], older[i], wa), buf[-1][i], wb)
                e, hit = saturate(rshift_round(M[i] * om, osh), self.cfg.elem_width)
                self.flags.note(hit)
                elems.append(e)
            out[key] = elems
        self.j = 0
        self.coef = {}
        self.buf = {P.VEC_D: [], P.VEC_X: []}
        self._run("RESCALE", jc=0)
        return out

    def beats(self, update: dict) -> list[dict]:
        """The update as beats of the hdl/update_stream.py contract (lanes per beat, zero padded)."""
        L, out = self.cfg.lanes, []
        for vec, key in ((0, "dhat"), (1, "xhat")):
            e = update[key]
            for k in range(0, len(e), L):
                lanes = e[k:k + L] + [0] * max(0, k + L - len(e))
                out.append({"s_mant": update["s_mant"], "s_exp": update["s_exp"], "elems": lanes,
                            "vec": vec, "last": int(k + L >= len(e))})
        return out

    @staticmethod
    def update_value(update: dict, elem_width: int = 16) -> tuple[float, np.ndarray, np.ndarray]:
        """(s, Dhat, Xhat) as floats."""
        sc = 1.0 / (1 << (elem_width - 1))
        return (math.ldexp(update["s_mant"], update["s_exp"]), np.array(update["dhat"]) * sc,
                np.array(update["xhat"]) * sc)


class SBEFixed(UpdateMethod):
    """The fixed-point engine as an UpdateMethod (float in, float rank-1 term out) for the trainers.

    x and delta are quantised to in_width bits (round half up, saturate; `input_flags` notes clamping):
    with `block_exponent` (default) each vector of each sample gets its own block exponent
    (fixed_point.quantize_block: in_width bits relative to its largest element), otherwise the fixed
    binary points x_frac / delta_frac with exponent 0. Extra keyword parameters go to EngineConfig.
    """

    def __init__(self, a: int, b: int, block_exponent: bool = True, **params):
        super().__init__(a, b)
        self.engine = SBEFixedEngine(a=a, b=b, **params)
        self.block_exponent = bool(block_exponent)
        self.input_flags = Flags()

    def reset(self) -> None:
        self.engine.reset()

    def quantise(self, x, delta) -> tuple[list[int], list[int], int, int]:
        """(x_int, delta_int, x_exp, delta_exp) as the engine receives them."""
        return quantise_sample(self.engine.cfg, x, delta, block_exponent=self.block_exponent,
                               flags=self.input_flags)

    def _sample(self, x, delta) -> None:
        self.engine.sample(*self.quantise(x, delta))

    def _end_batch(self) -> list[RankOneTerm]:
        up = self.engine.end_batch()
        s, d, x = SBEFixedEngine.update_value(up, self.engine.cfg.elem_width)
        if s == 0:
            return []
        return [RankOneTerm(s, d, x)]
