"""Crossbar.apply_slots (golden/arrays/crossbar.py) against the per-slot reference apply_slot, bit for bit.

Two arrays built with the same seeds get the same slots, one slot at a time and as one list; afterwards
every observable must be identical to the bit: apparent and hidden weights (compared as bytes, so even
the sign of a zero counts), coincidence and line counters, the slot count, the returned coincidence
counts and the state of the noise stream (so later writes agree too). Every device preset and model
class, with stuck devices and write noise, weights programmed near the bounds (so steps clip), both
code paths of apply_slots (batched rounds and the slot-by-slot fallback of dense chunks) and chunk
boundaries inside a list.
"""
import dataclasses

import numpy as np
import pytest

from golden.arrays.crossbar import Crossbar
from golden.arrays import devices as D
from golden.rtl.update_controller import PulseScheme, apply_write

A, B = 11, 23

PRESETS = {
    "Idealized": D.Idealized(), "GokmenVlasov": D.GokmenVlasov(), "Noiseless": D.Noiseless(),
    "ReRamES": D.ReRamES(), "ReRamSB": D.ReRamSB(), "PCM": D.PCM(), "EcRam": D.EcRam(),
    "Capacitor": D.Capacitor(),
    "PowStep": D.PowStep(pow_gamma=1.5), "SoftBounds": D.SoftBounds(),
    "PiecewiseStep": D.PiecewiseStep(piecewise_up=(1.0, 0.6, 0.1), piecewise_down=(0.2, 0.7, 1.0)),
    "ExpStep-complex": D.ExpStep(dw_min_std_add=0.01, dw_min_std_slope=0.05),
    "GV-coarse": D.GokmenVlasov(dw_min=0.05),            # large steps: devices reach their bounds
}


def _with(dev, **kw):
    return dataclasses.replace(dev, **kw)


def _slots(rng, n, a=A, b=B):
    """Slots of mixed density (empty, sparse, all lines firing), polarities as ints or bools."""
    out = []
    for t in range(n):
        p = (0.0, 0.1, 0.5, 1.0, rng.random())[t % 5]
        rp, cp = rng.choice([-1, 1], a), rng.choice([-1, 1], b)
        if t % 3 == 0:
            rp, cp = rp < 0, cp < 0                          # the RTL's `neg` bits
        out.append((rng.random(a) < p, rp, rng.random(b) < p, cp))
    return out


def _pair(dev, **kw):
    c1, c2 = (Crossbar(A, B, device=dev, construction_seed=3, noise_seed=5, **kw) for _ in range(2))
    lo, hi = c1.device_params["w_min_bound"], c1.device_params["w_max_bound"]
    w0 = np.where(np.random.default_rng(9).random((A, B)) < 0.5, 0.97 * lo, 0.97 * hi)
    for c in (c1, c2):
        c.program(w0)
    return c1, c2


def _assert_same(c1, c2):
    assert c1.weights.tobytes() == c2.weights.tobytes()
    assert c1.hidden_weights.tobytes() == c2.hidden_weights.tobytes()
    for name in ("coincidences_up", "coincidences_down", "row_pulses", "col_pulses"):
        np.testing.assert_array_equal(getattr(c1, name), getattr(c2, name), err_msg=name)
    assert c1.slots == c2.slots
    assert c1._noise_rng.bit_generator.state == c2._noise_rng.bit_generator.state


@pytest.mark.parametrize("path", ["batched", "per-slot-chunks"])
@pytest.mark.parametrize("stuck", [0.0, 0.05], ids=["ok", "stuck5%"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_apply_slots_is_bit_identical_to_apply_slot(name, stuck, path):
    dev = _with(PRESETS[name], corrupt_devices_prob=stuck)
    if name == "GokmenVlasov":
        dev = _with(dev, write_noise_std=4.0)               # write noise on a ConstantStep too
    c1, c2 = _pair(dev)
    if stuck:
        assert c1.stuck.any()
    c2.CHUNK_SLOTS = 7                                      # chunk boundaries inside the list
    c2.DENSE_SLOT = 0 if path == "per-slot-chunks" else 10 ** 9
    rng = np.random.default_rng(1)
    for sign in (1, -1, 1):
        slots = _slots(rng, 40)
        per = [c1.apply_slot(*s, sign=sign) for s in slots]
        assert c2.apply_slots(slots, sign=sign) == sum(per)
        _assert_same(c1, c2)
    assert (c1.coincidences > 0).any()
    # the arrays stay in lockstep for later per-slot writes
    s = _slots(rng, 5)
    for c in (c1, c2):
        [c.apply_slot(*x) for x in s]
    _assert_same(c1, c2)


def test_bounds_are_reached_in_the_batched_path():
    """The coarse Gokmen-Vlasov case really clips (else the comparison above would not cover clipping)."""
    c1, c2 = _pair(D.GokmenVlasov(dw_min=0.05))
    ones = (np.ones(A, bool), None, np.ones(B, bool), None)
    c2.apply_slots([ones] * 150)
    at_bound = c2.hidden_weights == c2.device_params["w_max_bound"]
    assert at_bound.mean() > 0.9              # all but the devices with a tiny step (d2d gain near 0)


def test_half_select_disturb_and_pulse_scheme_writes():
    """With half-select disturb the list is applied slot by slot; pulse-scheme writes (one and two phases)
    through update_controller.apply_write equal their slots applied one by one."""
    c1, c2 = _pair(D.ReRamES(), half_select_disturb=0.1)
    slots = _slots(np.random.default_rng(2), 12)
    [c1.apply_slot(*s) for s in slots]
    c2.apply_slots(slots)
    _assert_same(c1, c2)

    rng = np.random.default_rng(4)
    for two_phase in (False, True):
        c1, c2 = _pair(D.EcRam(corrupt_devices_prob=0.05))
        sch = PulseScheme(a=A, b=B, seed=3)
        for _ in range(4):
            u = rng.integers(-2 ** 15, 2 ** 15, A)
            v = rng.integers(-2 ** 15, 2 ** 15, B) * (rng.random(B) < 0.5)
            w = sch.write(u, v, 12000, -16, lr_mant=200, lr_exp=0, bl=255, bl_mgmt=True, two_phase=two_phase)
            assert w.slots
            n1 = sum(c1.apply_slot(*s) for s in w.slots)
            assert apply_write(c2, w) == n1
            _assert_same(c1, c2)


def test_arguments_checked_before_any_slot_is_applied():
    c1, c2 = _pair(D.GokmenVlasov())
    good = _slots(np.random.default_rng(5), 4)
    bad = (np.ones(A, bool), np.zeros(A, int), np.ones(B, bool), None)
    with pytest.raises(ValueError, match="row_pol must be"):
        c2.apply_slots(good + [bad])
    with pytest.raises(ValueError, match=r"col_fire must have shape \(23,\)"):
        c2.apply_slots([(np.ones(A, bool), None, np.ones(B - 1, bool), None)])
    with pytest.raises(ValueError, match="sign must be"):
        c2.apply_slots(good, sign=0)
    _assert_same(c1, c2)                                    # nothing was applied
    assert c2.apply_slots([]) == 0 and c2.slots == 0
    with pytest.raises(ValueError, match="apply_ideal"):
        Crossbar(2, 3, device=D.Ideal()).apply_slots([])
