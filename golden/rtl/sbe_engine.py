"""Bit-exact fixed-point model of the SBE engine: the specification of hdl/engine/sbe_engine.py.

What it computes: the rank-1 SBE of golden/methods/sbe.py (docs/sbe-algorithm.md, section 2) in the sums
form of section 2.1, with the vector updates skewed by two samples so the hardware streams without
waiting for the scalar unit. The skew runs on across batches: the read-out forms M_n (the stored
M_{n-2} with the updates of samples n-1 and n) on its way out and writes nothing back; the next batch's
first two passes apply those updates like any pass, so in the RTL the next batch's first sample may pass
while the read-out still waits for its scale (`samples_total` counts the samples since the reset, which
index the AXPY words). The vector datapath (state, sample buffer, dot products, AXPY, read-out) is
here; the scalar recurrences run on the scalar unit's twin (golden/rtl/scalar_unit.py, interpreting the
microcode of contract/microcode.py); the formats, the rounding rule and saturation are in
contract/fixed_point.py.

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

Error budget (defaults)
    rsqrt: table seed <= 2**-8 relative, after two Newton steps <= 2**-17 (tested); every other scalar
    op is correctly rounded to 24 bits (2**-22). State elements carry >= 21 - log2(sqrt(len)) bits of
    their vector's norm; AXPY coefficients 17 bits. The inputs carry in_width bits: at a fixed binary
    point relative to the format's range (small deltas lose bits), with per-sample block exponents
    (SBEFixed's default) relative to each vector's own largest element. experiments/accuracy_engine.py
    measures the agreement with the float SBE.

Initial state (reset): M_X, M_D = +-2**q with signs from a 16-bit Galois LFSR (taps 0xB400, seed 0xACE1),
one bit per element, D elements first; q the largest with len * 4**q < 2**(2*SW-4). In real units this is
the +-1 vector (the float SBE's random start has the same scale); s = 0. `initial_vectors()` gives it
for seeding golden/methods/sbe.py in comparisons.

State invariant (tested on the RTL's state write port, tests/amaranth_sim/test_sbe_engine.py and the
cocotb bench): for inputs with block exponents within +-3 (every normal run), after every rewrite of a
vector (a sample pass, the reset pattern; the read-out writes nothing) 2**(SW-4) <= ||M|| <= 2**(SW-2) * (1 + 2**-8)
(the target [2**(SW-3), 2**(SW-2)) up to the rounding of k and of the AXPY words), so every element is
far from the clamps. Saturation is a clamp, never a wrap-around: a sum beyond the state width becomes
2**(SW-1)-1 or -2**(SW-1) (contract/fixed_point.py saturate) and sets `flags.saturated`; extreme block
exponents (beyond what the AXPY shift range LMAX covers) can drive the state there.

Batch length: a batch holds at most max_batch samples, like the RTL's sample counter. The RTL closes a
batch at its max_batch-th sample (read-out as if tagged last_of_batch; framing_error is set when the tag
is missing) and takes the following samples as the next batch. Here `sample()` of a sample beyond
max_batch first closes the full batch (the update is returned by that `sample()` call; `batch_overflow`
becomes True, sticky like the RTL's framing_error) and then starts the next batch with it. `end_batch()`
after exactly max_batch samples is an ordinary batch. `reset()` (the RTL's rst and `clear`, also during a
read-out) drops the batch and clears `batch_overflow`.

Degenerate inputs: a zero norm gives a zero rsqrt, so zero projections (no NaN, like golden/methods/sbe.py);
an all-zero batch decays s toward 0; a batch of one sample works (its update uses the warm start).
"""
from __future__ import annotations

import math

import numpy as np

from contract import microcode as P
from contract.checks import check_finite, check_int
from contract.engine_config import INIT_LFSR_SEED, INIT_LFSR_TAPS, EngineConfig
from contract.fixed_point import Flags, FloatFormat, quantise, quantise_block, rshift_round, saturate
from contract.layouts import update_beats

from golden.rtl.scalar_unit import ScalarUnit


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


