"""Smoke runs of the paper scripts (--quick, into tmp_path), the resumable sweep and the LR cache; the
scripts' numerical kernels checked against numpy.linalg results computed independently here."""
import json
import os

import numpy as np
import pytest

import experiments.lr_tuning as lt
from bench.golden_throughput import run as bench_run
from golden.training.data import Dataset
from experiments.paper import fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep
from golden.methods.svd_oracle import top_k_svd
from golden.training.mlp import train


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return str(tmp_path_factory.mktemp("paper"))


def _args(out):
    return ["--dataset", "digits", "--quick", "--out", out, "--no-progress"]


def test_fig1(out):
    fig1_spectrum.main(_args(out))
    r = json.load(open(os.path.join(out, "fig1_spectrum.json")))
    sizes, layer = r["sizes"], r["layer"]
    for act in ("relu", "sigmoid"):     # one sigma per rank of the middle layer's (bias-folded) gradient
        assert len(r[act]["sigma"]) == min(sizes[layer + 1], sizes[layer] + 1, r["batch"])
    assert os.path.getsize(os.path.join(out, "fig1_spectrum.png")) > 1000


def test_fig1_spectrum_equals_svd_of_per_sample_outer_products():
    """fig1's batched gradient spectrum against numpy.linalg.svd of the mean of per-sample outer products
    (each sample through forward/backward alone), and a duplicated sample giving a rank-1 gradient."""
    d = Dataset("tiny", *_tiny_data(), n_classes=3)
    net, _ = train(d, sizes=(6, 5, 4, 3), method="mbgd", lr=0.1, batch_size=8, epochs=1, seed=1)
    x, y = d.x_train[:7], d.y_train[:7]
    g = 0
    for k in range(len(x)):
        xs, zs, p = net.forward(x[k:k + 1])
        g = g + np.outer(net.backward(xs, zs, p, y[k:k + 1])[1][0], xs[1][0]) / len(x)
    np.testing.assert_allclose(fig1_spectrum.spectrum(net, x, y, 1), np.linalg.svd(g, compute_uv=False),
                               rtol=1e-9, atol=1e-12)
    s = fig1_spectrum.spectrum(net, x[[2, 2, 2]], y[[2, 2, 2]], 1)
    xs, zs, p = net.forward(x[2:3])
    one = np.linalg.norm(net.backward(xs, zs, p, y[2:3])[1][0]) * np.linalg.norm(xs[1][0])
    np.testing.assert_allclose(s, [one] + [0.0] * (len(s) - 1), atol=1e-12 * max(one, 1))


def _tiny_data():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    return x, y, x, y


def test_fig3(out):
    fig3_vector_error.main(_args(out))
    r = json.load(open(os.path.join(out, "fig3_vector_error.json")))
    assert set(r) >= {"32", "128"} and {"eps_x", "eps_d", "s_over_sigma1"} <= set(r["32"]["layer0"])
    assert os.path.exists(os.path.join(out, "fig3_vector_error.png"))


def test_fig3_kernels_against_numpy_linalg():
    """fig3's inputs: top_k_svd against numpy.linalg.svd of deltas^T xs / n (both of its branches, signs
    aligned), and its error 1 - |cos| on vectors whose angle is known."""
    rng = np.random.default_rng(3)
    for n in (4, 40):                                   # n < min(a, b): the QR branch; else the plain SVD
        xs, ds = rng.standard_normal((n, 12)), rng.standard_normal((n, 9))
        U, S, Vt = top_k_svd(xs, ds, 2)
        u, s, vt = np.linalg.svd(ds.T @ xs / n)
        np.testing.assert_allclose(S, s[:2], rtol=1e-10)
        for k in range(2):
            sign = np.sign(U[:, k] @ u[:, k])
            np.testing.assert_allclose(sign * U[:, k], u[:, k], atol=1e-9)
            np.testing.assert_allclose(sign * Vt[k], vt[k], atol=1e-9)
    eps = fig3_vector_error._eps
    v = rng.standard_normal(8)
    w = rng.standard_normal(8)
    w -= (w @ v) / (v @ v) * v                          # w orthogonal to v
    assert eps(v, -3 * v) == pytest.approx(0, abs=1e-12)
    assert eps(v, w) == pytest.approx(1, abs=1e-12)
    mix = np.cos(0.3) * v / np.linalg.norm(v) + np.sin(0.3) * w / np.linalg.norm(w)
    assert eps(v, mix) == pytest.approx(1 - np.cos(0.3), rel=1e-9)


def test_fig4(out):
    fig4_loss_curves.main(_args(out))
    r = json.load(open(os.path.join(out, "fig4_loss_curves.json")))
    assert set(r) >= {"sgd", "mbgd", "svd", "sbe"} and r["sgd"]["batch"] == 1
    assert os.path.exists(os.path.join(out, "fig4_loss_curves.png"))


def test_fig5_is_resumable(out, monkeypatch):
    fig5_batch_sweep.main(_args(out))
    runs = json.load(open(os.path.join(out, "fig5_runs.json")))
    assert set(runs) == {"sgd|1", "mbgd|32", "svd|32", "sbe|32", "mbgd|128", "svd|128", "sbe|128"}
    assert runs["mbgd|32"]["epochs_run"] <= runs["mbgd|32"]["cap_epochs"]
    # second start: everything cached, no training at all
    monkeypatch.setattr(fig5_batch_sweep, "one_run", lambda *a: pytest.fail("re-ran a cached run"))
    fig5_batch_sweep.main(_args(out))
    assert os.path.exists(os.path.join(out, "fig5_batch_sweep.png"))


def test_lr_tuning_picks_the_minimum_and_caches(tmp_path, monkeypatch):
    d = Dataset("tiny", *_tiny_data(), n_classes=3)
    cache = str(tmp_path / "lr.json")
    r = lt.tune_lr(d, "mbgd", 8, sizes=(6, 5, 3), epochs=2, grid=(0.01, 0.1, 1.0), cache_path=cache)
    finite = {k: v for k, v in r["losses"].items() if v is not None}
    assert r["lr"] == float(min(finite, key=finite.get))
    monkeypatch.setattr(lt, "train", lambda *a, **k: pytest.fail("cache miss"))
    assert lt.tune_lr(d, "mbgd", 8, sizes=(6, 5, 3), epochs=2, grid=(0.01, 0.1, 1.0), cache_path=cache) == r


def test_bench_throughput_reports_both_rates():
    """The bench runs and reports finite rates for the batch asked (its speed is the bench's to measure)."""
    r = bench_run(a=10, b=20, batch=16, repeats=1)
    assert (r["layer"], r["batch"]) == ("20x10", 16)
    for k in ("sbe_samples_per_s", "mbgd_samples_per_s", "mbgd_streamed_samples_per_s", "sbe_over_mbgd"):
        assert np.isfinite(r[k]) and r[k] > 0, k
