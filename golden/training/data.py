"""Data sets for the float experiments: bundled digits, MNIST from IDX files, planted low-rank streams.

All images are flattened to float64 rows scaled to [0, 1]; labels are int64 class indices 0..9.

- `load_digits`: scikit-learn's bundled 8x8 digits (1797 images, offline), pixels / 16, seeded
  stratified split (default 20 % test: 1437 train / 360 test).
- `load_mnist`: MNIST from a directory of IDX files (raw or .gz). With only the 10k test set present
  (../shared/data/mnist-t10k) the 10,000 images are split by a seeded permutation into 8,000 train and
  2,000 test images (`n_train=8000`); if train-images/train-labels files are present too, they are the
  training set and t10k the test set (the paper's 60k/10k).
- `read_idx`: a real IDX parser (magic 0x0000, type code, dims, big-endian sizes) that raises ValueError
  on a bad magic, an unsupported type, or a payload shorter or longer than the header says.
- `PlantedStream`: (x, delta) pairs with a planted rank-r batch-mean gradient (see its docstring).
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass

import numpy as np

#: Where the project keeps the real MNIST test set (10,000 images): ../shared/data/mnist-t10k next to the
#: repository, or the directory named by the environment variable SBE_MNIST_DIR.
MNIST_T10K_DIR = os.environ.get("SBE_MNIST_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist-t10k"))

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass(frozen=True)
class Dataset:
    """Train/test arrays: x (n, features) float64 in [0, 1], y (n,) int64 in [0, n_classes)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 10

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


# -- IDX -------------------------------------------------------------------------------------------
def parse_idx(raw: bytes, what: str = "IDX data") -> np.ndarray:
    """Decode the bytes of one IDX file (already decompressed)."""
    if len(raw) < 4:
        raise ValueError(f"{what}: truncated header ({len(raw)} bytes, need at least 4)")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise ValueError(f"{what}: bad magic {raw[:4].hex()} (IDX files start with two zero bytes)")
    if type_code not in _IDX_TYPES:
        raise ValueError(f"{what}: unsupported IDX type code 0x{type_code:02x}")
    if ndim == 0:
        raise ValueError(f"{what}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{what}: truncated header ({len(raw)} bytes, need {header} for {ndim} dims)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_TYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise ValueError(f"{what}: truncated payload: header dims {dims} need {expected} bytes, file has {got}")
    if got > expected:
        raise ValueError(f"{what}: {got - expected} trailing bytes after the {expected} declared by dims {dims}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file, gzip-compressed (detected by its magic bytes 1f 8b) or raw."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({e})") from None
    return parse_idx(raw, what=str(path))


def read_idx_pair(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, rows*cols) float64 in [0, 1] and labels (n,) int64, with the pair checked for consistency."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected a 3-D ubyte image file (magic 0x00000803), "
                         f"got {images.ndim}-D {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{labels_path}: expected a 1-D ubyte label file (magic 0x00000801), "
                         f"got {labels.ndim}-D {labels.dtype}")
    if len(images) != len(labels):
        raise ValueError(f"image/label count mismatch: {images_path} has {len(images)} images, "
                         f"{labels_path} has {len(labels)} labels")
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{labels_path}: label {int(labels.max())} out of range 0..9")
    return images.reshape(len(images), -1).astype(np.float64) / 255.0, labels.astype(np.int64)


def _find(directory: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    return None


def load_mnist(directory: str = MNIST_T10K_DIR, *, n_train: int = 8000, seed: int = 0) -> Dataset:
    """MNIST from IDX files in `directory` (see the module docstring for the split)."""
    test_img, test_lab = _find(directory, "t10k-images-idx3-ubyte"), _find(directory, "t10k-labels-idx1-ubyte")
    if test_img is None or test_lab is None:
        raise FileNotFoundError(f"no t10k-images-idx3-ubyte[.gz] / t10k-labels-idx1-ubyte[.gz] in {directory}")
    xt, yt = read_idx_pair(test_img, test_lab)
    tr_img, tr_lab = _find(directory, "train-images-idx3-ubyte"), _find(directory, "train-labels-idx1-ubyte")
    if tr_img and tr_lab:
        xr, yr = read_idx_pair(tr_img, tr_lab)
        return Dataset("mnist", xr, yr, xt, yt)
    if not 0 < n_train < len(xt):
        raise ValueError(f"n_train must be in (0, {len(xt)}), not {n_train!r}")
    perm = np.random.default_rng(seed).permutation(len(xt))
    tr, te = perm[:n_train], perm[n_train:]
    return Dataset("mnist", xt[tr], yt[tr], xt[te], yt[te])


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits, pixels / 16, seeded stratified split."""
    from sklearn.datasets import load_digits as _ld
    from sklearn.model_selection import train_test_split

    d = _ld()
    x = d.data.astype(np.float64) / 16.0
    y = d.target.astype(np.int64)
    xr, xt, yr, yt = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Dataset("digits", xr, yr, xt, yt)


def load_dataset(name: str, **kw) -> Dataset:
    """'digits' or 'mnist' by name."""
    if name == "digits":
        return load_digits(**kw)
    if name == "mnist":
        return load_mnist(**kw)
    raise ValueError(f"dataset must be 'digits' or 'mnist', not {name!r}")


# -- planted low-rank gradient ---------------------------------------------------------------------
class PlantedStream:
    """(x, delta) pairs whose batch-mean gradient is U diag(sigma) V^T plus noise.

    With U (a x r), V (b x r) seeded random orthonormal columns and per sample z ~ N(0, I_r):

        x     = V z + noise * n_x,            n_x ~ N(0, I_b)
        delta = U diag(sigma) z + noise * n_d, n_d ~ N(0, I_a)

    E[delta x^T] = U diag(sigma) V^T exactly (the noises are independent of z and of each other), so the
    batch-mean gradient of n samples is the planted matrix plus an O(1/sqrt(n)) deviation. Tests compare
    against the SVD of the ACTUAL batch-mean gradient; the planted factors are there for subspace checks.

    Parameters
    ----------
    a, b : int
        Gradient shape (delta length, x length).
    sigma : sequence of float
        Planted singular values (decreasing, positive); r = len(sigma).
    noise : float
        Standard deviation of the additive noise on every element of x and delta.
    seed : int
    """

    def __init__(self, a: int, b: int, sigma=(1.0,), *, noise: float = 0.5, seed: int = 0):
        sigma = np.asarray(sigma, dtype=np.float64)
        if sigma.ndim != 1 or len(sigma) < 1 or len(sigma) > min(a, b) or np.any(sigma <= 0):
            raise ValueError(f"sigma must be 1..min(a, b) positive values, not {sigma!r}")
        if noise < 0:
            raise ValueError(f"noise must be >= 0, not {noise!r}")
        self.a, self.b, self.sigma, self.noise = a, b, sigma, float(noise)
        self.rng = np.random.default_rng(seed)
        r = len(sigma)
        self.U = np.linalg.qr(self.rng.standard_normal((a, r)))[0]
        self.V = np.linalg.qr(self.rng.standard_normal((b, r)))[0]

    @property
    def planted(self) -> np.ndarray:
        return (self.U * self.sigma) @ self.V.T

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n samples as (xs (n, b), deltas (n, a))."""
        z = self.rng.standard_normal((n, len(self.sigma)))
        xs = z @ self.V.T + self.noise * self.rng.standard_normal((n, self.b))
        deltas = (z * self.sigma) @ self.U.T + self.noise * self.rng.standard_normal((n, self.a))
        return xs, deltas

    def __iter__(self):
        while True:
            xs, ds = self.batch(1)
            yield xs[0], ds[0]
