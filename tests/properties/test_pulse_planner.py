"""Properties of the pulse-scheme planner golden/rtl/update_controller.PulseScheme (plan, write,
expected_counts) against the rules of its module docstring, computed independently with exact rationals
(Ghat as a Fraction, ceilings and floors of Fractions, explicit power-of-two searches), never with the
planner's own output.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import event, example, given, strategies as st

from contract.controller_config import ControllerConfig
from contract.enums import Status
from golden.rtl.update_controller import PulseScheme
from tb.amaranth_sim.update_controller import reference_plan


# -- references ----------------------------------------------------------------------------------------

def bits_needed(x: int) -> int:
    """Smallest k >= 0 with x < 2**k (x >= 0)."""
    k = 0
    while 2 ** k <= x:
        k += 1
    return k


def is_pow2(x: int) -> bool:
    return x in {2 ** k for k in range(64)}


def reverse_bits(t: int, m: int) -> int:
    r = 0
    for k in range(m):
        if t & (1 << k):
            r += 1 << (m - 1 - k)
    return r


def ref_plan(cfg: ControllerConfig, u, v, s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt):
    """The documented scalars of one update (tb's exact-fraction reference, shared with the invariant
    checker): dict(status, bl, g, ku, kv, E, ghat, zero)."""
    return reference_plan(u, v, s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt, elem_width=cfg.elem_width)


# -- strategies ------------------------------------------------------------------------------------------

@st.composite
def configs(draw):
    ew = draw(st.integers(2, 10))
    return ControllerConfig(a=draw(st.integers(1, 6)), b=draw(st.integers(1, 6)), elem_width=ew,
                            mant_width=draw(st.integers(2, 12)), exp_width=draw(st.integers(2, 6)),
                            lr_width=draw(st.integers(1, 12)), lr_exp_width=draw(st.integers(4, 8)),
                            bl_width=draw(st.integers(1, 9)), lfsr_width=31,
                            seed=draw(st.integers(0, 2 ** 32 - 1)))


def signed_range(width):
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


@st.composite
def updates(draw, det=None):
    """A config and one update's inputs; lr_exp half the time chosen so that Ghat lands near BL."""
    cfg = draw(configs())
    F = cfg.elem_width - 1
    elem = st.one_of(st.integers(-(1 << F), (1 << F) - 1), st.sampled_from([0, 1, -1, (1 << F) - 1, -(1 << F)]))
    u = draw(st.lists(elem, min_size=cfg.a, max_size=cfg.a))
    v = draw(st.lists(elem, min_size=cfg.b, max_size=cfg.b))
    zero_vec = draw(st.sampled_from([None] * 18 + ["u", "v"]))   # an all-zero vector one time in ten
    if zero_vec == "u":
        u = [0] * cfg.a
    elif zero_vec == "v":
        v = [0] * cfg.b
    lo, hi = signed_range(cfg.mant_width)
    s_mant = draw(st.one_of(st.integers(lo, -1), st.integers(1, hi)))
    s_exp = draw(st.integers(*signed_range(cfg.exp_width)))
    lr_mant = draw(st.one_of(st.integers(1, (1 << cfg.lr_width) - 1), st.just((1 << cfg.lr_width) - 1)))
    if draw(st.sampled_from([False] * 9 + [True])):       # a zero update about one time in ten
        if draw(st.booleans()):
            s_mant = 0
        else:
            lr_mant = 0
    bl_max = (1 << cfg.bl_width) - 1
    det = draw(st.booleans()) if det is None else det
    pow2s = st.sampled_from([1 << k for k in range(cfg.bl_width)])
    if det and draw(st.sampled_from([True, True, True, False])):
        bl = draw(pow2s)                                     # mostly a valid deterministic bl
    else:
        bl = draw(st.one_of(st.integers(1, bl_max), pow2s))
    if draw(st.sampled_from([False] * 9 + [True])):       # bl = 0 (BL_ZERO) about one time in ten
        bl = 0
    bl_mgmt, two_phase = draw(st.booleans()), draw(st.booleans())
    lo, hi = signed_range(cfg.lr_exp_width)
    prod = lr_mant * abs(s_mant)
    mu, mv = max(map(abs, u)), max(map(abs, v))
    if prod and mu and mv and draw(st.sampled_from([True, True, True, False])):
        # Ghat = prod * 2**E ~ bl * 2**delta
        rest = s_exp + mu.bit_length() + mv.bit_length() - 2 * F
        target = max(bl, 1).bit_length() - prod.bit_length() - rest + draw(st.integers(-8, -1))
        lr_exp = min(hi, max(lo, target))
    else:
        lr_exp = draw(st.integers(lo, hi))
    regs = dict(s_mant=s_mant, s_exp=s_exp, lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=det, bl_mgmt=bl_mgmt,
                two_phase=two_phase)
    return cfg, np.array(u, dtype=np.int64), np.array(v, dtype=np.int64), regs


