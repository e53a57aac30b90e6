"""Device models of golden/arrays/devices.py: d2d draws, update-once rules, presets, validation.

Expected values are computed here from the documented formulas (or taken from aihwkit's published
preset values), never read back from the code under test.
"""
import numpy as np
import pytest

from golden.arrays.devices import (
    PCM, Capacitor, ConstantStep, EcRam, ExpStep, GokmenVlasov, Ideal, Idealized, LinearStep,
    Noiseless, PiecewiseStep, PowStep, ReRamES, ReRamSB, SoftBounds,
)

A, B = 6, 7


def _noiseless(cls=ConstantStep, **kw):
    base = dict(dw_min_dtod=0.0, dw_min_std=0.0, up_down_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0)
    if issubclass(cls, LinearStep):
        base.update(gamma_up_dtod=0.0, gamma_down_dtod=0.0)
    if cls is PowStep:
        base.update(pow_gamma_dtod=0.0)
    base.update(kw)
    return cls(**base)


def test_constant_step_moves_exactly_dw_min():
    dev = _noiseless(dw_min=0.001, w_min=-1.0, w_max=1.0)
    p = dev.draw(A, B)
    w0 = np.random.default_rng(0).uniform(-0.5, 0.5, (A, B))
    up = np.random.default_rng(1).random((A, B)) < 0.5
    w1 = dev.update(w0, np.where(up, 1.0, -1.0), p)
    np.testing.assert_array_equal(w1, np.where(up, w0 + 0.001, w0 - 0.001))


def test_d2d_draws_follow_documented_formula_and_seed():
    dev = ConstantStep(dw_min=0.01, dw_min_dtod=0.1, up_down=0.05, up_down_dtod=0.02,
                       w_min=-0.5, w_max=0.8, w_min_dtod=0.05, w_max_dtod=0.07, construction_seed=42)
    p = dev.draw(A, B)
    rng = np.random.Generator(np.random.PCG64(42))
    xi = [rng.standard_normal((A, B)) for _ in range(4)]
    gain, r = 1 + 0.1 * xi[2], 0.02 * xi[3]
    np.testing.assert_allclose(p["w_max_bound"], 0.8 * (1 + 0.07 * xi[0]), rtol=1e-15)
    np.testing.assert_allclose(p["w_min_bound"], -0.5 * (1 + 0.05 * xi[1]), rtol=1e-15)
    # up_down > 0: the up direction keeps dw_min, the down direction carries the asymmetry
    np.testing.assert_allclose(p["scale_up"], 0.01 * (gain + r), rtol=1e-15)
    np.testing.assert_allclose(p["scale_down"], 0.01 * (gain - r - 0.05), rtol=1e-15)
    again = dev.draw(A, B)
    other = dev.draw(A, B, seed=43)
    for k in ("w_max_bound", "w_min_bound", "scale_up", "scale_down"):
        np.testing.assert_array_equal(p[k], again[k])
        assert not np.any(p[k] == other[k])


def test_changing_one_spread_keeps_the_other_draws():
    p1 = GokmenVlasov().draw(A, B)
    p2 = GokmenVlasov(dw_min_dtod=0.0).draw(A, B)
    np.testing.assert_array_equal(p1["w_max_bound"], p2["w_max_bound"])
    np.testing.assert_array_equal(p1["w_min_bound"], p2["w_min_bound"])
    assert not np.array_equal(p1["scale_up"], p2["scale_up"])


@pytest.mark.parametrize("up_down", [0.2, -0.2])
def test_up_down_asymmetry_sign(up_down):
    dev = _noiseless(dw_min=0.01, up_down=up_down, w_min=-1.0, w_max=1.0)
    p = dev.draw(1, 1)
    w = np.zeros((1, 1))
    step_up = dev.update(w, np.ones((1, 1)), p)[0, 0]
    step_down = -dev.update(w, -np.ones((1, 1)), p)[0, 0]
    # aihwkit convention: up_down > 0 -> up steps larger; the weaker direction is (1 - |up_down|) dw_min
    if up_down > 0:
        assert step_up == pytest.approx(0.01) and step_down == pytest.approx(0.008)
    else:
        assert step_up == pytest.approx(0.008) and step_down == pytest.approx(0.01)


def test_c2c_noise_multiplies_the_step():
    dev = _noiseless(dw_min=0.01, dw_min_std=0.3, w_min=-1.0, w_max=1.0)
    p = dev.draw(A, B)
    xi = np.random.default_rng(3).standard_normal((A, B))
    up = np.random.default_rng(4).random((A, B)) < 0.5
    w1 = dev.update(np.zeros((A, B)), np.where(up, 1.0, -1.0), p, xi)
    np.testing.assert_allclose(w1, np.where(up, 1, -1) * 0.01 * (1 + 0.3 * xi), rtol=1e-14)


def _steps(dev, w):
    p = {k: np.full_like(w, v) for k, v in dev.draw(1, 1).items() if k != "corrupt"}
    return dev.step(w, np.ones_like(w, bool), p), dev.step(w, np.zeros_like(w, bool), p), p


@pytest.mark.parametrize("dev", [
    _noiseless(SoftBounds), _noiseless(LinearStep, gamma_up=0.5, gamma_down=0.5), _noiseless(ExpStep),
    _noiseless(ReRamES), _noiseless(PowStep, pow_gamma=2.0), _noiseless(EcRam), _noiseless(Capacitor),
], ids=lambda d: type(d).__name__)
def test_steps_shrink_toward_the_bound_they_move_to(dev):
    w = np.linspace(dev.w_min, dev.w_max, 41)[1:-1]
    up, down, _ = _steps(dev, w)
    assert np.all(np.diff(up) < 0), "up steps must shrink as w approaches w_max"
    assert np.all(np.diff(down) > 0), "down steps must shrink as w approaches w_min"
    assert np.all(up >= 0) and np.all(down >= 0)


