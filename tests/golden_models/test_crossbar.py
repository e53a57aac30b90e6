"""Behavioural crossbar of golden/arrays/crossbar.py: pulse slots, counters, seeds, counts path, ideal mode, reads.

Expected values are built here with plain NumPy from the slot stimulus and the documented rules.
"""

import numpy as np
import pytest

from golden.arrays.crossbar import Crossbar, ReadParams
from golden.arrays.devices import ConstantStep, GokmenVlasov, Ideal, Noiseless, ReRamES, SoftBounds

A, B = 9, 13


def _random_slots(rng, a, b, n, p=0.4, fixed_pol=False):
    rp, cp = rng.choice([-1, 1], a), rng.choice([-1, 1], b)
    out = []
    for _ in range(n):
        if not fixed_pol:
            rp, cp = rng.choice([-1, 1], a), rng.choice([-1, 1], b)
        out.append((rng.random(a) < p, rp, rng.random(b) < p, cp))
    return out


def _d(rf, rp, cf, cp, sign=1):
    return sign * np.outer(np.where(rf, rp, 0), np.where(cf, cp, 0))


def test_each_coincidence_moves_exactly_dw_min_and_half_selected_stay():
    cb = Crossbar(A, B, device=Noiseless(dw_min=0.001))
    rng = np.random.default_rng(0)
    for rf, rp, cf, cp in _random_slots(rng, A, B, 5):
        w0 = cb.weights
        for sign in (1, -1):
            n = cb.apply_slot(rf, rp, cf, cp, sign=sign)
            assert n == rf.sum() * cf.sum()
        cb.apply_slot(rf, rp, cf, cp)
        np.testing.assert_array_equal(cb.weights, w0 + 0.001 * _d(rf, rp, cf, cp))
        half = np.outer(rf, ~cf) | np.outer(~rf, cf)
        np.testing.assert_array_equal(cb.weights[half], w0[half])


def test_polarity_as_bool_means_negative():
    rng = np.random.default_rng(1)
    rf, rp, cf, cp = _random_slots(rng, A, B, 1, p=0.7)[0]
    c1 = Crossbar(A, B, device=Noiseless())
    c2 = Crossbar(A, B, device=Noiseless())
    c1.apply_slot(rf, rp, cf, cp)
    c2.apply_slot(rf.astype(int), rp < 0, cf, cp < 0)
    np.testing.assert_array_equal(c1.weights, c2.weights)
    with pytest.raises(ValueError, match="row_pol must be"):
        c1.apply_slot(rf, np.zeros(A, int), cf, cp)
    with pytest.raises(ValueError, match=r"col_fire must have shape \(13,\)"):
        c1.apply_slot(rf, rp, cf[:-1], cp)


def test_half_select_disturb_moves_in_firing_line_polarity():
    cb = Crossbar(A, B, device=Noiseless(dw_min=0.01), half_select_disturb=0.25)
    rf, cf = np.zeros(A, bool), np.zeros(B, bool)
    rf[[1, 4]], cf[[2]] = True, True
    rp, cp = np.ones(A, int), np.ones(B, int)
    rp[4], cp[2] = -1, -1
    cb.apply_slot(rf, rp, cf, cp)
    exp = 0.01 * _d(rf, rp, cf, cp)
    exp += 0.0025 * (np.outer(np.where(rf, rp, 0), ~cf) + np.outer(~rf, np.where(cf, cp, 0)))
    np.testing.assert_allclose(cb.weights, exp, atol=1e-15)


def test_bounds_respected_per_device():
    cb = Crossbar(A, B, device=ConstantStep(dw_min=0.05, dw_min_dtod=0.1, w_min_dtod=0.3, w_max_dtod=0.3),
                  noise_seed=3)
    lo, hi = cb.device_params["w_min_bound"], cb.device_params["w_max_bound"]
    ones_r, ones_c = np.ones(A, bool), np.ones(B, bool)
    for sign in (1, -1):
        for _ in range(100):
            cb.apply_slot(ones_r, None, ones_c, None, sign=sign)
            w = cb.weights
            assert np.all(w <= hi) and np.all(w >= lo)
        np.testing.assert_array_equal(cb.weights, hi if sign == 1 else lo)


def test_d2d_reproducible_for_construction_seed():
    p1 = Crossbar(A, B, construction_seed=7).device_params
    p2 = Crossbar(A, B, device=GokmenVlasov(construction_seed=7)).device_params
    p3 = Crossbar(A, B, construction_seed=8).device_params
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
        assert not np.any(p1[k] == p3[k])


