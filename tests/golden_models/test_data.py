"""Data loaders: the IDX parser on tiny hand-built files, digits, MNIST t10k, planted streams."""
import gzip
import os
import struct

import numpy as np
import pytest

from golden.training.data import (MNIST_T10K_DIR, PlantedStream, load_dataset, load_digits, load_mnist,
                         read_idx, read_idx_pair)


def _idx(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file built by hand from the format description (not by the code under test)."""
    return struct.pack(">HBB", 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def _write(path, raw: bytes, gz=False):
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return str(path)


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 3, 2), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 7], dtype=np.uint8)
    return tmp_path, images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tiny, gz):
    tmp, images, labels = tiny
    ip = _write(tmp / "img", _idx(images), gz)
    lp = _write(tmp / "lab", _idx(labels), gz)
    assert np.array_equal(read_idx(ip), images)
    x, y = read_idx_pair(ip, lp)
    assert x.shape == (5, 6) and np.allclose(x * 255, images.reshape(5, 6)) and list(y) == [0, 9, 3, 3, 7]
    ints = (np.arange(6) - 3).astype(">i4").reshape(2, 3)     # big-endian, as IDX stores it
    assert np.array_equal(read_idx(_write(tmp / "i4", _idx(ints, 0x0C))), ints)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_rejects_truncated_and_trailing(tiny, gz):
    tmp, images, _ = tiny
    raw = _idx(images)
    with pytest.raises(ValueError, match="truncated payload"):
        read_idx(_write(tmp / "t", raw[:-1], gz))
    with pytest.raises(ValueError, match="truncated header"):
        read_idx(_write(tmp / "h", raw[:9], gz))
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(_write(tmp / "x", raw + b"\0", gz))


def test_idx_rejects_bad_magic_type_and_truncated_gzip(tiny):
    tmp, images, _ = tiny
    raw = _idx(images)
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(_write(tmp / "m", b"\1" + raw[1:]))
    with pytest.raises(ValueError, match="unsupported IDX type"):
        read_idx(_write(tmp / "ty", raw[:2] + b"\x07" + raw[3:]))
    with pytest.raises(ValueError, match="gzip"):
        read_idx(_write(tmp / "g", gzip.compress(raw)[:-12]))


def test_idx_pair_rejects_mislabelled_files(tiny):
    tmp, images, labels = tiny
    ip, lp = _write(tmp / "img", _idx(images)), _write(tmp / "lab", _idx(labels))
    with pytest.raises(ValueError, match="count mismatch"):
        read_idx_pair(ip, _write(tmp / "short", _idx(labels[:4])))
    with pytest.raises(ValueError, match="label file"):
        read_idx_pair(ip, ip)                                     # images given as labels
    with pytest.raises(ValueError, match="image file"):
        read_idx_pair(lp, lp)                                     # labels given as images
    with pytest.raises(ValueError, match="out of range"):
        read_idx_pair(ip, _write(tmp / "bad", _idx(np.array([0, 1, 12, 3, 4], dtype=np.uint8))))


def test_load_mnist_from_directory_split(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (20, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 20).astype(np.uint8)
    _write(tmp_path / "t10k-images-idx3-ubyte.gz", _idx(images), gz=True)
    _write(tmp_path / "t10k-labels-idx1-ubyte", _idx(labels))
    d = load_mnist(str(tmp_path), n_train=15)
    assert d.x_train.shape == (15, 16) and d.x_test.shape == (5, 16)
    # the split is a permutation: every image appears exactly once
    allx = np.vstack([d.x_train, d.x_test]) * 255
    assert sorted(map(bytes, allx.astype(np.uint8))) == sorted(map(bytes, images.reshape(20, 16)))
    with pytest.raises(FileNotFoundError):
        load_mnist(str(tmp_path / "nowhere"))


@pytest.mark.skipif(not os.path.isdir(MNIST_T10K_DIR), reason="shared MNIST t10k not present")
def test_real_mnist_t10k():
    d = load_mnist()
    assert d.x_train.shape == (8000, 784) and d.x_test.shape == (2000, 784)
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert set(np.unique(d.y_train)) == set(range(10)) and np.bincount(d.y_train).min() > 600


def test_digits():
    d = load_digits()
    assert d.x_train.shape == (1437, 64) and d.x_test.shape == (360, 64)
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert np.array_equal(load_digits().x_train, d.x_train)                  # seeded split
    assert not np.array_equal(load_digits(seed=1).x_train, d.x_train)
    assert load_dataset("digits").name == "digits"
    with pytest.raises(ValueError, match="dataset must be"):
        load_dataset("cifar")


def test_planted_stream_mean_gradient():
    st = PlantedStream(8, 20, (2.0, 1.0), noise=0.5, seed=3)
    assert np.allclose(st.U.T @ st.U, np.eye(2)) and np.allclose(st.V.T @ st.V, np.eye(2))
    xs, ds = st.batch(40000)
    G = ds.T @ xs / len(xs)
    # each entry of G deviates from the plant by O(sqrt(E[d^2] E[x^2] / n)) < 0.03 here; allow 0.05
    assert np.abs(G - st.planted).max() < 0.05
    S = np.linalg.svd(G, compute_uv=False)
    assert abs(S[0] - 2.0) < 0.05 and abs(S[1] - 1.0) < 0.05 and S[2] < 0.1
    with pytest.raises(ValueError, match="sigma must be"):
        PlantedStream(3, 3, (1.0, -1.0))
