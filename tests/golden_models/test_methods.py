"""Float update methods against numpy.linalg and each other (tolerances stated per test)."""
import numpy as np
import pytest

from golden.training.data import PlantedStream
from golden.methods.mbgd import MBGD, DenseTerm
from golden.methods.sbe import SBE
from golden.methods.sbe_oja import SBEOja
from golden.methods.sbpca import SBPCA
from golden.methods.sgd import SGD
from golden.methods.svd_oracle import SVDOracle
from golden.methods.update_method import update_matrix


def _eps(v, w):
    """1 - |cos(v, w)|: the paper's vector error."""
    return 1.0 - abs(v @ w) / (np.linalg.norm(v) * np.linalg.norm(w))


def _top(xs, ds):
    U, S, Vt = np.linalg.svd(ds.T @ xs / len(xs))
    return U, S, Vt


# -- SBE rank 1 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sbe_planted_rank1_one_batch(seed):
    st = PlantedStream(10, 50, (1.0,), noise=0.5, seed=seed)
    xs, ds = st.batch(1024)
    (t,) = SBE(10, 50, seed=seed + 10).batch(xs, ds)
    U, S, Vt = _top(xs, ds)
    assert _eps(t.u, U[:, 0]) < 1e-3
    assert _eps(t.v, Vt[0]) < 1e-3
    assert 0.8 <= t.scale / S[0] <= 1.25


def _sbe_reference(X, D, s, xs, ds, post_update=True):
    """Section 2 of docs/sbe-algorithm.md transcribed independently; post_update=False projects on the vectors
    from before the sample instead (the ordering the spec rules out), to show the test can tell."""
    for j, (x, d) in enumerate(zip(xs, ds), start=1):
        al, be = j / (j + 1), 1 / (j + 1)
        X0, D0 = X, D
        X = al * X + be * (d @ D / np.linalg.norm(D)) * x
        p_x = x @ (X if post_update else X0) / np.linalg.norm(X if post_update else X0)
        D = al * D + be * p_x * d
        q_d = d @ (D if post_update else D0) / np.linalg.norm(D if post_update else D0)
        s = al * s + be * p_x * q_d
    return X, D, s


def test_sbe_follows_the_specified_ordering_with_warm_start():
    st = PlantedStream(7, 13, (1.0,), noise=0.5, seed=9)
    m = SBE(7, 13, seed=4)
    X, D, s = m.X.copy(), m.D.copy(), 0.0
    Xw, Dw, sw = X.copy(), D.copy(), 0.0
    for n in (1, 5, 64, 3):
        xs, ds = st.batch(n)
        (t,) = m.batch(xs, ds)
        X, D, s = _sbe_reference(X, D, s, xs, ds)
        Xw, Dw, sw = _sbe_reference(Xw, Dw, sw, xs, ds, post_update=False)
        assert t.scale == pytest.approx(s, rel=1e-12, abs=1e-15)
        assert np.allclose(t.u, D / np.linalg.norm(D), rtol=0, atol=1e-12)
        assert np.allclose(t.v, X / np.linalg.norm(X), rtol=0, atol=1e-12)
    assert abs(sw - s) > 1e-3 * abs(s)          # the wrong ordering is distinguishable


def test_sbe_streaming_equals_batch_call():
    st = PlantedStream(6, 9, (1.0,), noise=0.3, seed=4)
    xs, ds = st.batch(40)
    a, b = SBE(6, 9, seed=1), SBE(6, 9, seed=1)
    ta = a.batch(xs, ds)[0]
    for x, d in zip(xs, ds):
        b.sample(x, d)
    tb = b.end_batch()[0]
    assert ta.scale == tb.scale and np.array_equal(ta.u, tb.u) and np.array_equal(ta.v, tb.v)