def _run(cb, slots, empty_every=0):
    for k, s in enumerate(slots):
        cb.apply_slot(*s)
        if empty_every and k % empty_every == 0:
            cb.apply_slot(np.zeros(cb.a, bool), None, np.ones(cb.b, bool), None)   # no coincidence


@pytest.mark.parametrize("device", [GokmenVlasov(write_noise_std=2.0), ReRamES()], ids=["GV+wn", "ReRamES"])
def test_same_seeds_bit_identical_and_noise_seed_matters(device):
    slots = _random_slots(np.random.default_rng(2), A, B, 40)
    c1 = Crossbar(A, B, device=device, construction_seed=5, noise_seed=11)
    c2 = Crossbar(A, B, device=device, construction_seed=5, noise_seed=11)
    c3 = Crossbar(A, B, device=device, construction_seed=5, noise_seed=12)
    _run(c1, slots)
    _run(c2, slots, empty_every=3)
    c2.forward(np.ones(B)), c2.backward(np.ones(A))          # reads use their own stream
    _run(c3, slots)
    np.testing.assert_array_equal(c1.weights, c2.weights)
    np.testing.assert_array_equal(c1.hidden_weights, c2.hidden_weights)
    assert not np.array_equal(c1.weights, c3.weights)


def test_noise_draw_order_is_row_major_over_coincidences():
    dev = ConstantStep(dw_min=0.01, dw_min_dtod=0.0, up_down_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0,
                       dw_min_std=0.3, w_min=-1.0, w_max=1.0)
    cb = Crossbar(A, B, device=dev, noise_seed=9)
    rf, cf = np.zeros(A, bool), np.zeros(B, bool)
    rf[[0, 3, 5]], cf[[1, 2, 8, 12]] = True, True
    cb.apply_slot(rf, None, cf, None)
    xi = np.random.Generator(np.random.PCG64(9)).standard_normal((3, 4))
    block = cb.weights[np.ix_([0, 3, 5], [1, 2, 8, 12])]
    np.testing.assert_allclose(block, 0.01 * (1 + 0.3 * xi), rtol=1e-14)


def test_counters_exact():
    slots = _random_slots(np.random.default_rng(4), A, B, 30)
    cb = Crossbar(A, B, device=GokmenVlasov(corrupt_devices_prob=0.2))
    up, down = np.zeros((A, B), int), np.zeros((A, B), int)
    rows, cols = np.zeros(A, int), np.zeros(B, int)
    for k, (rf, rp, cf, cp) in enumerate(slots):
        sign = 1 if k % 2 else -1
        cb.apply_slot(rf, rp, cf, cp, sign=sign)
        d = _d(rf, rp, cf, cp, sign)
        up += d > 0
        down += d < 0
        rows += rf
        cols += cf
    np.testing.assert_array_equal(cb.coincidences_up, up)
    np.testing.assert_array_equal(cb.coincidences_down, down)
    np.testing.assert_array_equal(cb.coincidences, up + down)
    np.testing.assert_array_equal(cb.row_pulses, rows)
    np.testing.assert_array_equal(cb.col_pulses, cols)
    assert cb.slots == len(slots)
    cb.reset_counters()
    assert cb.coincidences.sum() == 0 and cb.row_pulses.sum() == 0 and cb.slots == 0


def test_stuck_devices_do_not_move():
    cb = Crossbar(A, B, device=GokmenVlasov(corrupt_devices_prob=0.5, corrupt_devices_range=0.2))
    stuck = cb.stuck
    assert 0 < stuck.sum() < A * B
    w0 = cb.weights
    _run(cb, _random_slots(np.random.default_rng(5), A, B, 20, p=0.8))
    cb.apply_ideal(np.full((A, B), 0.1))
    np.testing.assert_array_equal(cb.weights[stuck], w0[stuck])
    assert np.all(np.abs(w0[stuck]) <= 0.2)