def test_soft_bounds_formula_and_zero_at_bounds():
    dev = _noiseless(SoftBounds, dw_min=0.01, w_min=-0.5, w_max=0.8)
    w = np.array([-0.5, -0.2, 0.0, 0.3, 0.8])
    up, down, _ = _steps(dev, w)
    np.testing.assert_allclose(up, 0.01 * (1 - w / 0.8), atol=1e-17)
    np.testing.assert_allclose(down, 0.01 * (1 - w / -0.5), atol=1e-17)
    assert up[-1] == 0 and down[0] == 0


def test_expstep_formula():
    dev = _noiseless(ReRamES)
    w = np.linspace(-0.9, 0.9, 7)
    up, down, _ = _steps(dev, w)
    z = 2 * -0.5 * w / 2.0 - 0.5                  # aihwkit ReRamES: a = b = -0.5, bounds +-1
    s_up, s_down = 0.00135, 0.00135 * (1 - 0.259359)
    np.testing.assert_allclose(up, s_up * np.maximum(1 + 1.18445 * np.exp(5 * z), 0), rtol=1e-12)
    np.testing.assert_allclose(down, s_down * np.maximum(1 + 0.081404 * np.exp(-5 * z), 0), rtol=1e-12)


def test_powstep_formula():
    dev = _noiseless(PowStep, dw_min=0.01, pow_gamma=2.0, w_min=-0.6, w_max=0.6)
    w = np.linspace(-0.5, 0.5, 5)
    up, down, _ = _steps(dev, w)
    np.testing.assert_allclose(up, 0.01 * ((0.6 - w) / 1.2) ** 2, rtol=1e-12)
    np.testing.assert_allclose(down, 0.01 * ((w + 0.6) / 1.2) ** 2, rtol=1e-12)


def test_piecewise_interpolates_nodes_over_the_range():
    dev = _noiseless(PiecewiseStep, dw_min=0.01, w_min=-1.0, w_max=1.0,
                     piecewise_up=(1.0, 0.0), piecewise_down=(0.2, 0.6, 1.0))
    up, down, _ = _steps(dev, np.array([-1.0, 0.0, 0.5]))
    np.testing.assert_allclose(up, 0.01 * np.array([1.0, 0.5, 0.25]), rtol=1e-12)
    np.testing.assert_allclose(down, 0.01 * np.array([0.2, 0.6, 0.8]), rtol=1e-12)


def test_bounds_clip_per_device():
    dev = ConstantStep(dw_min=0.3, dw_min_std=0.5, w_min_dtod=0.3, w_max_dtod=0.3)
    p = dev.draw(A, B)
    w = np.zeros((A, B))
    rng = np.random.default_rng(5)
    for _ in range(20):
        w = dev.update(w, np.ones((A, B)), p, rng.standard_normal((A, B)))
        assert np.all(w <= p["w_max_bound"]) and np.all(w >= p["w_min_bound"])
    np.testing.assert_array_equal(w, p["w_max_bound"])


def test_corrupt_devices_are_stuck_inside_range():
    p = GokmenVlasov(corrupt_devices_prob=1.0, corrupt_devices_range=0.1).draw(A, B)
    assert p["corrupt"].all()
    np.testing.assert_array_equal(p["w_min_bound"], p["w_max_bound"])
    assert np.all(np.abs(p["w_max_bound"]) <= 0.1)
    assert np.all(p["scale_up"] == 0) and np.all(p["scale_down"] == 0)
    n = 100 * 100
    frac = GokmenVlasov(corrupt_devices_prob=0.3).draw(100, 100)["corrupt"].mean()
    assert abs(frac - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)


def test_presets_carry_published_values():
    # aihwkit presets (simulator/presets/devices.py) and the Gokmen-Vlasov 2016 specification.
    assert (GokmenVlasov().dw_min, GokmenVlasov().w_max, GokmenVlasov().dw_min_std) == (0.001, 0.6, 0.3)
    r = ReRamES()
    assert (r.dw_min, r.up_down, r.w_min, r.w_max) == (0.00135, 0.259359, -1, 1)
    assert (r.A_up, r.A_down, r.gamma_up, r.a) == (-1.18445, -0.081404, 5, -0.5)
    assert (ReRamSB().dw_min, ReRamSB().w_min, ReRamSB().w_max) == (0.002, -0.75, 1.25)
    assert (PCM().dw_min, PCM().w_min, PCM().w_max) == (0.01, 0.0, 2.0)
    assert (Idealized().dw_min, EcRam().gamma_down, Capacitor().dw_min) == (0.0002, 0.5085, 0.005)
    assert isinstance(SoftBounds(), LinearStep) and isinstance(EcRam(), LinearStep)
    p = Noiseless().draw(A, B)
    assert np.all(p["scale_up"] == 0.001) and np.all(p["w_max_bound"] == 1.0)


@pytest.mark.parametrize("kw, msg", [
    (dict(dw_min=-0.1), "dw_min must be a non-negative number"),
    (dict(dw_min=0.0), "dw_min must be positive for a pulsed device"),
    (dict(w_min=0.1), "must contain 0"),
    (dict(corrupt_devices_prob=1.5), "corrupt_devices_prob must be in [0, 1]"),
    (dict(construction_seed=-1), "construction_seed must be a non-negative integer"),
])
def test_validation_messages(kw, msg):
    with pytest.raises((ValueError, TypeError)) as e:
        ConstantStep(**kw)
    assert msg in str(e.value)


def test_ideal_rejects_a_step():
    assert not Ideal().pulsed
    with pytest.raises(ValueError, match="Ideal has no pulse step"):
        Ideal(dw_min=0.001)