def test_sbe_sign_always_matches_top_svd_term_warm_started():
    # 300 warm-started batches of 128; the planted gradient flips sign at random between batches, so a
    # stale warm start points the wrong way and s (signed) or the vectors must follow. Every batch's
    # s*Dhat*Xhat^T must project positively on sigma_1 u_1 v_1^T of that batch.
    st = PlantedStream(10, 50, (1.0,), noise=0.5, seed=7)
    flips = np.random.default_rng(8).choice([-1.0, 1.0], size=300)
    m = SBE(10, 50, seed=3)
    corrected, prev = 0, None
    for f in flips:
        xs, ds = st.batch(128)
        ds = f * ds
        (t,) = m.batch(xs, ds)
        U, S, Vt = _top(xs, ds)
        top = S[0] * np.outer(U[:, 0], Vt[0])
        assert np.sum(t.matrix() * top) > 0
        corrected += prev is not None and np.sum(prev * top) < 0   # the warm start pointed the wrong way
        prev = t.matrix()
    assert corrected > 100, "the test must exercise sign corrections of the warm start"


def test_sbe_zero_batch():
    m = SBE(4, 5, seed=0)
    terms = m.batch(np.zeros((8, 5)), np.zeros((8, 4)))
    assert np.all(update_matrix(terms, 4, 5) == 0)
    st = PlantedStream(4, 5, (1.0,), noise=0.1, seed=0)
    m.batch(*st.batch(16))
    s_prev = m.s
    (t,) = m.batch(np.ones((7, 5)), np.zeros((7, 4)))   # zero deltas: the warm start decays as 1/(n+1)
    assert np.isfinite(t.scale) and np.all(np.isfinite(t.u)) and np.all(np.isfinite(t.v))
    assert t.scale == pytest.approx(s_prev / 8, rel=1e-12)
    assert m.end_batch() == []   # no open batch: nothing to write


# -- Oja form --------------------------------------------------------------------------------------
def test_oja_converges_and_norms_stay_bounded():
    # xi = 2^-9 on the planted stream: after 8 batches of 1024, eps < 1e-2 for both vectors, s within
    # [0.8, 1.25] of sigma_1, and ||X||, ||D|| within 2 % of 1 at every sample of the run.
    st = PlantedStream(10, 50, (1.0,), noise=0.5, seed=1)
    m = SBEOja(10, 50, xi=2.0 ** -9, seed=1)
    worst = 0.0
    for _ in range(8):
        xs, ds = st.batch(1024)
        for x, d in zip(xs, ds):
            m.sample(x, d)
            worst = max(worst, *(abs(n - 1) for n in m.norms()))
        (t,) = m.end_batch()
    U, S, Vt = _top(xs, ds)
    assert worst < 0.02
    assert _eps(t.u, U[:, 0]) < 1e-2 and _eps(t.v, Vt[0]) < 1e-2
    assert 0.8 <= t.scale / S[0] <= 1.25


def test_oja_rejects_bad_xi():
    with pytest.raises(ValueError, match="xi must be"):
        SBEOja(3, 3, xi=1.5)


# -- rank k ----------------------------------------------------------------------------------------
def test_sbpca_orthonormal_and_planted_rank3_subspace():
    # Planted sigma (3, 2, 1), noise 0.5, batches of 1024, m = 32. Bound: from the 2nd batch on, the
    # largest principal angle between span(X) (span(D)) and the top-3 right (left) singular subspace of
    # the batch gradient is < 5 degrees (cosines = singular values of Q1^T Q2); sigma within 10 %.
    # (Typical: < 1 degree for the top two, up to ~2.5 degrees for the third, sigma_3/noise gap ~ 12.)
    st = PlantedStream(20, 60, (3.0, 2.0, 1.0), noise=0.5, seed=2)
    m = SBPCA(20, 60, k=3, m=32, seed=1)
    cos_bound = np.cos(np.radians(5.0))
    for i in range(5):
        xs, ds = st.batch(1000)        # 1000 = 31 full sub-batches + a short one of 8
        terms = m.batch(xs, ds)
        X = np.array([t.v for t in terms]).T
        D = np.array([t.u for t in terms]).T
        assert np.abs(X.T @ X - np.eye(3)).max() < 1e-10
        assert np.abs(D.T @ D - np.eye(3)).max() < 1e-10
        if i == 0:
            continue
        U, S, Vt = _top(xs, ds)
        assert np.linalg.svd(X.T @ Vt[:3].T, compute_uv=False).min() > cos_bound
        assert np.linalg.svd(D.T @ U[:, :3], compute_uv=False).min() > cos_bound
        assert np.allclose([t.scale for t in terms], S[:3], rtol=0.1)


