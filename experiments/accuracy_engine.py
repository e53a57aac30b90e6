"""Accuracy of the fixed-point SBE (golden/rtl/sbe_engine.py, bit-exact with the RTL) against the float SBE.

Figures at 16-, 12- and 8-bit inputs (`make accuracy`; the README quotes them):

1. planted stream (golden/training/data.py PlantedStream, 10 x 50, batch 256, noise 0.5, 3 warm batches, fixed
   binary point): worst 1-|cos| of Dhat and Xhat and worst |s_fixed/s_float - 1|;
2. real gradients recorded from the digits trainer (64-32-10 ReLU, batch 32, float SBE, 5 epochs) and,
   when the MNIST t10k files are there, the MNIST trainer (784-100-10, 1 epoch): per layer, the engine
   (per-sample block exponents, as SBEFixed quantises by default) runs freely over the stream and its
   rank-1 updates s*Dhat*Xhat^T are compared in relative Frobenius norm with the float SBE; batches whose
   batch gradient has sigma_1 / sigma_2 > 1.1 are "separated", the others "near-degenerate" (apart).
   See `real_gradients` for the per-batch (the criterion) and trajectory figures. At 16 bits the digits
   report is repeated at fixed binary points (no block exponents) to show what the exponents buy;
3. digits training with the fixed-point engine as the update method of every layer against the float SBE,
   same initialisation, shuffle and learning rate: test accuracy after `epochs` epochs, mean of 5 seeds.

Fixed binary points, where used, are chosen once per layer from the float run's first epoch:
frac = in_width - 2 - ceil(log2(max |value|)), so values up to twice the first epoch's maximum fit.

    python -m experiments.accuracy_engine [--quick] [--widths 16 ...] [--engine KEY=VALUE ...]
        prints the JSON report, then one summary line each. --engine sets EngineConfig fields of every
        fixed-point engine of the run (a candidate format, e.g. --engine coef_width=16 mant_width=16 for
        the iCE40's 16x16 multipliers): format changes are judged here before any RTL follows them.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from contract.checks import CliParser
from contract.engine_config import EngineConfig
from golden.training.data import PlantedStream, load_digits, load_mnist
from golden.training.mlp import train
from golden.methods.sbe import SBE
from golden.methods.sbe_fixed import SBEFixed
from golden.methods.update_method import update_matrix

#: EngineConfig fields set by --engine for every fixed-point engine of the run (a candidate format).
ENGINE_OVERRIDES: dict = {}


def fixed(a: int, b: int, **params) -> SBEFixed:
    """The fixed-point SBE of an a x b layer with `params` and the run's --engine overrides."""
    return SBEFixed(a, b, **{**params, **ENGINE_OVERRIDES})


def _eps(v, w):
    return 1.0 - abs(v @ w) / (np.linalg.norm(v) * np.linalg.norm(w))


def _frac(maxabs: float, width: int) -> int:
    return max(0, width - 2 - math.ceil(math.log2(max(maxabs, 2.0 ** -20))))


def planted(width: int, frac: int) -> dict:
    st = PlantedStream(10, 50, (1.0,), noise=0.5, seed=1)
    fx = fixed(10, 50, in_width=width, x_frac=frac, delta_frac=frac)
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


def _rel(U, R) -> float:
    return float(np.linalg.norm(U - R) / max(np.linalg.norm(R), 1e-300))


def _stats(errs: list[float]) -> dict:
    if not errs:
        return {"batches": 0}
    e = np.array(errs)
    return {"batches": len(e), "max_rel_frob": float(e.max()), "median_rel_frob": float(np.median(e)),
            "within_1e-2": float(np.mean(e <= 1e-2)), "worst_batch_index": int(e.argmax())}


