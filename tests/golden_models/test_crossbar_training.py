"""Training on behavioural crossbars written by the pulse scheme (golden/training/crossbar_training.py)."""
import dataclasses

import numpy as np
import pytest

from golden.arrays.crossbar import Crossbar
from golden.training.crossbar_training import lr_register, train_on_crossbars
from golden.training.data import load_digits
from golden.arrays.devices import GokmenVlasov, Noiseless
from golden.training.mlp import MLP
from golden.methods.sbe import SBE
from contract.fixed_point import quantise_scale, quantise_unit
from golden.rtl.update_controller import PulseScheme, apply_write


@pytest.fixture(scope="module")
def digits():
    # 640 training samples (20 batches of 32) keep the slot-by-slot pulse simulation fast.
    d = load_digits(seed=0)
    return dataclasses.replace(d, x_train=d.x_train[:640], y_train=d.y_train[:640])


def test_learns_and_writes_are_replayable(digits):
    """Two epochs on Gokmen-Vlasov arrays beat chance clearly, and replaying the recorded writes of the
    output layer into a fresh array with the same seeds reproduces its weights exactly (the property
    the RTL replay of demo.py relies on)."""
    sizes = (digits.n_features, 16, digits.n_classes)
    writes = []
    _, hist, arrays, stats = train_on_crossbars(digits, sizes=sizes, epochs=2, device=GokmenVlasov(),
                                                on_write=lambda l, u: writes.append(u) if l == 1 else None)
    assert hist.test_acc[-1] > 0.3                         # chance is 0.1
    n_batches = -(-len(digits.x_train) // 32)
    assert stats.writes == 2 * n_batches * len(sizes[1:])  # one write per layer per batch
    assert len(writes) == 2 * n_batches
    xb = arrays[1]
    fresh = Crossbar(xb.a, xb.b, device=GokmenVlasov(), construction_seed=xb.construction_seed,
                     noise_seed=xb.noise_seed)
    fresh.program(MLP(sizes, seed=0, bias="fold").W[1])
    sch = PulseScheme(a=xb.a, b=xb.b, seed=1)
    for u in writes:
        apply_write(fresh, sch.write(u["u"], u["v"], u["s_mant"], u["s_exp"], lr_mant=u["lr_mant"],
                                     lr_exp=u["lr_exp"], bl=u["bl"], det=u["det"], bl_mgmt=u["bl_mgmt"]))
    assert np.array_equal(fresh.weights, xb.weights)


def test_expected_write_matches_the_float_update(digits):
    """With noiseless devices the mean pulse write approximates -eta*s*u v^T (the float update) within
    a few device steps per weight; checked on one real batch gradient, averaged over seeds."""
    net = MLP((digits.n_features, 16, digits.n_classes), seed=0)
    xs, zs, p = net.forward(digits.x_train[:32])
    deltas = net.backward(xs, zs, p, digits.y_train[:32])
    (t,) = SBE(*net.W[1].shape).batch(xs[1], deltas[1])
    eta, dev = 0.5, Noiseless()
    mean = np.zeros_like(net.W[1])
    trials = 16
    for seed in range(trials):
        xb = Crossbar(*net.W[1].shape, device=dev)
        sch = PulseScheme(a=xb.a, b=xb.b, seed=seed)
        lm, le = lr_register(eta, dev.dw_min)
        sm, se = quantise_scale(t.scale, 16)
        apply_write(xb, sch.write(quantise_unit(t.u, 16), quantise_unit(t.v, 16), sm, se, lr_mant=lm, lr_exp=le,
                                  bl=1023, bl_mgmt=True))
        mean += xb.weights / trials
    want = -eta * t.matrix()
    # Per weight: stochastic coincidences ~ Poisson-like, std <= sqrt(n) steps; mean over 16 trials.
    tol = 4 * dev.dw_min * np.sqrt(np.maximum(np.abs(want) / dev.dw_min, 1) / trials) + dev.dw_min
    assert np.all(np.abs(mean - want) <= tol)


def test_lr_register_rejects_non_positive_eta():
    with pytest.raises(ValueError, match="eta must be positive"):
        lr_register(0.0, 0.001)