def plan_of(ps, u, v, r):
    return ps.plan(u, v, r["s_mant"], r["s_exp"], lr_mant=r["lr_mant"], lr_exp=r["lr_exp"], bl=r["bl"],
                   det=r["det"], bl_mgmt=r["bl_mgmt"], two_phase=r["two_phase"])


def write_of(ps, u, v, r):
    return ps.write(u, v, r["s_mant"], r["s_exp"], lr_mant=r["lr_mant"], lr_exp=r["lr_exp"], bl=r["bl"],
                    det=r["det"], bl_mgmt=r["bl_mgmt"], two_phase=r["two_phase"])


# -- plan -----------------------------------------------------------------------------------------------

@given(updates())
def test_plan_scalars_follow_the_documented_rules(args):
    cfg, u, v, r = args
    ps = PulseScheme(cfg)
    got = plan_of(ps, u, v, r)
    event("written" if got.bl else f"status {got.status}" if got.status else "zero update")
    want = ref_plan(cfg, u, v, r["s_mant"], r["s_exp"], r["lr_mant"], r["lr_exp"], r["bl"], r["det"], r["bl_mgmt"])
    P = cfg.elem_width
    assert (got.status, got.bl, got.g) == (want["status"], want["bl"], want["g"])
    assert (got.ku, got.kv, got.exp, got.prod) == (want["ku"], want["kv"], want["E"], r["lr_mant"] * abs(r["s_mant"]))
    assert got.phases == (2 if r["two_phase"] else 1)
    # flag rules, each stated on its own
    assert bool(got.status & Status.BL_ZERO) == (r["bl"] == 0)
    assert bool(got.status & Status.BL_POW2) == (r["det"] and r["bl"] != 0 and not is_pow2(r["bl"]))
    assert not got.status & Status.PROTOCOL
    # OVERFLOW iff ceil(Ghat) > BL; with or without BL management that is ceil(Ghat) > bl (the cap)
    reg_ok = r["bl"] != 0 and not (r["det"] and not is_pow2(r["bl"]))
    assert bool(got.status & Status.OVERFLOW) == (reg_ok and not want["zero"] and math.ceil(want["ghat"]) > r["bl"])
    if want["zero"] and reg_ok:
        assert (got.status, got.bl) == (0, 0)                 # zero update: no slot and no flag
    if got.bl:
        n, g = got.bl, Fraction(got.g, 2 ** P)
        assert not got.status and 1 <= n <= r["bl"] and 0 <= got.g <= 2 ** P
        assert want["ghat"] <= n                              # fits: otherwise OVERFLOW
        # G is the P-bit floor of Ghat / BL: BL * g <= Ghat < BL * (g + 2**-P)
        assert n * g <= want["ghat"] < n * (g + Fraction(1, 2 ** P))
        if r["det"]:
            assert is_pow2(n) and 2 ** got.m == n
        if r["bl_mgmt"] and not r["det"] and 1 <= want["ghat"] and math.ceil(want["ghat"]) <= r["bl"]:
            assert got.g >= 2 ** (P - 1)                      # g in (1/2, 1] with BL management