def real_gradients(recs, width: int, block_exponent: bool = True) -> dict:
    """Per layer: the fixed-point engine runs freely over the recorded stream (warm start across batches,
    as in hardware); three float SBE references are compared with its rank-1 update s*Dhat*Xhat^T:

    per_batch   float SBE re-synchronised to the engine's warm state (SBEFixedEngine.state) before
                each batch: the error this batch's inputs and arithmetic add (the issue's criterion);
    per_batch_same_inputs
                the same, the float SBE fed the engine's quantised inputs: the arithmetic's share alone
                (where per_batch is much larger, the float algorithm itself is that sensitive to the
                inputs' rounding on that batch);
    trajectory  float SBE running freely from the same reset state: includes the divergence the warm
                start carries over from earlier (possibly near-degenerate) batches;
    float_vs_float_quantised_trajectory
                float SBE vs float SBE fed the engine's quantised inputs, both free-running: how much of
                the trajectory figure the float algorithm itself shows under the same input rounding.

    Batches are "separated" when the batch gradient's sigma_1 > 1.1 sigma_2, else "near-degenerate".
    """
    out = {}
    for layer in sorted({r[1] for r in recs}):
        rl = [r for r in recs if r[1] == layer]
        first = [r for r in rl if r[0] == 1]
        a, b = rl[0][3].shape[1], rl[0][2].shape[1]
        if block_exponent:
            fx = fixed(a, b, in_width=width)
        else:
            fx = fixed(a, b, in_width=width, block_exponent=False,
                          x_frac=_frac(max(np.abs(r[2]).max() for r in first), width),
                          delta_frac=_frac(max(np.abs(r[3]).max() for r in first), width))
        c = fx.engine.cfg
        free, synced, syncedq, freeq = SBE(a, b), SBE(a, b), SBE(a, b), SBE(a, b)
        free.X, free.D = fx.engine.initial_vectors()
        freeq.X, freeq.D = free.X.copy(), free.D.copy()
        errs = {k: ([], []) for k in ("per_batch", "per_batch_same_inputs", "trajectory",
                                      "float_vs_float_quantised_trajectory")}
        for _, _, xs, ds in rl:
            synced.X, synced.D, synced.s = fx.engine.state()
            syncedq.X, syncedq.D, syncedq.s = synced.X.copy(), synced.D.copy(), synced.s
            qs = [fx.quantise(x, d) for x, d in zip(xs, ds)]
            xq = np.array([np.array(q[0]) * 2.0 ** (q[2] - c.x_frac) for q in qs])
            dq = np.array([np.array(q[1]) * 2.0 ** (q[3] - c.delta_frac) for q in qs])
            Uf = update_matrix(fx.batch(xs, ds), a, b)
            Us, Usq, Ur, Urq = (update_matrix(m.batch(*io), a, b) for m, io in
                                ((synced, (xs, ds)), (syncedq, (xq, dq)), (free, (xs, ds)), (freeq, (xq, dq))))
            S = np.linalg.svd(ds.T @ xs / len(xs), compute_uv=False)
            group = 0 if len(S) < 2 or S[0] > 1.1 * S[1] else 1
            errs["per_batch"][group].append(_rel(Uf, Us))
            errs["per_batch_same_inputs"][group].append(_rel(Uf, Usq))
            errs["trajectory"][group].append(_rel(Uf, Ur))
            errs["float_vs_float_quantised_trajectory"][group].append(_rel(Urq, Ur))
        res = {"a": a, "b": b, "block_exponent": block_exponent, "x_frac": c.x_frac, "delta_frac": c.delta_frac,
               "input_saturated": fx.input_flags.saturated, "engine_saturated": fx.engine.flags.saturated}
        for k, (sep, deg) in errs.items():
            res[k] = {"separated": _stats(sep), "near_degenerate": _stats(deg)}
        out[f"layer{layer}"] = res
    return out


def digits_training(data, width: int, epochs: int, seeds=range(5)) -> dict:
    """Digits 64-32-10 with the fixed-point engine (block exponents) as every layer's update method
    against the float SBE: per seed the same initialisation, shuffle and learning rate. The digits test
    set has 360 images (one image = 0.28 points), so single runs scatter by a few images either way; the
    figure is the mean over `seeds`."""
    fx, fl = [], []
    for seed in seeds:
        _, h_fx = train(data, method="sbe", batch_size=32, epochs=epochs, seed=seed,
                        method_factory=lambda layer, a, b: fixed(a, b, in_width=width))
        _, h_fl = train(data, method="sbe", batch_size=32, epochs=epochs, seed=seed)
        fx.append(h_fx.test_acc[-1])
        fl.append(h_fl.test_acc[-1])
    diff = 100 * (np.array(fl) - np.array(fx))
    return {"epochs": epochs, "seeds": len(fx), "test_acc_fixed": float(np.mean(fx)),
            "test_acc_float": float(np.mean(fl)), "points_below_float": float(diff.mean()),
            "points_below_float_std_over_seeds": float(diff.std()), "per_seed_fixed": fx, "per_seed_float": fl}