def quantise_sample(cfg: EngineConfig, x, delta, *, block_exponent: bool = True, flags: Flags | None = None,
                    sample: int | None = None) -> tuple[list[int], list[int], int, int]:
    """A float sample as the engine's input words (x_int, delta_int, x_exp, delta_exp): per-vector block
    exponents (fixed_point.quantise_block), or with block_exponent=False the fixed binary points
    x_frac / delta_frac and exponent 0. `flags` notes clamping. A non-finite element raises ValueError
    naming x or delta and, when given, the sample index `sample`."""
    c = cfg
    x, delta = check_finite("x", x, sample=sample), check_finite("delta", delta, sample=sample)
    if block_exponent:
        xi, xe = quantise_block(x, c.x_frac, c.in_width, c.exp_range, flags, name="x")
        di, de = quantise_block(delta, c.delta_frac, c.in_width, c.exp_range, flags, name="delta")
        return xi, di, xe, de
    return (quantise(x, c.x_frac, c.in_width, flags, name="x"),
            quantise(delta, c.delta_frac, c.in_width, flags, name="delta"), 0, 0)


class SBEFixedEngine:
    """The engine's arithmetic on integers: feed quantised samples, read (s_mant, s_exp, Dhat, Xhat).

    `sample(x, delta)` takes signed in_width-bit integer vectors; `end_batch()` returns the update as
    a dict {"s_mant", "s_exp", "dhat", "xhat"} (Q1.(elem_width-1) integers) and starts the next batch
    from the warm state. `flags.saturated` is the sticky saturation flag of the RTL (vector datapath and
    scalar unit). `scalar` is the scalar unit (golden/rtl/scalar_unit.py); `regs` and `s_out` are its
    register file and s word.
    """

    def __init__(self, cfg: EngineConfig | None = None, **params):
        self.cfg = cfg if cfg is not None else EngineConfig(**params)
        self.scalar = ScalarUnit(self.cfg)
        self.ff: FloatFormat = self.scalar.ff
        self.reset()

    regs = property(lambda self: self.scalar.regs, doc="The scalar unit's register file (sfloats).")
    s_out = property(lambda self: self.scalar.s_out, doc="s of the latest update, (s_mant, s_exp).")

    # -- state -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """The RTL's state reset: the LFSR-signed initial state, cleared flags, then the INIT segment."""
        c = self.cfg
        self.flags = Flags()
        bits = lfsr_bits(c.a + c.b)
        qd, qx = c.q(P.VEC_D), c.q(P.VEC_X)
        self.M = {P.VEC_D: [(-1 if bit else 1) << qd for bit in bits[:c.a]],
                  P.VEC_X: [(-1 if bit else 1) << qx for bit in bits[c.a:]]}
        self.j = 0                         # samples of the current batch
        self.buf = {P.VEC_D: [], P.VEC_X: []}   # the previous two samples, newest last
        self.samples_total = 0
        self.batch_overflow = False        # a batch reached max_batch samples and was closed by sample()
        self.scalar.reset(self.flags)
        self.scalar.run("INIT", jc=0)

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
        c, R, to_f, regs = self.cfg, P.REGS, FloatFormat.to_float, self.scalar.regs
        units = c.x_frac + c.delta_frac
        flags, self.flags = self.flags, Flags()        # a look, not a run: no flag of its own
        try:
            MX, MD = self._pending_applied(P.VEC_X), self._pending_applied(P.VEC_D)
        finally:
            self.flags = flags
        X = np.array(MX, dtype=float) * math.ldexp(to_f(regs[R["rX1"]]), -units)
        D = np.array(MD, dtype=float) * math.ldexp(to_f(regs[R["rD1"]]), -units)
        return X, D, math.ldexp(to_f(regs[R["T"]]), -units)

    # -- vector datapath ---------------------------------------------------------------------------
    def axpy(self, m: int, v: int, word: tuple[int, int, int]) -> int:
        """One element of M' = sat(rnd(M, k) + rnd(cm * v, sh)) (rnd: the one rounding rule; sat clamps
        to +-(2**(SW-1)-1) / -2**(SW-1), never wraps)."""
        k, cm, sh = word
        val, hit = saturate(rshift_round(m, k) + rshift_round(cm * v, sh), self.cfg.state_width)
        self.flags.note(hit)
        return val

    def _pass(self, vec: int, v: list[int]) -> tuple[int, int, int]:
        """Pass of sample g (counted since the reset) over vector `vec`: apply the update of sample g-2
        (of this batch, or one of the previous batch's last two), return the 3 dots."""
        g, M, buf = self.samples_total, self.M[vec], self.buf[vec]
        word = self.scalar.coef_for(vec, g - 2)
        older, prev = self._buffered(vec)
        dm = dv1 = dvv = 0
        for i in range(len(M)):
            M[i] = self.axpy(M[i], older[i], word)
            dm += v[i] * M[i]
            dv1 += v[i] * prev[i]
            dvv += v[i] * v[i]
        buf.append(list(v))
        del buf[:-2]
        return dm, dv1, dvv

    def _buffered(self, vec: int) -> tuple[list[int], list[int]]:
        """The two latest samples' elements of vector `vec` (older, newer), zeros where there is none yet."""
        buf, zeros = self.buf[vec], [0] * len(self.M[vec])
        return (buf[-2] if len(buf) >= 2 else zeros), (buf[-1] if buf else zeros)

    def _pending_applied(self, vec: int) -> list[int]:
        """M_n of vector `vec`: the stored state (M_{n-2}) with the pending updates of samples n-1 and n
        applied, element by element as the read-out does (the state itself is not written)."""
        g, su, M = self.samples_total, self.scalar, self.M[vec]
        wa, wb = su.coef_for(vec, g - 1), su.coef_for(vec, g)
        older, prev = self._buffered(vec)
        return [self.axpy(self.axpy(M[i], older[i], wa), prev[i], wb) for i in range(len(M))]

    def _words(self, name: str, values) -> list[int]:
        """The integer input words of x or delta (ValueError naming a non-finite element)."""
        out = []
        for i, t in enumerate(values):
            try:
                out.append(int(t))
            except (ValueError, OverflowError):
                raise ValueError(f"{name} of sample {self.j} must be finite integers, found {t!r} at index {i}") \
                    from None
        return out

    # -- public API --------------------------------------------------------------------------------
    def sample(self, x, delta, x_exp: int = 0, delta_exp: int = 0) -> dict | None:
        """One sample: signed in_width-bit integer vectors and their block exponents (see Formats).

        Returns None, or, when the batch already holds max_batch samples, the update of that full batch,
        which this call closes before starting the next batch with the sample (see Batch length)."""
        c = self.cfg
        x, delta = self._words("x", x), self._words("delta", delta)
        if len(x) != c.b or len(delta) != c.a:
            raise ValueError(f"expected x of length {c.b} and delta of length {c.a}")
        lo, hi = -(1 << (c.in_width - 1)), 1 << (c.in_width - 1)
        if not all(lo <= t < hi for t in x + delta):
            raise ValueError(f"inputs must be signed {c.in_width}-bit integers")
        elo, ehi = c.exp_range
        for name, e in (("x_exp", x_exp), ("delta_exp", delta_exp)):
            check_int(name, e, elo, ehi)
        closed = None
        if self.j >= c.max_batch:          # the RTL closed the batch at its max_batch-th sample
            closed = self.end_batch()
            self.batch_overflow = True
        self.j += 1
        self.samples_total += 1
        xm, xx1, xx = self._pass(P.VEC_X, x)
        dm, dd1, dd = self._pass(P.VEC_D, delta)
        self.scalar.chain(self.j, {"XM": xm, "XX1": xx1, "XX": xx, "DM": dm, "DD1": dd1, "DD": dd},
                          x_exp, delta_exp, g=self.samples_total)
        return closed

    def end_batch(self) -> dict:
        """Read-out (M_n: the updates of samples n-1 and n applied on the way out, nothing written back;
        the next batch's first two passes apply them), then the warm-start rescale."""
        if self.j == 0:
            raise ValueError("end_batch() needs at least one sample in the batch")
        n, su = self.j, self.scalar
        su.run("FINAL", jc=n)
        out = {"s_mant": su.s_out[0], "s_exp": su.s_out[1]}
        for vec, key in ((P.VEC_D, "dhat"), (P.VEC_X, "xhat")):
            om, osh = su.outscale[vec]
            elems = []
            for m_n in self._pending_applied(vec):
                e, hit = saturate(rshift_round(m_n * om, osh), self.cfg.elem_width)
                self.flags.note(hit)
                elems.append(e)
            out[key] = elems
        self.j = 0
        su.run("RESCALE", jc=0)
        return out

    def beats(self, update: dict) -> list[dict]:
        """The update as beats of the update stream (contract/layouts.py update_beats: lanes per beat,
        zero padded)."""
        return update_beats(update["dhat"], update["xhat"], update["s_mant"], update["s_exp"], self.cfg.lanes)

    @staticmethod
    def update_value(update: dict, elem_width: int = 16) -> tuple[float, np.ndarray, np.ndarray]:
        """(s, Dhat, Xhat) as floats."""
        sc = 1.0 / (1 << (elem_width - 1))
        return (math.ldexp(update["s_mant"], update["s_exp"]), np.array(update["dhat"]) * sc,
                np.array(update["xhat"]) * sc)
