"""Non-finite input is rejected by every golden update method and quantiser with a ValueError naming the
argument, the sample and the element; the state is left as it was; zero input keeps its defined
behaviour; the trainer reports a non-finite batch as divergence instead of raising."""
import math

import numpy as np
import pytest

from contract.engine_config import EngineConfig
from golden.arrays.crossbar import Crossbar
from golden.arrays.devices import Ideal, Noiseless
from golden.methods.mbgd import MBGD
from golden.methods.sbe import SBE
from golden.methods.sbe_fixed import SBEFixed
from golden.methods.sbe_oja import SBEOja
from golden.methods.sbpca import SBPCA
from golden.methods.sgd import SGD
from golden.methods.svd_oracle import SVDOracle
from golden.methods.update_method import update_matrix
from golden.rtl.sbe_engine import SBEFixedEngine, quantise_sample
from golden.training.data import Dataset
from golden.training.mlp import MLP, train

A, B = 6, 20

METHODS = {
    "sbe": lambda: SBE(A, B, seed=1),
    "sbe_oja": lambda: SBEOja(A, B, seed=1),
    "sbpca": lambda: SBPCA(A, B, k=2, m=3, seed=1),
    "sgd": lambda: SGD(A, B),
    "mbgd": lambda: MBGD(A, B),
    "svd": lambda: SVDOracle(A, B, k=2),
    "sbe_fixed": lambda: SBEFixed(A, B),
}


def _batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, B)), rng.standard_normal((n, A))


def _state(m):
    """Everything a method keeps between calls, as comparable plain data."""
    out = {}
    for k, v in sorted(vars(m).items()):
        if k == "engine":
            out[k] = (repr(v.M), repr(v.regs), v.j, repr(v.buf))
        elif isinstance(v, (np.ndarray, list, float, int, bool, dict)):
            out[k] = repr(v)
    return out


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_batch_names_argument_sample_and_index(name, bad):
    m = METHODS[name]()
    m.batch(*_batch(seed=1))                          # a warm state to protect
    before = _state(m)
    xs, ds = _batch()
    xs[3, 17] = bad
    with pytest.raises(ValueError, match=rf"^x of sample 3 must be finite, found {bad} at index 17$"):
        m.batch(xs, ds)
    assert _state(m) == before
    xs, ds = _batch()
    ds[4, 2] = bad
    with pytest.raises(ValueError, match=rf"^delta of sample 4 must be finite, found {bad} at index 2$"):
        m.batch(xs, ds)
    assert _state(m) == before


@pytest.mark.parametrize("name", METHODS)
def test_streamed_sample_names_its_index_in_the_batch(name):
    m = METHODS[name]()
    xs, ds = _batch()
    for x, d in zip(xs[:3], ds[:3]):
        m.sample(x, d)
    before = _state(m)
    d = ds[3].copy()
    d[5] = np.nan
    with pytest.raises(ValueError, match=r"^delta of sample 3 must be finite, found nan at index 5$"):
        m.sample(xs[3], d)
    assert _state(m) == before
    m.sample(xs[3], ds[3])                            # the batch goes on after the rejected sample
    assert np.all(np.isfinite(update_matrix(m.end_batch(), A, B)))
    x = xs[0].copy()
    x[0] = np.inf
    with pytest.raises(ValueError, match=r"^x of sample 0 must be finite, found inf at index 0$"):
        m.sample(x, ds[0])                            # first sample of a new batch: no batch opened
    assert m.end_batch() == []


@pytest.mark.parametrize("name", ["sbe_oja", "sbe_fixed"])
def test_batch_continuing_a_streamed_batch_counts_its_samples(name):
    """The base-class batch() appends to an open streamed batch: sample numbers continue from it."""
    m = METHODS[name]()
    xs, ds = _batch()
    m.sample(xs[0], ds[0])
    m.sample(xs[1], ds[1])
    xs[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"^x of sample 3 must be finite, found nan at index 4$"):
        m.batch(xs, ds)


@pytest.mark.parametrize("name", METHODS)
def test_a_zero_batch_is_valid_input(name):
    """Zeros are finite: the checks leave the defined zero-batch behaviour (no term, or a zero s)."""
    m = METHODS[name]()
    terms = m.batch(np.zeros((5, B)), np.zeros((5, A)))
    U = update_matrix(terms, A, B)
    assert np.all(np.isfinite(U)) and np.all(U == 0)