@given(updates())
def test_plan_is_pure_and_write_uses_it(args):
    cfg, u, v, r = args
    a, b = PulseScheme(cfg), PulseScheme(cfg)
    p1 = plan_of(a, u, v, r)
    assert plan_of(a, u, v, r) == p1
    wa, wb = write_of(a, u, v, r), write_of(b, u, v, r)      # a planned first, b did not
    assert wa.plan == p1 == wb.plan
    assert len(wa.slots) == len(wb.slots)
    for sa, sb in zip(wa.slots, wb.slots):
        assert all(np.array_equal(x, y) for x, y in zip(sa, sb))


@given(updates())
def test_expected_counts_are_the_quantised_ideal_update(args):
    cfg, u, v, r = args
    ps = PulseScheme(cfg)
    plan = plan_of(ps, u, v, r)
    got = ps.expected_counts(u, v, plan)
    assert got.shape == (cfg.a, cfg.b)
    if plan.bl == 0:
        assert not got.any()
        return
    P = cfg.elem_width
    ghat = Fraction(r["lr_mant"] * abs(r["s_mant"])) * Fraction(2) ** plan.exp
    for i in range(cfg.a):
        for j in range(cfg.b):
            pij = Fraction(abs(int(u[i])), 2 ** plan.ku) * Fraction(abs(int(v[j])), 2 ** plan.kv)
            want = plan.bl * Fraction(plan.g, 2 ** P) * pij
            assert math.isclose(got[i, j], float(want), rel_tol=1e-12, abs_tol=1e-300)
            n_ij = ghat * pij                                 # the ideal update, in coincidences
            assert 0 <= n_ij - want < Fraction(plan.bl, 2 ** P) * pij or pij == 0


# -- write ----------------------------------------------------------------------------------------------

def check_slot_structure(cfg, u, v, r, w):
    """Slot count, shapes, polarity and the two-phase split, common to both modes."""
    phases = 2 if r["two_phase"] else 1
    assert len(w.slots) == w.plan.bl * phases
    sgn = lambda x: (x > 0) - (x < 0)
    for k, (rf, rp, cf, cp) in enumerate(w.slots):
        assert rf.shape == rp.shape == (cfg.a,) and cf.shape == cp.shape == (cfg.b,)
        assert all(x.dtype == np.bool_ for x in (rf, rp, cf, cp))
        assert not (rf & (u == 0)).any() and not (cf & (v == 0)).any()
        for i in range(cfg.a):
            for j in range(cfg.b):
                if u[i] and v[j]:
                    direction = (-1 if rp[i] else 1) * (-1 if cp[j] else 1)
                    assert direction == -sgn(r["s_mant"]) * sgn(int(u[i])) * sgn(int(v[j]))
        if phases == 2:
            assert not (cf & (cp if k % 2 == 0 else ~cp)).any()     # phase 0: positive columns only
    if phases == 2:
        for k in range(0, len(w.slots), 2):
            assert np.array_equal(w.slots[k][0], w.slots[k + 1][0])


def logical_slots(w, two_phase):
    """(row_fire, col_fire) per pulse slot, the two phases merged."""
    if not two_phase:
        return [(rf, cf) for rf, _, cf, _ in w.slots]
    return [(w.slots[k][0], w.slots[k][2] | w.slots[k + 1][2]) for k in range(0, len(w.slots), 2)]


@given(updates())
def test_write_slot_structure(args):
    cfg, u, v, r = args
    w = write_of(PulseScheme(cfg), u, v, r)
    check_slot_structure(cfg, u, v, r, w)


@given(updates(det=True))
@example((ControllerConfig(a=1, b=1, elem_width=4, lfsr_width=31), np.array([1]), np.array([7]),
          dict(s_mant=1, s_exp=0, lr_mant=1, lr_exp=2 + 6 - 1 - 3, bl=4, det=True, bl_mgmt=False, two_phase=False)))
