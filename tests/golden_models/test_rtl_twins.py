"""Golden twins of the RTL blocks, one per hdl/ file: dot_product's beats, the scalar unit inside the
engine twin, and the layer (engine -> unchanged update words -> pulse scheme)."""
import numpy as np
import pytest

from contract import microcode as P
from contract.engine_config import EngineConfig
from contract.layouts import lane_chunks, update_beats
from golden.rtl.dot_product import dot_product, to_lane_beats
from golden.rtl.sbe_engine import SBEFixedEngine
from golden.rtl.sbe_layer import SBELayer
from golden.rtl.scalar_unit import ScalarUnit
from golden.rtl.update_controller import PulseScheme

REGS = dict(lr_mant=200, lr_exp=6, bl=40, det=False, bl_mgmt=True)


# -- dot product -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,lanes", [(1, 1), (7, 3), (8, 4), (5, 8)])
def test_lane_beats_follow_the_contract_rule(n, lanes):
    x, y = list(range(1, n + 1)), list(range(-n, 0))
    beats = to_lane_beats(x, y, lanes)
    assert [(xs, last) for xs, _, last in beats] == lane_chunks(x, lanes)
    assert [(ys, last) for _, ys, last in beats] == lane_chunks(y, lanes)
    assert sum(dot_product(xs, ys) for xs, ys, _ in beats) == dot_product(x, y)


def test_lane_beats_reject_unequal_or_empty_vectors():
    with pytest.raises(ValueError, match="equal lengths"):
        to_lane_beats([1, 2, 3], [1, 2], 2)
    with pytest.raises(ValueError, match="at least one element"):
        to_lane_beats([], [], 2)


# -- scalar unit -------------------------------------------------------------------------------------------
def test_engine_runs_on_its_scalar_unit():
    eng = SBEFixedEngine(a=3, b=4, lanes=2)
    assert isinstance(eng.scalar, ScalarUnit) and eng.regs is eng.scalar.regs and eng.ff is eng.scalar.ff
    assert eng.scalar.flags is eng.flags
    eng.sample([1, 2, 3, 4], [5, 6, 7], 2, -1)
    eng.sample([4, 3, 2, 1], [7, 6, 5], 1, 3)
    assert eng.scalar.exp_cur == {P.VEC_X: 1, P.VEC_D: 3} and eng.scalar.exp_prev == {P.VEC_X: 2, P.VEC_D: -1}
    up = eng.end_batch()
    assert (up["s_mant"], up["s_exp"]) == eng.s_out == eng.scalar.s_out
    # the words of the batch's last two samples stay: the next batch's first two passes apply them
    assert set(eng.scalar.coef) == {(v, g) for v in (P.VEC_D, P.VEC_X) for g in (1, 2)}
    assert eng.beats(up) == update_beats(up["dhat"], up["xhat"], up["s_mant"], up["s_exp"], 2)
    eng.reset()
    assert eng.scalar.flags is eng.flags and eng.scalar.s_out == (0, 0)


def test_scalar_unit_conversions():
    cfg = EngineConfig(a=3, b=4)
    su = ScalarUnit(cfg)
    assert su.ksel((0, 5)) == 0                      # a zero norm: no rescale
    assert su.s_word((0, 0)) == (0, 0)
    big = su.s_word((1 << 22, 400))                  # beyond the s_exp range: saturated, flagged
    assert big == ((1 << 15) - 1, 127) and su.flags.saturated
    k, cm, sh = su.coef_word(3, (3 << 20, -30))
    assert k == 3 and cm * 2.0 ** -sh == pytest.approx(3 * 2.0 ** -10, rel=2 ** -16)


# -- layer -------------------------------------------------------------------------------------------------
def test_layer_is_the_engine_feeding_the_pulse_scheme_unchanged():
    rng = np.random.default_rng(4)
    layer = SBELayer(5, 7, lanes=2, seed=3)
    eng, scheme = SBEFixedEngine(a=5, b=7, lanes=2), PulseScheme(a=5, b=7, seed=3)
    for n in (4, 2, 3):
        samples = [(rng.integers(-4000, 4000, 7), rng.integers(-4000, 4000, 5), int(rng.integers(-2, 3)),
                    int(rng.integers(-2, 3))) for _ in range(n)]
        up, w = layer.batch(samples, **REGS)
        for s in samples:
            eng.sample(*s)
        want = eng.end_batch()
        ww = scheme.write(want["dhat"], want["xhat"], want["s_mant"], want["s_exp"], **REGS)
        assert up == want and layer.beats(up) == eng.beats(want)
        assert w.plan == ww.plan and len(w.slots) == len(ww.slots)
        assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(w.slots, ww.slots))
    assert (layer.a, layer.b, layer.lanes) == (5, 7, 2)


def test_layer_takes_the_update_formats_from_the_engine():
    layer = SBELayer(3, 4, elem_width=12, s_mant_width=14, s_exp_width=6, ctrl_bl_width=10)
    c = layer.controller.cfg
    assert (c.elem_width, c.mant_width, c.exp_width, c.bl_width) == (12, 14, 6, 10)
    assert layer.engine.cfg.elem_width == 12


@pytest.mark.parametrize("kwargs,text", [
    ({"ctrl_elem_width": 12}, "ctrl_elem_width is set by the layer"),
    ({"ctrl_seed": 2}, "ctrl_seed is set by the layer"),
    ({"seed": -1}, "seed must be between 0 and"),
    ({"in_width": 17}, "in_width must be between 2 and 16"),
])
def test_layer_rejects_bad_parameters(kwargs, text):
    with pytest.raises(ValueError, match=text):
        SBELayer(3, 3, **kwargs)


def test_layer_reset_restarts_engine_and_lfsrs():
    rng = np.random.default_rng(0)
    samples = [(rng.integers(-3000, 3000, 4), rng.integers(-3000, 3000, 3), 0, 0) for _ in range(3)]
    layer = SBELayer(3, 4, seed=1)
    up1, w1 = layer.batch(samples, **REGS)
    layer.batch(samples, **REGS)
    layer.reset()
    up2, w2 = layer.batch(samples, **REGS)
    assert up1 == up2 and len(w1.slots) == len(w2.slots)
    assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(w1.slots, w2.slots))


def test_layer_clear_is_reset():
    """The RTL layer's `clear` resets engine and controller (hdl/sbe_layer.py): the golden clear() is reset(),
    so a batch after a clear (even one left mid-way) writes as on a fresh layer."""
    rng = np.random.default_rng(4)
    samples = [(rng.integers(-4000, 4000, 5), rng.integers(-4000, 4000, 3), 0, 0) for _ in range(3)]
    regs = dict(lr_mant=200, lr_exp=3, bl=40, det=False, bl_mgmt=True)
    used = SBELayer(3, 5, seed=5)
    used.batch(samples, **regs)
    used.engine.sample(*samples[0])          # a batch left mid-way
    used.clear()
    fresh = SBELayer(3, 5, seed=5)
    up_u, w_u = used.batch(samples, **regs)
    up_f, w_f = fresh.batch(samples, **regs)
    assert up_u == up_f and w_u.plan == w_f.plan
    assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(w_u.slots, w_f.slots))
    assert used.engine.j == 0 and not used.engine.batch_overflow
