"""Smoke runs of the paper scripts (--quick, into tmp_path), the resumable sweep and the LR cache."""
import json
import os

import numpy as np
import pytest

import experiments.lr_tuning as lt
from bench.golden_throughput import run as bench_run
from golden.training.data import Dataset
from experiments.paper import fig1_spectrum, fig3_vector_error, fig4_loss_curves, fig5_batch_sweep


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return str(tmp_path_factory.mktemp("paper"))


def _args(out):
    return ["--dataset", "digits", "--quick", "--out", out, "--no-progress"]


def test_fig1(out):
    fig1_spectrum.main(_args(out))
    r = json.load(open(os.path.join(out, "fig1_spectrum.json")))
    for act in ("relu", "sigmoid"):
        s = np.array(r[act]["sigma"])
        assert np.all(np.diff(s) <= 0) and 0 < r[act]["top1_share"] <= r[act]["top10_share"] <= 1
    assert os.path.getsize(os.path.join(out, "fig1_spectrum.png")) > 1000


def test_fig3(out):
    fig3_vector_error.main(_args(out))
    r = json.load(open(os.path.join(out, "fig3_vector_error.json")))
    assert set(r) >= {"32", "128"} and 0 <= r["32"]["layer0"]["eps_x"] <= 1
    assert os.path.exists(os.path.join(out, "fig3_vector_error.png"))


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
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    d = Dataset("tiny", x, y, x, y, n_classes=3)
    cache = str(tmp_path / "lr.json")
    r = lt.tune_lr(d, "mbgd", 8, sizes=(6, 5, 3), epochs=2, grid=(0.01, 0.1, 1.0), cache_path=cache)
    finite = {k: v for k, v in r["losses"].items() if v is not None}
    assert r["lr"] == float(min(finite, key=finite.get))
    monkeypatch.setattr(lt, "train", lambda *a, **k: pytest.fail("cache miss"))
    assert lt.tune_lr(d, "mbgd", 8, sizes=(6, 5, 3), epochs=2, grid=(0.01, 0.1, 1.0), cache_path=cache) == r


def test_bench_throughput_reports_both_rates():
    r = bench_run(batch=16, repeats=1)
    assert r["sbe_samples_per_s"] > 0 and r["mbgd_samples_per_s"] > 0
    assert r["sbe_over_mbgd"] == pytest.approx(r["sbe_samples_per_s"] / r["mbgd_samples_per_s"])