def test_sbpca_streaming_equals_batch_call_and_zero_batch():
    st = PlantedStream(5, 7, (1.0, 0.5), noise=0.2, seed=3)
    xs, ds = st.batch(45)
    a, b = SBPCA(5, 7, k=2, m=8, seed=0), SBPCA(5, 7, k=2, m=8, seed=0)
    ta = a.batch(xs, ds)
    for x, d in zip(xs, ds):
        b.sample(x, d)
    tb = b.end_batch()
    assert np.allclose(update_matrix(ta, 5, 7), update_matrix(tb, 5, 7), rtol=0, atol=1e-14)
    fresh = SBPCA(5, 7, k=2, m=8, seed=0)
    terms = fresh.batch(np.zeros((20, 7)), np.zeros((20, 5)))
    assert np.all(update_matrix(terms, 5, 7) == 0)
    assert np.all(np.isfinite(fresh.X)) and np.abs(fresh.X.T @ fresh.X - np.eye(2)).max() < 1e-10


# -- oracle, MBGD, SGD -----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [3, 40])           # n < min(a, b) takes the QR-core path
def test_svd_oracle_matches_numpy(n):
    rng = np.random.default_rng(n)
    xs, ds = rng.standard_normal((n, 12)), rng.standard_normal((n, 8))
    G = ds.T @ xs / n
    U, S, Vt = np.linalg.svd(G)
    terms = SVDOracle(8, 12, k=3).batch(xs, ds)
    assert np.allclose([t.scale for t in terms], S[:3], rtol=1e-12, atol=0)
    ref = (U[:, :3] * S[:3]) @ Vt[:3]
    assert np.abs(update_matrix(terms, 8, 12) - ref).max() < 1e-12 * S[0]
    for t in terms:
        assert abs(np.linalg.norm(t.u) - 1) < 1e-12 and abs(np.linalg.norm(t.v) - 1) < 1e-12
    assert SVDOracle(8, 12, k=3).batch(np.zeros((n, 12)), ds) == []   # zero gradient: skipped


def test_mbgd_is_mean_of_outer_products():
    rng = np.random.default_rng(0)
    # Small integers and n a power of two: every float64 operation is exact, so equality is exact.
    xs = rng.integers(-8, 9, (64, 7)).astype(float)
    ds = rng.integers(-8, 9, (64, 5)).astype(float)
    ref = sum(np.outer(d, x) for x, d in zip(xs, ds)) / 64
    assert np.array_equal(update_matrix(MBGD(5, 7).batch(xs, ds), 5, 7), ref)
    streamed = MBGD(5, 7)
    for x, d in zip(xs, ds):
        streamed.sample(x, d)
    assert np.array_equal(update_matrix(streamed.end_batch(), 5, 7), ref)
    # Real-valued data: equal to 1e-13 relative; the SVD form equals the dense one to 1e-12.
    xs, ds = rng.standard_normal((33, 7)), rng.standard_normal((33, 5))
    ref = np.mean([np.outer(d, x) for x, d in zip(xs, ds)], axis=0)
    assert np.allclose(update_matrix(MBGD(5, 7).batch(xs, ds), 5, 7), ref, rtol=1e-13, atol=1e-15)
    svd_terms = MBGD(5, 7, terms="svd").batch(xs, ds)
    assert len(svd_terms) == 5 and not any(isinstance(t, DenseTerm) for t in svd_terms)
    assert np.allclose(update_matrix(svd_terms, 5, 7), ref, rtol=0, atol=1e-12)
    assert MBGD(5, 7).batch(xs, np.zeros_like(ds)) == [] and MBGD(5, 7).matrix_updates_per_batch(33) == 1


