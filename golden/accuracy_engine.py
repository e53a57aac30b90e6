"""Accuracy of the fixed-point SBE (golden/sbe_fixed.py, bit-exact with the RTL) against the float SBE.

Three figures, at 16-, 12- and 8-bit inputs:

1. planted stream (golden/data.py PlantedStream, 10 x 50, batch 256, noise 0.5, 3 warm batches):
   worst 1-|cos| of Dhat and Xhat and worst |s_fixed/s_float - 1|;
2. real gradients recorded from the digits trainer (golden/mlp.py, 64-32-10 ReLU, batch 32, float SBE):
   per layer, both methods are fed the same recorded (x, delta) stream with warm start, and the rank-1
   updates s*Dhat*Xhat^T are compared in relative Frobenius norm; batches whose batch-mean gradient has
   sigma_1 / sigma_2 > 1.1 are "separated", the others "near-degenerate" (reported apart);
3. digits training with the fixed-point engine as the update method of every layer against the float SBE,
   same initialisation, shuffle and learning rate: test accuracy after `epochs` epochs.

Binary points (engine construction parameters) are chosen once per layer from the float run's first
epoch: frac = in_width - 2 - ceil(log2(max |value|)), so values up to twice the first epoch's maximum fit.

    python -m golden.accuracy_engine [--quick]
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from .data import PlantedStream, load_digits
from .mlp import train
from .sbe import SBE
from .fixed_point import quantize
from .sbe_fixed import SBEFixed
from .update_method import update_matrix


def _eps(v, w):
    return 1.0 - abs(v @ w) / (np.linalg.norm(v) * np.linalg.norm(w))


def _frac(maxabs: float, width: int) -> int:
    return max(0, width - 2 - math.ceil(math.log2(max(maxabs, 2.0 ** -20))))


def planted(width: int, frac: int) -> dict:
    st = PlantedStream(10, 50, (1.0,), noise=0.5, seed=1)
    fx = SBEFixed(10, 50, in_width=width, x_frac=frac, delta_frac=frac)
    fl = SBE(10, 50)
    fl.X, fl.D = fx.engine.initial_vectors()
    worst = np.zeros(3)
    for _ in range(3):
        xs, ds = st.batch(256)
        (tf,), (tr,) = fx.batch(xs, ds), fl.batch(xs, ds)
        worst = np.maximum(worst, [_eps(tf.u, tr.u), _eps(tf.v, tr.v), abs(tf.scale / tr.scale - 1)])
    return {"eps_dhat": worst[0], "eps_xhat": worst[1], "s_rel_err": worst[2]}


def record_digits(epochs: int, every: int = 1):
    data = load_digits()
    recs = []

    def on_batch(r):
        if r.batch % every == 0:
            recs.append((r.epoch, r.layer, r.xs.copy(), r.deltas.copy()))
    train(data, method="sbe", batch_size=32, epochs=epochs, on_batch=on_batch, evaluate_test=False)
    return data, recs


def real_gradients(recs, width: int) -> dict:
    out = {}
    for layer in sorted({r[1] for r in recs}):
        rl = [r for r in recs if r[1] == layer]
        first = [r for r in rl if r[0] == 1]
        xf = _frac(max(np.abs(r[2]).max() for r in first), width)
        df = _frac(max(np.abs(r[3]).max() for r in first), width)
        a, b = rl[0][3].shape[1], rl[0][2].shape[1]
        fx = SBEFixed(a, b, in_width=width, x_frac=xf, delta_frac=df)
        fl, flq = SBE(a, b), SBE(a, b)
        fl.X, fl.D = fx.engine.initial_vectors()
        flq.X, flq.D = fl.X.copy(), fl.D.copy()
        sep, deg, sepq, worst = [], [], [], (0.0, None)
        for i, (_, _, xs, ds) in enumerate(rl):
            xq = np.array([quantize(v, xf, width) for v in xs]) / 2.0 ** xf
            dq = np.array([quantize(v, df, width) for v in ds]) / 2.0 ** df
            tf, tr, trq = fx.batch(xs, ds), fl.batch(xs, ds), flq.batch(xq, dq)
            Uf, Ur, Urq = update_matrix(tf, a, b), update_matrix(tr, a, b), update_matrix(trq, a, b)
            err = np.linalg.norm(Uf - Ur) / max(np.linalg.norm(Ur), 1e-300)
            errq = np.linalg.norm(Uf - Urq) / max(np.linalg.norm(Urq), 1e-300)
            S = np.linalg.svd(ds.T @ xs / len(xs), compute_uv=False)
            if len(S) < 2 or S[0] > 1.1 * S[1]:
                sep.append(err)
                sepq.append(errq)
                worst = max(worst, (err, i))
            else:
                deg.append(err)
        out[f"layer{layer}"] = {
            "a": a, "b": b, "x_frac": xf, "delta_frac": df,
            "separated_batches": len(sep), "separated_max_rel_frob": max(sep) if sep else None,
            "separated_median_rel_frob": float(np.median(sep)) if sep else None,
            "separated_within_1e-2": float(np.mean(np.array(sep) <= 1e-2)) if sep else None,
            "separated_worst_batch_index": worst[1],
            "separated_max_rel_frob_vs_float_on_quantised_inputs": max(sepq) if sepq else None,
            "degenerate_batches": len(deg), "degenerate_max_rel_frob": max(deg) if deg else None,
            "degenerate_median_rel_frob": float(np.median(deg)) if deg else None,
            "input_saturated": fx.input_flags.saturated, "engine_saturated": fx.engine.flags.saturated}
    return out


def digits_training(data, recs, width: int, epochs: int) -> dict:
    fracs = {}
    for layer in sorted({r[1] for r in recs}):
        first = [r for r in recs if r[1] == layer and r[0] == 1]
        fracs[layer] = (_frac(max(np.abs(r[2]).max() for r in first), width),
                        _frac(max(np.abs(r[3]).max() for r in first), width))

    def factory(layer, a, b):
        return SBEFixed(a, b, in_width=width, x_frac=fracs[layer][0], delta_frac=fracs[layer][1])
    _, h_fx = train(data, method="sbe", batch_size=32, epochs=epochs, method_factory=factory)
    _, h_fl = train(data, method="sbe", batch_size=32, epochs=epochs)
    return {"epochs": epochs, "test_acc_fixed": h_fx.test_acc[-1], "test_acc_float": h_fl.test_acc[-1],
            "points_below_float": 100 * (h_fl.test_acc[-1] - h_fx.test_acc[-1]),
            "train_loss_fixed": h_fx.train_loss[-1], "train_loss_float": h_fl.train_loss[-1]}


def run(quick: bool = False) -> dict:
    epochs = 3 if quick else 10
    data, recs = record_digits(epochs=2 if quick else 5)
    out = {}
    for width, frac in ((16, 12), (12, 8), (8, 4)):
        out[f"in{width}"] = {"planted": planted(width, frac), "digits_real_gradients": real_gradients(recs, width)}
        out[f"in{width}"]["digits_training"] = digits_training(data, recs, width, epochs)
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=float))
