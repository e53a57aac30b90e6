"""NumPy MLP trainer: gradients, shared initialisation, the method hook, update counts, digits accuracy."""
import math

import numpy as np
import pytest

from golden.training.data import Dataset, load_digits
from golden.methods.mbgd import MBGD
from golden.training.mlp import DEFAULT_LR, MLP, method_factory_for, train
from golden.methods.update_method import update_matrix


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _tiny(seed=0, n=12):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 5))
    y = rng.integers(0, 3, n)
    return Dataset("tiny", x, y, x[:4], y[:4], n_classes=3)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("bias", ["fold", "mean"])
def test_backprop_matches_finite_differences(activation, bias):
    # The MBGD update of every layer (+ the mean-delta bias path) is the gradient of the mean loss:
    # central differences with h = 1e-6 agree to 1e-6 relative.
    d = _tiny()
    net = MLP((5, 4, 3), activation=activation, seed=3, bias=bias)
    xs, zs, p = net.forward(d.x_train)
    deltas = net.backward(xs, zs, p, d.y_train)
    for l, w in enumerate(net.W):
        G = update_matrix(MBGD(*w.shape).batch(xs[l], deltas[l]), *w.shape)
        num = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + 1e-6; lp, _ = net.evaluate(d.x_train, d.y_train)
            w[idx] = old - 1e-6; lm, _ = net.evaluate(d.x_train, d.y_train)
            w[idx] = old
            num[idx] = (lp - lm) / 2e-6
        assert np.allclose(G, num, rtol=1e-6, atol=1e-8)
        if bias == "mean":
            b = net.bvec[l]
            numb = np.zeros_like(b)
            for i in range(len(b)):
                old = b[i]
                b[i] = old + 1e-6; lp, _ = net.evaluate(d.x_train, d.y_train)
                b[i] = old - 1e-6; lm, _ = net.evaluate(d.x_train, d.y_train)
                b[i] = old
                numb[i] = (lp - lm) / 2e-6
            assert np.allclose(deltas[l].mean(axis=0), numb, rtol=1e-6, atol=1e-8)


def test_initialisation_is_seeded_and_documented():
    a, b = MLP((64, 32, 10), seed=5), MLP((64, 32, 10), seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a.W, b.W))
    assert a.layer_shapes == [(32, 65), (10, 33)]
    assert np.all(a.W[0][:, -1] == 0)                         # folded bias column starts at 0
    # He normal: std of W[0] close to sqrt(2/64) (2048 draws: within 10 %)
    assert abs(a.W[0][:, :-1].std() / math.sqrt(2 / 64) - 1) < 0.1
    assert not np.array_equal(a.W[0], MLP((64, 32, 10), seed=6).W[0])


@pytest.mark.parametrize("method,batch,epochs", [("sgd", 1, 10), ("mbgd", 32, 20), ("sbe", 32, 20)])
def test_digits_accuracy_and_exact_update_counts(digits, method, batch, epochs):
    # Digits 64-32-10 ReLU, DEFAULT_LR: >= 95 % test accuracy within the stated epoch budget.
    _, h = train(digits, sizes=(64, 32, 10), method=method, batch_size=batch, epochs=epochs)
    n = len(digits.x_train)
    per_epoch = n if method == "sgd" else -(-n // batch)
    assert h.matrix_updates == [e * per_epoch for e in range(epochs + 1)]
    assert h.epoch == list(range(epochs + 1)) and not h.diverged
    assert max(h.test_acc) >= 0.95, h.test_acc
    assert h.train_loss[-1] < h.train_loss[0] / 10


def test_all_methods_start_from_the_same_network(digits):
    first = {m: train(digits, method=m, epochs=0)[1] for m in ("sgd", "mbgd", "sbe", "svd")}
    assert len({h.train_loss[0] for h in first.values()}) == 1


def test_method_hook_and_gradient_recording():
    d = _tiny(n=10)
    calls, records = [], []

    def factory(layer, a, b):
        calls.append((layer, a, b))
        return MBGD(a, b)

    _, h1 = train(d, sizes=(5, 4, 3), method="mbgd", lr=0.1, batch_size=4, epochs=2,
                  method_factory=factory, on_batch=records.append)
    _, h2 = train(d, sizes=(5, 4, 3), method="mbgd", lr=0.1, batch_size=4, epochs=2)
    assert calls == [(0, 4, 6), (1, 3, 5)]
    assert h1.train_loss == h2.train_loss                     # the hook changes nothing by itself
    assert len(records) == 2 * 3 * 2                          # epochs x ceil(10/4) batches x layers
    r = records[0]
    assert (r.epoch, r.batch, r.layer) == (1, 0, 0) and r.xs.shape == (4, 6) and r.deltas.shape == (4, 4)
    assert np.all(r.xs[:, -1] == 1.0)                         # folded bias input
    assert np.allclose(update_matrix(r.terms, 4, 6), r.deltas.T @ r.xs / 4)
    assert [rr.xs.shape[0] for rr in records[:6:2]] == [4, 4, 2]   # short last batch


def test_sgd_runs_per_sample_whatever_the_batch_size(digits):
    small = Dataset("d", digits.x_train[:100], digits.y_train[:100], digits.x_test, digits.y_test)
    _, h1 = train(small, method="sgd", batch_size=1, epochs=2)
    _, h32 = train(small, method="sgd", batch_size=32, epochs=2)
    assert h1.train_loss == h32.train_loss and h32.matrix_updates == [0, 100, 200]


def test_divergence_is_reported_not_raised(digits):
    _, h = train(digits, method="mbgd", lr=1e4, batch_size=64, epochs=5)
    assert h.diverged and len(h.epoch) < 6


def test_bias_mean_mode_and_other_methods_train(digits):
    for method in ("sbe_oja", "sbpca", "svd"):
        _, h = train(digits, method=method, batch_size=64, epochs=3, bias="mean" if method == "svd" else "fold")
        assert h.train_loss[-1] < 0.7 * h.train_loss[0], method
    assert set(DEFAULT_LR) >= {"sgd", "mbgd", "sbe", "svd"}
    with pytest.raises(ValueError, match="method must be"):
        method_factory_for("adam")