def test_sgd_counts_and_sum_of_writes():
    rng = np.random.default_rng(1)
    xs, ds = rng.standard_normal((9, 6)), rng.standard_normal((9, 4))
    ds[3] = 0.0                                   # a zero delta writes nothing
    m = SGD(4, 6)
    terms = m.batch(xs, ds)
    assert len(terms) == 8 and m.matrix_updates_per_batch(9) == 9 and m.per_sample
    ref = sum(np.outer(d, x) for x, d in zip(xs, ds))
    assert np.allclose(update_matrix(terms, 4, 6), ref, rtol=1e-13, atol=1e-14)
    for x, d in zip(xs, ds):
        m.sample(x, d)
    assert np.allclose(update_matrix(m.end_batch(), 4, 6), ref, rtol=1e-13, atol=1e-14)


def test_rank1_methods_agree_on_a_clean_batch():
    # Noise-free rank-1 stream (G exactly rank 1): on the 2nd warm-started batch of 512 SBE and
    # SBPCA(k=1, m=32) equal MBGD to 1e-3 / 2e-2 relative (max-abs), the oracle to 1e-12. What remains is
    # the warm start: the previous batch's sigma weighted 1/(n+1) for SBE, 1/(n/m+1) = 1/17 for SBPCA.
    st = PlantedStream(6, 11, (2.0,), noise=0.0, seed=5)
    methods = {SVDOracle(6, 11): 1e-12, SBE(6, 11, seed=2): 1e-3, SBPCA(6, 11, k=1, m=32, seed=2): 2e-2}
    for _ in range(2):
        xs, ds = st.batch(512)
        ref = update_matrix(MBGD(6, 11).batch(xs, ds), 6, 11)
        got = {m: update_matrix(m.batch(xs, ds), 6, 11) for m in methods}
    for m, tol in methods.items():
        assert np.abs(got[m] - ref).max() < tol * np.abs(ref).max(), type(m).__name__


def test_constructor_validation():
    with pytest.raises(ValueError, match="k must be"):
        SVDOracle(3, 4, k=4)
    with pytest.raises(ValueError, match="m must be"):
        SBPCA(3, 4, k=1, m=0)
    with pytest.raises(ValueError, match="terms must be"):
        MBGD(3, 4, terms="sparse")
    with pytest.raises(ValueError, match="expected xs"):
        MBGD(3, 4).batch(np.zeros((2, 3)), np.zeros((2, 3)))


@pytest.mark.parametrize("make", [lambda: SBE(4, 5), lambda: SBEOja(4, 5), lambda: SBPCA(4, 5, k=2, m=3),
                                  lambda: SVDOracle(4, 5, k=2), lambda: MBGD(4, 5), lambda: SGD(4, 5)])
def test_zero_deltas_give_a_zero_update_from_reset(make):
    # Defined degenerate behaviour: an all-zero delta batch (and an empty one) writes nothing, no NaN,
    # both through batch() and through sample()/end_batch().
    m = make()
    xs = np.random.default_rng(0).standard_normal((7, 5))
    for terms in (m.batch(xs, np.zeros((7, 4))), m.batch(np.zeros((0, 5)), np.zeros((0, 4)))):
        U = update_matrix(terms, 4, 5)
        assert np.all(np.isfinite(U)) and np.all(U == 0)
    for x in xs:
        m.sample(x, np.zeros(4))
    assert np.all(update_matrix(m.end_batch(), 4, 5) == 0)
