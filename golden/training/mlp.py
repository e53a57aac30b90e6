"""NumPy MLP trainer whose per-layer weight updates come from an `UpdateMethod` (SBE, baselines, or an
external engine such as the fixed-point model or the RTL through `method_factory`).

Network: `sizes = (n_in, h_1, ..., n_classes)`, hidden activation ReLU or sigmoid, softmax output,
mean cross-entropy loss.

Every convention the paper leaves open is fixed HERE, once:

- Initialisation (one seeded draw shared by all methods): layer l weights ~ N(0, g / fan_in) with
  g = 2 for ReLU (He) and g = 1 for sigmoid (LeCun), drawn in layer order from
  numpy.random.default_rng(seed); biases start at 0.
- Biases (`bias="fold"`, default): folded in as a constant-1 input column, as a crossbar does with an
  extra always-driven input line. Layer l is then an a x (b+1) array, W[:, -1] is the bias, the method
  sees x = [activation, 1] (length b+1) and updates weights and bias in the same outer product.
  `bias="mean"` keeps the bias separate (a x b array) and updates it with the exact batch-mean delta
  (a digital side path); SGD then also steps it per sample.
- delta of the output layer for sample j: softmax(z_j) - onehot(y_j) (NOT divided by n: the methods
  return the batch-MEAN gradient); hidden layers: (W_{l+1}[:, :b]^T delta_{l+1}) * f'(z_l).
- Update: W_l <- W_l - lr * sum(terms) with terms = method_l.batch(xs_l, deltas_l); all layers see
  deltas computed with the weights from before the batch (standard back-propagation).
- Batches: the shuffle of golden/training/loop.py (a seeded permutation per epoch from
  default_rng(seed + 1); the last batch of an epoch may be short: ceil(n / batch) batches).
- SGD (`per_sample = True` on the method): forward, backward and write per sample whatever batch size
  is asked for.
- Matrix updates per layer: sum over batches of method.matrix_updates_per_batch(n_batch), i.e.
  n_train per epoch for SGD and ceil(n_train / batch) per epoch for the batch methods.
- Learning rates: `DEFAULT_LR` below (hand-tuned on digits, 64-32-10 ReLU, batch 32, SGD at batch 1);
  experiments/lr_tuning.py does the paper's per-(method, batch) tuning.
- A run stops early when the training loss is not finite or exceeds `DIVERGED_LOSS`, or when a batch's
  activations or deltas are not finite (the update methods reject such samples); it is marked diverged.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from golden.methods.mbgd import MBGD
from golden.methods.sbe import SBE
from golden.methods.sbe_oja import SBEOja
from golden.methods.sbpca import SBPCA
from golden.methods.sgd import SGD
from golden.methods.svd_oracle import SVDOracle
from golden.methods.update_method import RankOneTerm, UpdateMethod
from golden.training.loop import run_epochs

#: Learning rates used when none is given: digits, 64-32-10 ReLU, batch 32 (SGD: per sample).
DEFAULT_LR = {"sgd": 0.05, "mbgd": 0.5, "sbe": 0.5, "svd": 0.5, "sbe_oja": 2.0, "sbpca": 0.5}

#: A training loss above this (or not finite) ends the run as diverged (chance level is ln 10 = 2.3).
DIVERGED_LOSS = 20.0

#: Names accepted by `method_factory_for`.
METHODS = ("sgd", "mbgd", "svd", "sbe", "sbe_oja", "sbpca")

MethodFactory = Callable[[int, int, int], UpdateMethod]


def method_factory_for(name: str, *, seed: int = 0, **kw) -> MethodFactory:
    """factory(layer_index, a, b) -> a fresh method instance for one layer (warm state per layer).

    Seeded methods (SBE and variants) get seed + 1000 * layer_index. Extra keywords go to the class
    (e.g. k=3 for 'svd' or 'sbpca', xi for 'sbe_oja')."""
    if name not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {name!r}")

    def factory(layer: int, a: int, b: int) -> UpdateMethod:
        s = seed + 1000 * layer
        if name == "sgd":
            return SGD(a, b)
        if name == "mbgd":
            return MBGD(a, b, **kw)
        if name == "svd":
            return SVDOracle(a, b, **kw)
        if name == "sbe":
            return SBE(a, b, seed=s, **kw)
        if name == "sbe_oja":
            return SBEOja(a, b, seed=s, **kw)
        return SBPCA(a, b, seed=s, **kw)

    return factory


@dataclass(frozen=True)
class BatchRecord:
    """What `on_batch` receives for each layer and batch, before the write: the layer's inputs xs
    (n, b[+1]) and deltas (n, a) of the batch, and the terms its method returned."""

    epoch: int
    batch: int
    layer: int
    xs: np.ndarray
    deltas: np.ndarray
    terms: list


@dataclass
class History:
    """Per-epoch metrics; index 0 is the initial network (epoch 0, 0 updates)."""

    method: str
    batch_size: int
    lr: float
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    matrix_updates: list = field(default_factory=list)   # cumulative, per layer
    seconds: list = field(default_factory=list)
    diverged: bool = False

    def add(self, epoch: int, train: tuple, test: tuple, matrix_updates: int, seconds: float | None = None) -> None:
        """Append one epoch: train and test are (loss, accuracy) as MLP.evaluate returns them."""
        self.epoch.append(epoch)
        self.train_loss.append(float(train[0])); self.train_acc.append(float(train[1]))
        self.test_loss.append(float(test[0])); self.test_acc.append(float(test[1]))
        self.matrix_updates.append(int(matrix_updates))
        if seconds is not None:
            self.seconds.append(seconds)

    def first_reaching(self, loss: float) -> int | None:
        """Index of the first epoch whose training loss is <= loss (None if never)."""
        for i, l in enumerate(self.train_loss):
            if l <= loss:
                return i
        return None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _act(name: str):
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda z, h: (z > 0).astype(np.float64))
    if name == "sigmoid":
        return (lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))), (lambda z, h: h * (1.0 - h))
    raise ValueError(f"activation must be 'relu' or 'sigmoid', not {name!r}")


def _apply(W: np.ndarray, terms: list, lr: float) -> None:
    """W -= lr * sum(terms), in place, rank-1 terms without forming a dense sum first."""
    for t in terms:
        if isinstance(t, RankOneTerm):
            W -= (lr * t.scale * t.u)[:, None] * t.v
        else:
            W -= lr * t.matrix()


class MLP:
    """Weights and forward/backward passes of the network (see the module docstring for conventions).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, classes last (at least 2 entries).
    activation : "relu" | "sigmoid"
    seed : int
        Seed of the initialisation.
    bias : "fold" | "mean"
    """

    def __init__(self, sizes, *, activation: str = "relu", seed: int = 0, bias: str = "fold"):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be >= 2 positive widths, not {sizes!r}")
        if bias not in ("fold", "mean"):
            raise ValueError(f"bias must be 'fold' or 'mean', not {bias!r}")
        self.sizes, self.activation, self.seed, self.bias = sizes, activation, seed, bias
        self._f, self._df = _act(activation)
        gain = 2.0 if activation == "relu" else 1.0
        rng = np.random.default_rng(seed)
        self.W, self.bvec = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            w = rng.standard_normal((n_out, n_in)) * math.sqrt(gain / n_in)
            if bias == "fold":
                w = np.hstack([w, np.zeros((n_out, 1))])
            self.W.append(w)
            self.bvec.append(np.zeros(n_out))

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(a, b) of each layer's array as the update methods see it (b includes the bias column if folded)."""
        return [w.shape for w in self.W]

    def copy(self) -> "MLP":
        other = MLP.__new__(MLP)
        other.__dict__.update(self.__dict__)
        other.W = [w.copy() for w in self.W]
        other.bvec = [b.copy() for b in self.bvec]
        return other

    def forward(self, x: np.ndarray, read=None):
        """Layer inputs xs[l] (with the 1-column if folded), pre-activations zs[l], output probabilities.

        read(l, h) -> h @ W[l].T replaces the digital product (e.g. a crossbar's analog forward read)."""
        xs, zs, h = [], [], x
        L = len(self.W)
        for l, w in enumerate(self.W):
            if self.bias == "fold":
                ha = np.empty((len(h), h.shape[1] + 1))
                ha[:, :-1] = h
                ha[:, -1] = 1.0
                h = ha
                z = h @ w.T if read is None else read(l, h)
            else:
                z = h @ w.T + self.bvec[l]
            xs.append(h)
            zs.append(z)
            if l < L - 1:
                h = self._f(z)
        z = zs[-1] - zs[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return xs, zs, p

    def backward(self, xs, zs, p, y, read_t=None):
        """Per-sample deltas (n, a_l) of every layer, for the mean cross-entropy loss.

        read_t(l, d) -> d @ W[l] (all columns) replaces the digital product (a crossbar's backward read)."""
        d = p.copy()
        d[np.arange(len(y)), y] -= 1.0
        deltas = [d]
        for l in range(len(self.W) - 1, 0, -1):
            h = xs[l][:, :self.sizes[l]]
            back = d @ self.W[l][:, :self.sizes[l]] if read_t is None else read_t(l, d)[:, :self.sizes[l]]
            d = back * self._df(zs[l - 1], h)
            deltas.append(d)
        return deltas[::-1]

    def evaluate(self, x: np.ndarray, y: np.ndarray, chunk: int = 4096, read=None) -> tuple[float, float]:
        """(mean cross-entropy, accuracy); `read` as in forward."""
        loss, correct = 0.0, 0
        for i in range(0, len(x), chunk):
            _, _, p = self.forward(x[i:i + chunk], read)
            yy = y[i:i + chunk]
            loss -= np.log(np.maximum(p[np.arange(len(yy)), yy], 1e-300)).sum()
            correct += int((p.argmax(axis=1) == yy).sum())
        return loss / len(x), correct / len(x)


def train(data, *, sizes=None, activation: str = "relu", method: str = "sbe", lr: float | None = None,
          batch_size: int = 32, epochs: int = 10, seed: int = 0, bias: str = "fold",
          method_factory: MethodFactory | None = None, on_batch: Callable[[BatchRecord], None] | None = None,
          target_loss: float | None = None, net: MLP | None = None, progress=None, evaluate_test: bool = True,
          ) -> tuple[MLP, History]:
    """Train an MLP on `data` (a golden.training.data.Dataset) and return (net, history).

    Parameters
    ----------
    sizes : layer widths (default: (n_features, 32, n_classes)); ignored when `net` is given.
    method : name for the History and, without `method_factory`, for `method_factory_for(method, seed)`.
    lr : learning rate (default DEFAULT_LR[method]).
    method_factory : factory(layer_index, a, b) -> UpdateMethod, one call per layer at the start (the
        hook for the fixed-point model or the RTL). Its method's `per_sample` attribute selects SGD mode.
    on_batch : called with a BatchRecord for every layer of every batch (gradient recording).
    target_loss : stop after the first epoch whose training loss is <= target_loss.
    net : start from this network (it is trained in place); default MLP(sizes, activation, seed, bias).
    progress : optional callable(epoch, history) called after each epoch (e.g. a tqdm update).
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    if net is None:
        sizes = sizes or (data.n_features, 32, data.n_classes)
        net = MLP(sizes, activation=activation, seed=seed, bias=bias)
    if lr is None:
        lr = DEFAULT_LR[method]
    factory = method_factory or method_factory_for(method, seed=seed)
    methods = [factory(l, a, b) for l, (a, b) in enumerate(net.layer_shapes)]
    per_sample = bool(getattr(methods[0], "per_sample", False))
    hist = History(method=method, batch_size=int(batch_size), lr=float(lr))
    x, y = data.x_train, data.y_train
    updates, t0 = 0, time.perf_counter()

    def record(ep):
        with np.errstate(all="ignore"):
            l, a = net.evaluate(x, y)
            tl, ta = net.evaluate(data.x_test, data.y_test) if evaluate_test else (float("nan"),) * 2
        hist.add(ep, (l, a), (tl, ta), updates, time.perf_counter() - t0)

    def step(ep, bi, idx):
        nonlocal updates
        with np.errstate(over="ignore", invalid="ignore"):
            xs, zs, p = net.forward(x[idx])
            deltas = net.backward(xs, zs, p, y[idx])
            if not all(np.isfinite(v).all() for v in xs + deltas):
                hist.diverged = True       # the methods reject non-finite samples: the run has diverged
                return True
            for l, m in enumerate(methods):
                terms = m.batch(xs[l], deltas[l])
                if on_batch is not None:
                    on_batch(BatchRecord(ep, bi, l, xs[l], deltas[l], terms))
                _apply(net.W[l], terms, lr)
                if net.bias == "mean":
                    net.bvec[l] -= lr * deltas[l].mean(axis=0) * (len(idx) if per_sample else 1)
        updates += methods[0].matrix_updates_per_batch(len(idx))

    def stop(h):
        loss = h.train_loss[-1]
        if h.diverged or not np.isfinite(loss) or loss > DIVERGED_LOSS:
            h.diverged = True
            return True
        return target_loss is not None and loss <= target_loss

    run_epochs(len(x), batch_size=1 if per_sample else int(batch_size), epochs=epochs, seed=seed, step=step,
               record=record, history=hist, progress=progress, stop=stop)
    return net, hist