def record_mnist(epochs: int = 1):
    """Gradients of the paper's 784-100-10 network on the MNIST t10k split (None without the data)."""
    try:
        data = load_mnist()
    except FileNotFoundError:
        return None
    recs = []
    train(data, method="sbe", sizes=(784, 100, 10), batch_size=32, epochs=epochs, evaluate_test=False,
          on_batch=lambda r: recs.append((r.epoch, r.layer, r.xs.copy(), r.deltas.copy())))
    return recs


def run(quick: bool = False, widths=(16, 12, 8)) -> dict:
    epochs = 3 if quick else 10
    data, recs = record_digits(epochs=2 if quick else 5)
    seeds = range(2) if quick else range(5)
    mnist = record_mnist()
    out = {}
    for width, frac in ((w, w - 4) for w in widths):
        res = out[f"in{width}"] = {"planted": planted(width, frac), "digits_real_gradients": real_gradients(recs, width)}
        if width == 16:    # what the block exponents buy: the same report at fixed binary points
            res["digits_real_gradients_fixed_binary_point"] = real_gradients(recs, width, block_exponent=False)
        res["mnist_real_gradients"] = (real_gradients(mnist, width) if mnist is not None
                                       else "MNIST t10k not found (golden/training/data.py MNIST_T10K_DIR)")
        res["digits_training"] = digits_training(data, width, epochs, seeds)
    return out


def summary_lines(out: dict) -> list[str]:
    """One line per width and data set: the per-batch criterion and the trajectory figure."""
    lines = []
    for wkey, res in out.items():
        if not wkey.startswith("in"):
            continue
        p = res["planted"]
        lines.append(f"{wkey}: planted 1-|cos| {p['eps_dhat']:.1e}/{p['eps_xhat']:.1e}, |s ratio-1| "
                     f"{p['s_rel_err']:.1e}; digits training {100 * res['digits_training']['test_acc_fixed']:.1f} % "
                     f"vs float {100 * res['digits_training']['test_acc_float']:.1f} % (mean of "
                     f"{res['digits_training']['seeds']} seeds)")
        for dkey in ("digits_real_gradients", "digits_real_gradients_fixed_binary_point", "mnist_real_gradients"):
            if not isinstance(res.get(dkey), dict):
                continue
            for layer, v in res[dkey].items():
                pb, tr = v["per_batch"]["separated"], v["trajectory"]["separated"]
                sq = v.get("per_batch_same_inputs", {}).get("separated", {})
                if not pb["batches"]:
                    continue
                lines.append(f"  {dkey} {layer} ({v['a']}x{v['b']}): {pb['batches']} separated batches, per batch "
                             f"max {pb['max_rel_frob']:.1e} ({100 * pb['within_1e-2']:.1f} % <= 1e-2); same inputs "
                             f"max {sq.get('max_rel_frob', float('nan')):.1e}; trajectory "
                             f"max {tr['max_rel_frob']:.1e} ({100 * tr['within_1e-2']:.1f} %); near-degenerate "
                             f"{v['per_batch']['near_degenerate']['batches']}")
    return lines


def main(argv=None) -> dict:
    p = CliParser(prog="python -m experiments.accuracy_engine", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter training and fewer seeds (a smoke run)")
    p.add_argument("--widths", type=int, nargs="+", default=[16, 12, 8], metavar="W",
                   help="input widths to report (default 16 12 8)")
    p.add_argument("--engine", nargs="+", default=[], metavar="KEY=VALUE",
                   help="EngineConfig fields of every fixed-point engine (a candidate format)")
    args = p.parse_args(argv)
    overrides = {}
    for item in args.engine:
        key, sep, value = item.partition("=")
        if not sep or not value.lstrip("-").isdigit():
            p.error(f"--engine takes KEY=INTEGER items, not {item!r}")
        overrides[key] = int(value)
    try:
        EngineConfig(a=1, b=1, **overrides)
    except (TypeError, ValueError) as e:
        p.error(f"--engine: {e}")
    for w in args.widths:
        if not 2 <= w <= 16:
            p.error(f"--widths: input widths are 2..16, not {w}")
    ENGINE_OVERRIDES.clear()
    ENGINE_OVERRIDES.update(overrides)
    result = {"engine_overrides": overrides, **run(quick=args.quick, widths=tuple(args.widths))}
    print(json.dumps(result, indent=2, default=float))
    print("\n".join(summary_lines(result)))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