@pytest.mark.parametrize("dw_min, exact", [(2.0 ** -10, True), (0.001, False)])
def test_counts_equal_slot_by_slot_for_noiseless_constant_step(dw_min, exact):
    dev = Noiseless(dw_min=dw_min) if exact else ConstantStep(dw_min=dw_min, dw_min_std=0.0)
    slots = _random_slots(np.random.default_rng(6), A, B, 50, fixed_pol=True)   # one rank-1 write
    c1, c2 = Crossbar(A, B, device=dev), Crossbar(A, B, device=dev)
    c1.program(0.1)
    c2.program(0.1)
    up, down = np.zeros((A, B), int), np.zeros((A, B), int)
    for rf, rp, cf, cp in slots:
        c1.apply_slot(rf, rp, cf, cp)
        d = _d(rf, rp, cf, cp)
        up, down = up + (d > 0), down + (d < 0)
    c2.apply_coincidence_counts(up, down)
    if exact:
        np.testing.assert_array_equal(c1.weights, c2.weights)
    else:
        np.testing.assert_allclose(c1.weights, c2.weights, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(c1.coincidences, c2.coincidences)


def test_counts_clip_to_device_bounds():
    cb = Crossbar(A, B, device=ConstantStep(dw_min=0.01, dw_min_std=0.0))
    p = cb.device_params
    n = np.random.default_rng(16).integers(0, 300, (A, B))
    cb.apply_coincidence_counts(n, np.zeros_like(n))
    np.testing.assert_allclose(cb.weights, np.minimum(n * p["scale_up"], p["w_max_bound"]), rtol=1e-14)
    assert np.any(cb.weights == p["w_max_bound"])
    need = np.ceil((p["w_max_bound"] - p["w_min_bound"]) / p["scale_down"]).astype(int) + 1
    cb.apply_coincidence_counts(np.zeros_like(n), need)
    np.testing.assert_array_equal(cb.weights, p["w_min_bound"])


def test_counts_equal_slot_by_slot_for_soft_bounds_single_sign():
    dev = SoftBounds(dw_min=0.05, dw_min_std=0.0)
    slots = _random_slots(np.random.default_rng(7), A, B, 40, p=0.6, fixed_pol=True)
    c1, c2 = Crossbar(A, B, device=dev), Crossbar(A, B, device=dev)
    _run(c1, slots)
    c2.apply_coincidence_counts(c1.coincidences_up, c1.coincidences_down)
    np.testing.assert_array_equal(c1.weights, c2.weights)


def test_counts_round_order_up_then_down():
    cb = Crossbar(1, 1, device=SoftBounds(dw_min=0.1, dw_min_std=0.0))
    p = {k: v[0, 0] for k, v in cb.device_params.items()}
    cb.apply_coincidence_counts(np.ones((1, 1), int), np.ones((1, 1), int))
    w1 = p["scale_up"] * (1 - 0.0 / p["w_max_bound"])
    w2 = w1 - p["scale_down"] * (1 - w1 / p["w_min_bound"])
    assert cb.weights[0, 0] == pytest.approx(w2, rel=1e-14)


def test_counts_with_c2c_noise_have_the_right_spread():
    dev = ConstantStep(dw_min=0.001, dw_min_dtod=0.0, up_down_dtod=0.0, dw_min_std=0.3,
                       w_min=-1.0, w_max=1.0, w_min_dtod=0.0, w_max_dtod=0.0)
    cb = Crossbar(60, 60, device=dev)
    n = np.full((60, 60), 16)
    cb.apply_coincidence_counts(n, np.zeros_like(n))
    w = cb.weights
    assert w.mean() == pytest.approx(0.016, rel=0.01)
    # sum of 16 steps of std 0.3*dw_min -> std 0.3*0.001*4, checked within 10 % (3600 samples)
    assert w.std() == pytest.approx(0.0012, rel=0.1)


def test_ideal_mode_is_exact():
    cb = Crossbar(A, B, device=Ideal(w_min=-1.0, w_max=1.0))
    rng = np.random.default_rng(8)
    W0 = rng.uniform(-0.5, 0.5, (A, B))
    dW = rng.normal(0, 0.01, (A, B))
    cb.program(W0)
    cb.apply_ideal(dW)
    np.testing.assert_array_equal(cb.weights, W0 + dW)
    cb.apply_ideal(np.full((A, B), 3.0))
    np.testing.assert_array_equal(cb.weights, np.ones((A, B)))
    with pytest.raises(ValueError, match="write with apply_ideal"):
        cb.apply_slot(np.ones(A, bool), None, np.ones(B, bool), None)


def test_program_clips_and_write_noise():
    dev = GokmenVlasov(write_noise_std=10.0)       # 10 dw_min = 0.01
    cb = Crossbar(80, 80, device=dev)
    cb.program(5.0)
    np.testing.assert_array_equal(cb.hidden_weights, cb.device_params["w_max_bound"])
    assert (cb.weights - cb.hidden_weights).std() == pytest.approx(0.01, rel=0.05)
    before = cb.weights
    rf, cf = np.zeros(80, bool), np.zeros(80, bool)
    rf[:40], cf[:40] = True, True
    cb.apply_slot(rf, None, cf, -np.ones(80, int))
    touched = np.outer(rf, cf)
    np.testing.assert_array_equal(cb.weights[~touched], before[~touched])
    assert not np.any(cb.weights[touched] == before[touched])


def test_vectorised_slot_on_784x100():
    dev = ConstantStep(dw_min_std=0.0)             # d2d spread, no c2c: expectation is deterministic
    cb = Crossbar(100, 784, device=dev)
    p = cb.device_params
    rng = np.random.default_rng(9)
    rf, rp, cf, cp = _random_slots(rng, 100, 784, 1, p=0.5)[0]
    cb.apply_slot(rf, rp, cf, cp)
    d = _d(rf, rp, cf, cp)
    exp = np.clip(np.where(d > 0, p["scale_up"], 0) - np.where(d < 0, p["scale_down"], 0),
                  p["w_min_bound"], p["w_max_bound"])
    np.testing.assert_allclose(cb.weights, exp, rtol=1e-15, atol=0)


# -- analog reads ----------------------------------------------------------------------------------

def _programmed(io=None, seed=10, scale=0.5):
    cb = Crossbar(A, B, device=Noiseless(), forward_io=io or ReadParams.perfect())
    W = np.random.default_rng(seed).uniform(-scale, scale, (A, B))
    cb.program(W)
    return cb, cb.weights


def test_perfect_read_forward_backward():
    cb, W = _programmed()
    x, dlt = np.random.default_rng(11).normal(size=(4, B)), np.random.default_rng(12).normal(size=(4, A))
    np.testing.assert_allclose(cb.forward(x), x @ W.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cb.backward(dlt), dlt @ W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cb.forward(x[0]), W @ x[0], rtol=1e-12, atol=1e-14)


def test_input_quantisation_7_bits():
    cb, W = _programmed(ReadParams(in_bits=7, out_bits=None, out_bound=None, out_noise=None,
                                   noise_management=False))
    x = np.random.default_rng(13).uniform(-1.5, 1.5, B)
    step = 2.0 / (2 ** 7 - 2)                      # 127 levels over [-1, 1]
    xq = np.round(np.clip(x, -1, 1) / step) * step
    np.testing.assert_allclose(cb.forward(x), W @ xq, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(xq - np.clip(x, -1, 1))) <= step / 2 + 1e-15


def test_output_bound_and_quantisation_9_bits():
    cb, W = _programmed(ReadParams(in_bits=None, out_bits=9, out_bound=12.0, out_noise=None,
                                   noise_management=False), scale=1.0)
    x = np.random.default_rng(14).uniform(-1, 1, (50, B))
    y = cb.forward(x)
    step = 24.0 / (2 ** 9 - 2)
    np.testing.assert_allclose(y / step, np.round(y / step), atol=1e-9)
    assert np.max(np.abs(y - x @ W.T)) <= step / 2 + 1e-12
    big = Crossbar(2, 40, device=Noiseless(w_min=-1.0, w_max=1.0),
                   forward_io=ReadParams(in_bits=None, out_bits=None, out_noise=None, noise_management=False))
    big.program(np.array([[1.0] * 40, [-1.0] * 40]))
    np.testing.assert_array_equal(big.forward(np.ones(40)), [12.0, -12.0])   # 40 saturates at 12


def test_output_noise_std_and_read_seed():
    io = ReadParams(in_bits=None, out_bits=None, out_bound=None, out_noise=0.06, noise_management=False)
    c1 = Crossbar(200, 10, device=Noiseless(), forward_io=io, read_seed=3)
    c2 = Crossbar(200, 10, device=Noiseless(), forward_io=io, read_seed=3)
    y = c1.forward(np.zeros((100, 10)))
    assert y.std() == pytest.approx(0.06, rel=0.03)          # 20000 samples: SE of std ~0.5 %
    np.testing.assert_array_equal(y, c2.forward(np.zeros((100, 10))))


def test_noise_management_scales_input_to_the_dac_range():
    io = ReadParams(in_bits=7, out_bits=9, out_noise=None)   # abs-max noise management on
    cb, W = _programmed(io)
    x = np.random.default_rng(15).normal(0, 3, B)
    alpha = np.max(np.abs(x))
    s_in, s_out = 2.0 / 126, 24.0 / 510
    y = np.round(np.clip(W @ (np.round(x / alpha / s_in) * s_in), -12, 12) / s_out) * s_out * alpha
    np.testing.assert_allclose(cb.forward(x), y, rtol=1e-12, atol=1e-12)


def test_constructor_validation():
    with pytest.raises(ValueError, match="a must be a positive integer, not 0"):
        Crossbar(0, 3)
    with pytest.raises(TypeError, match="device must be a PulsedDevice"):
        Crossbar(2, 3, device="GokmenVlasov")
    with pytest.raises(ValueError, match="out_bits needs out_bound"):
        ReadParams(out_bound=None)
    with pytest.raises(ValueError, match="sign must be"):
        Crossbar(2, 3).apply_slot(np.ones(2, bool), None, np.ones(3, bool), None, sign=2)