def test_deterministic_ramps_and_sigma_delta_gate(args):
    cfg, u, v, r = args
    w = write_of(PulseScheme(cfg), u, v, r)
    check_slot_structure(cfg, u, v, r, w)
    n = w.plan.bl
    if n == 0:
        return
    P, G, m = cfg.elem_width, w.plan.g, bits_needed(n) - 1
    assert 2 ** m == n
    # first-order sigma-delta from 2**(P-1): slot t passes iff the carry count steps
    carries = [(2 ** (P - 1) + t * G) // 2 ** P for t in range(n + 1)]
    gate = [carries[t + 1] > carries[t] for t in range(n)]
    assert sum(gate) == (2 ** (P - 1) + n * G) // 2 ** P
    slots = logical_slots(w, r["two_phase"])
    assert len(slots) == n
    for i in range(cfg.a):
        # the ramp: the first round(BL * |u_i| / 2**ku) slots, ties rounded down (ceil(y - 1/2))
        y = Fraction(n * abs(int(u[i])), 2 ** w.plan.ku)
        first = max(0, math.ceil(y - Fraction(1, 2)))
        assert [bool(rf[i]) for rf, _ in slots] == [t < first and gate[t] for t in range(n)]
    for j in range(cfg.b):
        y = Fraction(n * abs(int(v[j])), 2 ** w.plan.kv)
        first = max(0, math.ceil(y - Fraction(1, 2)))
        # van der Corput order: slot t fires iff its m-bit reversal is among the first slots of the ramp
        assert [bool(cf[j]) for _, cf in slots] == [reverse_bits(t, m) < first and gate[t] for t in range(n)]
        if G == 2 ** P:                                       # every slot passes: exactly the ramp count
            assert sum(bool(cf[j]) for _, cf in slots) == first


@given(updates(det=False), st.data())
def test_stochastic_firing_is_a_threshold_on_the_magnitude(args, data):
    """Metamorphic: from the same LFSR state, raising some |u_i|, |v_j| (the largest unchanged, so ku, kv
    and the plan stay) can only add fires: each line compares its draw with its magnitude."""
    cfg, u, v, r = args
    w = write_of(PulseScheme(cfg), u, v, r)
    check_slot_structure(cfg, u, v, r, w)
    if w.plan.bl and w.plan.g == 0:                          # a gate that never passes fires nothing
        assert not any(rf.any() or cf.any() for rf, _, cf, _ in w.slots)

    def raised(x):
        big = int(np.abs(x).max())
        top = 2 ** (cfg.elem_width - 1) - 1                  # positive elements stay in Q1.F
        ups = [data.draw(st.integers(abs(int(e)), big if e < 0 else min(big, top))) for e in x]
        return np.array([up if e >= 0 else -up for up, e in zip(ups, x)], dtype=np.int64)
    u2, v2 = raised(u), raised(v)
    w2 = write_of(PulseScheme(cfg), u2, v2, r)
    assert w2.plan == w.plan
    for (rf, _, cf, _), (rf2, _, cf2, _) in zip(w.slots, w2.slots):
        assert not (rf & ~rf2).any() and not (cf & ~cf2).any()


def test_deterministic_ramp_rounds_ties_down():
    """The ramp's "first round(BL*|u_i|/2**ku) slots" rounds a tie down: BL = 4, ku = 3, |u_1| = 1 gives
    y = 1/2 -> 0 slots, |u_0| = 7 gives y = 7/2 -> 3 slots (Ghat = BL = 4: every slot passes the gate)."""
    ps = PulseScheme(ControllerConfig(a=2, b=1, elem_width=4, lfsr_width=31))
    w = ps.write(np.array([7, 1]), np.array([7]), 1, 0, lr_mant=1, lr_exp=2, bl=4, det=True)
    assert (w.plan.bl, w.plan.ku, w.plan.g) == (4, 3, 16)
    assert [int(s[0][0]) for s in w.slots] == [1, 1, 1, 0]
    assert [int(s[0][1]) for s in w.slots] == [0, 0, 0, 0]
