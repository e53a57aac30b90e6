"""Bit-exact fixed-point model of the SBE engine: the specification of hdl/sbe_engine.py.

What it computes: the rank-1 SBE of golden/methods/sbe.py (section 2 of sbe-algorithm.md) in the sums form of
section 2.1, with the vector updates skewed by two samples so the hardware streams without waiting for
the scalar unit. The scalar recurrences live in contract/microcode.py (microcode shared with the RTL);
the formats, the rounding rule and saturation in contract/fixed_point.py.

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
scalar unit             sfloat, 24-bit mantissa, 12-bit exponent (contract/fixed_point.py FloatFormat)
AXPY coefficient        18-bit mantissa cm and a shift: M' = sat(rnd(M, k) + rnd(cm*v, sh))
read-out scale          18-bit mantissa; Dhat/Xhat elements Q1.15 (update_stream contract)
s                       s_mant 16 bits, s_exp 8 bits, s = s_mant * 2**s_exp (real units)
======================  ===========================================================================

Error budget (defaults; measured by experiments/accuracy_engine.py and tests/test_golden_sbe_fixed.py)
    rsqrt: table seed <= 2**-8 relative, after two Newton steps <= 2**-17 (tested); every other scalar
    op is correctly rounded to 24 bits (2**-22). State elements carry >= 21 - log2(sqrt(len)) bits of
    their vector's norm; AXPY coefficients 17 bits. Planted stream at 16-bit inputs: 1-|cos| ~ 3e-9,
    |s/s_float - 1| ~ 3e-5. On real gradients the input quantisation at a fixed binary point
    dominates (small hidden-layer deltas): against the float SBE fed the same quantised inputs the
    rank-1 updates agree within 5e-4 (16 bit), 1.2e-3 (12 bit), 1e-3 (8 bit) relative Frobenius norm;
    with per-sample block exponents (SBEFixed's default) the input quantisation error is relative to each
    sample's own scale (see experiments/accuracy_engine.py for the figures).

Initial state (reset): M_X, M_D = +-2**q with signs from a 16-bit Galois LFSR (taps 0xB400, seed 0xACE1),
one bit per element, D elements first; q the largest with len * 4**q < 2**(2*SW-4). In real units this is
the +-1 vector (the float SBE's random start has the same scale); s = 0. `initial_vectors()` gives it
for seeding golden/methods/sbe.py in comparisons.

Degenerate inputs: a zero norm gives a zero rsqrt, so zero projections (no NaN, like golden/methods/sbe.py);
an all-zero batch decays s toward 0; a batch of one sample works (its update uses the warm start).
"""
from __future__ import annotations

import math

import numpy as np

from contract import microcode as P
from contract.checks import check_int
from contract.engine_config import INIT_LFSR_SEED, INIT_LFSR_TAPS, KMIN, LMAX, EngineConfig
from contract.fixed_point import Flags, FloatFormat, quantise, quantise_block, rshift_round, saturate

def lfsr_bits(n: int) -> list[int]:
    """n successive output bits of the init LFSR (the bit shifted out at each step)."""
    s, out = INIT_LFSR_SEED, []
    for _ in range(n):
        bit = s & 1
        s >>= 1
        if bit:
            s ^= INIT_LFSR_TAPS
        out.append(bit)
    return out


def quantise_sample(cfg: EngineConfig, x, delta, *, block_exponent: bool = True,
                    flags: Flags | None = None) -> tuple[list[int], list[int], int, int]:
    """A float sample as the engine's input words (x_int, delta_int, x_exp, delta_exp): per-vector block
    exponents (fixed_point.quantise_block), or with block_exponent=False the fixed binary points
    x_frac / delta_frac and exponent 0. `flags` notes clamping."""
    c = cfg
    if block_exponent:
        xi, xe = quantise_block(x, c.x_frac, c.in_width, c.exp_range, flags)
        di, de = quantise_block(delta, c.delta_frac, c.in_width, c.exp_range, flags)
        return xi, di, xe, de
    return quantise(x, c.x_frac, c.in_width, flags), quantise(delta, c.delta_frac, c.in_width, flags), 0, 0


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
        """(X_0, D_0) of a fresh reset in real units (+-1), to seed golden/methods/sbe.py identically."""
        bits = lfsr_bits(self.cfg.a + self.cfg.b)
        sign = np.where(np.array(bits) == 1, -1.0, 1.0)
        return sign[self.cfg.a:].copy(), sign[:self.cfg.a].copy()

    def state(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The warm-start state (X, D, s) in real units, as golden/methods/sbe.py holds it between batches.

        Valid between batches (after reset or end_batch). A comparison aid with no RTL port: the
        accuracy report re-synchronises the float SBE to it before each batch, so each batch's error is
        measured from the same start (experiments/accuracy_engine.py).
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
        """The update as beats of the contract/layouts.py contract (lanes per beat, zero padded)."""
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