def test_the_first_bad_sample_is_reported_as_streaming_would():
    xs, ds = _batch()
    xs[4, 1], ds[2, 3] = np.nan, np.inf
    for m in (SBE(A, B), SBEOja(A, B)):           # a whole-batch override and the streaming base class
        with pytest.raises(ValueError, match=r"^delta of sample 2 must be finite, found inf at index 3$"):
            m.batch(xs, ds)


def test_sbe_batch_with_nan_no_longer_returns_a_nan_direction():
    xs, ds = _batch(32)
    xs[7, 0] = np.nan
    with pytest.raises(ValueError, match="x of sample 7 must be finite, found nan at index 0"):
        SBE(A, B).batch(xs, ds)


# -- quantisers and the engine twin ---------------------------------------------------------------------
@pytest.mark.parametrize("block_exponent", [True, False])
def test_quantise_sample_names_x_or_delta_and_the_sample(block_exponent):
    cfg = EngineConfig(a=A, b=B)
    x, d = _batch(1)
    x, d = x[0], d[0]
    x[9] = np.nan
    with pytest.raises(ValueError, match=r"^x of sample 2 must be finite, found nan at index 9$"):
        quantise_sample(cfg, x, d, block_exponent=block_exponent, sample=2)
    x[9], d[1] = 0.5, -np.inf
    with pytest.raises(ValueError, match=r"^delta must be finite, found -inf at index 1$"):
        quantise_sample(cfg, x, d, block_exponent=block_exponent)
    with pytest.raises(ValueError, match=r"^delta must be finite"):
        SBEFixed(A, B, block_exponent=block_exponent).quantise(x, d)


def test_engine_sample_names_a_non_finite_word():
    eng = SBEFixedEngine(a=2, b=3)
    eng.sample([1, 2, 3], [4, 5])
    with pytest.raises(ValueError, match=r"^delta of sample 1 must be finite integers, found nan at index 1$"):
        eng.sample([1, 2, 3], [4, float("nan")])
    assert eng.j == 1                                 # the rejected sample changed nothing
    eng.sample([1, 2, 3], [4, 5])
    assert eng.end_batch()["s_mant"] != 0


# -- the trainer ------------------------------------------------------------------------------------------
def test_training_reports_a_non_finite_batch_as_divergence():
    """A network whose activations overflow gives non-finite deltas: the methods reject those, so the
    trainer ends the run as diverged (and records the epoch) instead of raising."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 5))
    y = rng.integers(0, 3, 40)
    data = Dataset("tiny", x, y, x[:8], y[:8], n_classes=3)
    for method in ("sbe", "mbgd", "sgd"):
        net = MLP((5, 4, 3), seed=0)
        net.W[0][:, 0] = np.inf
        seen = []
        _, h = train(data, net=net, method=method, lr=0.1, batch_size=8, epochs=3, on_batch=seen.append)
        assert h.diverged and h.epoch == [0, 1] and seen == []


# -- the array's reads (DAC quantiser) and writes -----------------------------------------------------------
def test_crossbar_rejects_non_finite_reads_and_writes():
    xb = Crossbar(3, 4, device=Noiseless())
    w0 = xb.weights.copy()
    with pytest.raises(ValueError, match=r"^x must be finite, found nan at index 2$"):
        xb.forward([0.0, 0.5, np.nan, 0.0])
    X = np.zeros((3, 4))
    X[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"^x of sample 1 must be finite, found inf at index 2$"):
        xb.forward(X)
    with pytest.raises(ValueError, match=r"^delta of sample 2 must be finite, found -inf at index 0$"):
        xb.backward(np.array([[0.0, 1, 2], [1, 1, 1], [-np.inf, 0, 0]]))
    W = np.zeros((3, 4))
    W[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"^W must be finite, found nan at index \(2, 1\)$"):
        xb.program(W)
    ideal = Crossbar(3, 4, device=Ideal())
    with pytest.raises(ValueError, match=r"^delta_w must be finite, found nan at index \(2, 1\)$"):
        ideal.apply_ideal(W)
    assert np.array_equal(xb.weights, w0) and np.all(ideal.weights == 0)
