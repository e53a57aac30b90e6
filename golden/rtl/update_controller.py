"""Pulse schemes that write one rank-1 update W <- W - eta*s*outer(u, v) to a crossbar: bit-exact
golden twin of hdl/controller/update_controller.py (the same slots, in the same order, bit for bit).

Inputs (the formats of contract/layouts.py): u (length a, rows) and v (length b, columns) are signed
integers in Q1.F, F = elem_width - 1 (value = u_i / 2**F); s = s_mant * 2**s_exp. Registers, latched by
the RTL on the first beat of each update: the learning rate in device steps, lr = eta / dw_min =
lr_mant * 2**lr_exp (lr_mant unsigned), the pulse-train length (or its cap) `bl`, and the mode bits
det / bl_mgmt / two_phase. The ideal update of device (i, j), counted in coincidences (steps of dw_min):

    n_ij = lr * |s| * |u_i| * |v_j| / 2**(2F)            in direction -sign(s)*sign(u_i)*sign(v_j)

Scheme (ours; Gokmen-Vlasov stochastic coincidence in a form that needs no per-line arithmetic)
---------------------------------------------------------------------------------------------
P = elem_width bits per random number. ku = bit_length(max_i |u_i|), kv = bit_length(max_j |v_j|).

* Update management (power-of-two form): row i fires in a slot with probability |u_i| / 2**ku and
  column j with |v_j| / 2**kv: the largest row and the largest column both fire with a probability in
  [1/2, 1), so rows and columns are balanced within a factor 2 whatever the ratio max|u| / max|v|. The
  comparison is `(r_i mod 2**ku) < |u_i|` with r_i the line's P-bit random number (golden/rtl/lfsr.py: the low P bits of its LFSR after a leap of
  max(P, low tap) single steps): only
  a shared mask and one P-bit comparator per line, no multiplier.
* Scale: the remaining factor is Ghat = lr_mant*|s_mant| * 2**E, E = lr_exp + s_exp + ku + kv - 2F
  (then n_ij = Ghat * (|u_i|/2**ku) * (|v_j|/2**kv)). A slot gate shared by all lines passes a slot with
  probability g = G / 2**P, G = floor(Ghat * 2**P / BL) (the quantised eta*s). Each device still sees
  independent Bernoulli coincidences slot by slot with probability g * p_i * p_j, so the expectation is
  BL * G/2**P * p_i * p_j = n_ij up to the P-bit quantisation of G. A gated-off slot fires no line.
* BL management (bl_mgmt = 1): BL = min(max(ceil(Ghat), 1), bl) (`bl` is the cap): the shortest train
  that can carry the update (g in (1/2, 1] when Ghat >= 1). Without it BL = bl.
* Deterministic mode (det = 1), no random numbers: BL must be a power of two 2**m (BL management rounds
  ceil(Ghat) up to one). Row i fires in slot t iff ((2t+1) << ku) >> (m+1) < |u_i| (a ramp: the first
  round(BL*|u_i|/2**ku) slots), column j iff ((2*rev_m(t)+1) << kv) >> (m+1) < |v_j| (rev_m: m-bit
  bit reversal, a van der Corput pattern spread evenly over the train), so the overlap approximates
  BL * p_i * p_j; the gate is a first-order sigma-delta: acc starts at 2**(P-1), acc += G per slot, the
  slot passes on the carry out of P bits.
* Polarity (crossbar convention, golden/arrays/crossbar.py: True = negative, direction = row_pol * col_pol):
  row_pol_i = (u_i < 0) XOR (s >= 0), col_pol_j = (v_j < 0), giving -sign(s)*sign(u_i)*sign(v_j).
  two_phase = 1: every slot is two strobes (phases) with the same random draw; phase 0 fires only the
  columns of positive polarity, phase 1 only the negative ones (unipolar column drivers per phase).
* LFSRs (row i, column j, gate) leap once per stochastic slot, and keep their state across updates.
  They are seeded at evenly spaced points of the one m-sequence (contract/lfsr.py line_seeds: lines
  0..a-1 rows, a..a+b-1 columns, a+b the gate), D = ControllerConfig.lfsr_spacing slots apart, and a
  train has at most 2**bl_width - 1 <= D slots: within a train no two lines read the same sequence bits
  (before, random per-line seeds let some pairs of lines repeat each other within a train).

Register checks (contract.enums.Status; a flagged update emits no slot at all, it is never applied in
part): BL_ZERO (bl == 0), BL_POW2 (det and bl not a power of two), OVERFLOW (Ghat > BL: the scale does
not fit in BL slots even with every slot passing). A zero update (s_mant == 0, lr_mant == 0, u == 0 or
v == 0) emits no slot and no flag. PROTOCOL is set only by the RTL (beat counts differ from the stream
contract).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from contract.checks import check_int
from contract.controller_config import ControllerConfig
from contract.enums import Status

from golden.rtl.lfsr import LineLFSRs


def bit_reverse(t: int, m: int) -> int:
    """The m low bits of t in reverse order."""
    return int(format(t, f"0{m}b")[::-1], 2) if m else 0


@dataclass
class Plan:
    """The scalars of one update, as the RTL computes them in its set-up cycles."""

    status: int
    bl: int                  # pulse slots (0: nothing is written)
    g: int                   # gate threshold G in [0, 2**P]
    ku: int
    kv: int
    exp: int                 # E
    prod: int                # lr_mant * |s_mant|
    m: int = 0               # log2(bl) in deterministic mode
    phases: int = 1


@dataclass
class Write:
    """One update: its plan and its slots (row_fire, row_pol, col_fire, col_pol), numpy bool arrays."""

    plan: Plan
    slots: list = field(default_factory=list)


class PulseScheme:
    """Golden pulse generator with the RTL's parameters and its LFSR state (carried across updates).

    Parameters
    ----------
    cfg : ControllerConfig, or its fields as keywords (contract/controller_config.py: the same
        parameters and bounds as the RTL; serial_width does not change the slots)
    """

    def __init__(self, cfg: ControllerConfig | None = None, **params):
        self.cfg = c = cfg if cfg is not None else ControllerConfig(**params)
        self.a, self.b, self.elem_width, self.mant_width, self.exp_width = c.a, c.b, c.elem_width, c.mant_width, c.exp_width
        self.lr_width, self.lr_exp_width, self.bl_width = c.lr_width, c.lr_exp_width, c.bl_width
        self.lfsr_width, self.seed = c.lfsr_width, c.seed
        self.P = c.P
        self.F = c.F
        self.reset()

    def reset(self) -> None:
        """Return every LFSR to its seed (the RTL's reset)."""
        a, b = self.a, self.b
        seeds = self.cfg.lfsr_seeds                   # rows, columns, gate
        # leaps of max(P, low tap) steps per slot (contract/lfsr.py), numbers of P bits
        kw = dict(width=self.lfsr_width, steps=self.cfg.lfsr_leap, bits=self.P)
        self.rows = LineLFSRs(seeds[:a], **kw)
        self.cols = LineLFSRs(seeds[a:a + b], **kw)
        self.gate = LineLFSRs(seeds[a + b:], **kw)

    # -- scalars ---------------------------------------------------------------------------------
    def plan(self, u, v, s_mant: int, s_exp: int, *, lr_mant: int, lr_exp: int, bl: int,
             det: bool = False, bl_mgmt: bool = False, two_phase: bool = False) -> Plan:
        """Compute the plan of one update (pure: no LFSR state is touched)."""
        u, v = self._vec(u, self.a, "u"), self._vec(v, self.b, "v")
        mu, mv = int(np.abs(u).max()), int(np.abs(v).max())
        ku, kv = mu.bit_length(), mv.bit_length()
        prod = int(lr_mant) * abs(int(s_mant))
        E = int(lr_exp) + int(s_exp) + ku + kv - 2 * self.F
        status = 0
        if bl == 0:
            status |= Status.BL_ZERO
        elif det and bl & (bl - 1):
            status |= Status.BL_POW2
        phases = 2 if two_phase else 1
        plan = Plan(status=int(status), bl=0, g=0, ku=ku, kv=kv, exp=E, prod=prod, phases=phases)
        if status or prod == 0 or mu == 0 or mv == 0:
            return plan
        ceil_g = prod << E if E >= 0 else -((-prod) >> -E)
        if bl_mgmt:
            c = max(ceil_g, 1)
            if det:
                c = 1 << (c - 1).bit_length()
            n = min(c, bl)
        else:
            n = bl
        if ceil_g > n:
            plan.status = int(plan.status | Status.OVERFLOW)
            return plan
        sh = E + self.P
        plan.g = (prod << sh) // n if sh >= 0 else prod // (n << -sh)
        plan.bl = n
        plan.m = n.bit_length() - 1
        return plan

    # -- slots -----------------------------------------------------------------------------------
    def write(self, u, v, s_mant: int, s_exp: int, *, lr_mant: int, lr_exp: int, bl: int,
              det: bool = False, bl_mgmt: bool = False, two_phase: bool = False) -> Write:
        """Plan one update and generate its slots, advancing the LFSRs as the RTL does."""
        u, v = self._vec(u, self.a, "u"), self._vec(v, self.b, "v")
        self._check_regs(s_mant, s_exp, lr_mant, lr_exp, bl)
        plan = self.plan(u, v, s_mant, s_exp, lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=det,
                         bl_mgmt=bl_mgmt, two_phase=two_phase)
        out = Write(plan)
        if plan.bl == 0:
            return out
        P, ku, kv, m, G = self.P, plan.ku, plan.kv, plan.m, plan.g
        umag, vmag = np.abs(u), np.abs(v)
        row_pol = (u < 0) ^ (s_mant >= 0)
        col_pol = v < 0
        acc = 1 << (P - 1)
        for t in range(plan.bl):
            if det:
                rr = ((2 * t + 1) << ku) >> (m + 1)
                rc = ((2 * bit_reverse(t, m) + 1) << kv) >> (m + 1)
                rf, cf = rr < umag, rc < vmag
                acc += G
                gate = acc >= (1 << P)
                acc &= (1 << P) - 1
            else:
                rf = (self.rows.next_values() & ((1 << ku) - 1)) < umag
                cf = (self.cols.next_values() & ((1 << kv) - 1)) < vmag
                gate = bool(self.gate.next_values()[0] < G)
            rf, cf = rf & gate, cf & gate
            if plan.phases == 1:
                out.slots.append((rf, row_pol.copy(), cf, col_pol.copy()))
            else:
                out.slots.append((rf, row_pol.copy(), cf & ~col_pol, col_pol.copy()))
                out.slots.append((rf.copy(), row_pol.copy(), cf & col_pol, col_pol.copy()))
        return out

    def expected_counts(self, u, v, plan: Plan) -> np.ndarray:
        """Expected coincidences per device of the stochastic scheme (a x b floats, unsigned)."""
        u, v = self._vec(u, self.a, "u"), self._vec(v, self.b, "v")
        if plan.bl == 0:
            return np.zeros((self.a, self.b))
        pr = np.abs(u) / 2.0 ** plan.ku
        pc = np.abs(v) / 2.0 ** plan.kv
        return plan.bl * (plan.g / 2.0 ** self.P) * np.outer(pr, pc)

    # -- helpers ---------------------------------------------------------------------------------
    def _vec(self, x, n, name):
        x = np.asarray(x)
        if x.shape != (n,) or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{name} must be an integer vector of length {n}, got {x.dtype} {x.shape}")
        lim = 1 << self.F
        if x.min() < -lim or x.max() >= lim:
            raise ValueError(f"{name} elements must be in [-2**{self.F}, 2**{self.F}), Q1.{self.F}")
        return x.astype(np.int64)

    def _check_regs(self, s_mant, s_exp, lr_mant, lr_exp, bl):
        check_int("s_mant", s_mant, -(1 << (self.mant_width - 1)), (1 << (self.mant_width - 1)) - 1)
        check_int("s_exp", s_exp, -(1 << (self.exp_width - 1)), (1 << (self.exp_width - 1)) - 1)
        check_int("lr_mant", lr_mant, 0, (1 << self.lr_width) - 1)
        check_int("lr_exp", lr_exp, -(1 << (self.lr_exp_width - 1)), (1 << (self.lr_exp_width - 1)) - 1)
        check_int("bl", bl, 0, (1 << self.bl_width) - 1)


def apply_write(crossbar, write: Write) -> int:
    """Drive a golden Crossbar (golden/arrays/crossbar.py) with every slot of `write`, in order; return
    coincidences. Crossbar.apply_slots takes the whole list at once, bit-identical to apply_slot per slot."""
    return crossbar.apply_slots(write.slots)
