"""Formats of the update controller for a PMOD-sized (8 x 8) array, judged on realistic updates.

The 8 x 8 array of the iCE40UP5K controller build (flow/configs/update_controller_a8_b8.json: the
controller beside the engine on the UP5K) is one layer of a small network. This
experiment makes such a layer and its update stream, then writes every update at candidate formats:

    data      scikit-learn's digits, the 64 pixels projected on their first 7 principal components
              (fitted on the training split, scaled to [0, 1] over it): 7 inputs + the folded bias
    network   7-8-10 ReLU; layer 0 is the 8 x 8 array (8 hidden rows, 7 + 1 columns)
    loop      golden/training/closed_loop.py ClosedLoop (fixed-point engine + pulse scheme + Gokmen-Vlasov
              crossbars, eta 0.2, batch 32, BL cap 1023 with BL management: the demo's settings) at the
              default formats drives the trajectory
    shadows   every batch, layer 0's quantised samples also go to one golden SBELayer per candidate
              (golden/rtl/sbe_layer.py: engine and pulse scheme; the engine's state does not depend on the
              output formats, only its read-out words are rounded to the candidate's widths), whose write
              is counted but not applied

Per write and candidate: C the signed coincidences per device (sum over slots of fire_i fire_j times the
slot's direction: the conductance change in units of dw_min on an ideal device), E their expectation
(PulseScheme.expected_counts), and N = -lr * s * u_i * v_j in float from the default formats' words (the
engine's update as meant). Reported: the mean relative Frobenius errors |E - N|/|N| (the formats' bias)
and |C - N|/|N| (bias + the stochastic noise of the pulses), the pulses (coincidences) and slots per write,
writes flagged OVERFLOW (the scale needs more than the BL cap: nothing is written), and the largest
ceil(Ghat) (the slots the largest device's pulses need).

With --train the network is trained again with layer 0's engine and controller at each candidate (the
loop's own layer), test accuracy per epoch printed (float SBE/MBGD are not needed: the candidates are
compared with each other on the same seeds).

    python -m experiments.controller_formats [--epochs N] [--train] [--seeds K]
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from contract.checks import CliParser
from golden.arrays.devices import GokmenVlasov
from golden.rtl.sbe_layer import SBELayer
from golden.training.closed_loop import ClosedLoop
from golden.training.crossbar_training import lr_register
from golden.training.data import Dataset, load_digits

#: candidate formats: engine read-out (elem_width = P, s_mant_width, s_exp_width) and controller registers
#: (ctrl_lr_width, ctrl_lr_exp_width, ctrl_bl_width; the LFSR width is ControllerConfig's default)
CANDIDATES = {
    "default 16/16/8, lr 16/8, bl 12": dict(elem_width=16, s_mant_width=16, s_exp_width=8,
                                            ctrl_lr_width=16, ctrl_lr_exp_width=8, ctrl_bl_width=12),
    "P 8, s 8/6, lr 8/6, bl 8 (PMOD)": dict(elem_width=8, s_mant_width=8, s_exp_width=6,
                                            ctrl_lr_width=8, ctrl_lr_exp_width=6, ctrl_bl_width=8),
    "P 6, s 8/6, lr 8/6, bl 8": dict(elem_width=6, s_mant_width=8, s_exp_width=6,
                                     ctrl_lr_width=8, ctrl_lr_exp_width=6, ctrl_bl_width=8),
    "P 8, s 8/6, lr 8/6, bl 6": dict(elem_width=8, s_mant_width=8, s_exp_width=6,
                                     ctrl_lr_width=8, ctrl_lr_exp_width=6, ctrl_bl_width=6),
}
ETA, BATCH, BL_CAP, SIZES = 0.2, 32, 1023, (7, 8, 10)
OUT = Path(__file__).resolve().parents[1] / "build" / "experiments" / "controller_formats"


def pca_digits(k: int = 7) -> Dataset:
    """Digits on their first k principal components (fitted on the training split), scaled to [0, 1]."""
    d = load_digits()
    mu = d.x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(d.x_train - mu, full_matrices=False)
    proj = lambda x: (x - mu) @ vt[:k].T
    tr, te = proj(d.x_train), proj(d.x_test)
    lo, hi = tr.min(axis=0), tr.max(axis=0)
    scale = lambda x: np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return Dataset(f"digits-pca{k}", scale(tr), d.y_train, scale(te), d.y_test)


def registers(params: dict, dw_min: float) -> dict:
    """The controller registers of a candidate: lr = eta/dw_min at its lr width, its BL cap (at most 1023)."""
    lr_mant, lr_exp = lr_register(ETA, dw_min, params["ctrl_lr_width"])
    return dict(lr_mant=lr_mant, lr_exp=lr_exp, bl=min(BL_CAP, (1 << params["ctrl_bl_width"]) - 1),
                bl_mgmt=True, det=False, two_phase=False)


def signed_counts(slots, a: int, b: int) -> np.ndarray:
    """Coincidences per device with the slot's direction (+1 / -1: pol True is negative), summed."""
    if not slots:
        return np.zeros((a, b))
    rf, rp, cf, cp = (np.array([s[k] for s in slots]) for k in range(4))
    r = rf * (1 - 2 * rp.astype(int))
    c = cf * (1 - 2 * cp.astype(int))
    return (r.T @ c).astype(float)


def ideal(update: dict, F: int, lr: float) -> np.ndarray:
    """-lr * s * outer(u, v) in device steps, from the update words (u, v in Q1.F)."""
    s = update["s_mant"] * 2.0 ** update["s_exp"]
    u = np.asarray(update["dhat"], float) / 2 ** F
    v = np.asarray(update["xhat"], float) / 2 ** F
    return -lr * s * np.outer(u, v)


def ceil_ghat(plan) -> int:
    """ceil(Ghat): the slots the update needs (prod * 2**E rounded up)."""
    return plan.prod << plan.exp if plan.exp >= 0 else -((-plan.prod) >> -plan.exp)


def compare(epochs: int, seed: int = 0) -> dict:
    """Shadow writes of layer 0's updates at every candidate (module docstring)."""
    data = pca_digits()
    dev = GokmenVlasov()
    loop = ClosedLoop(data, sizes=SIZES, eta=ETA, batch_size=BATCH, seed=seed, device=dev, bl=BL_CAP,
                      bl_mgmt=True)
    a, b = loop.shapes[0]
    shadows = {name: (SBELayer(a, b, seed=seed, **p), registers(p, dev.dw_min)) for name, p in CANDIDATES.items()}
    lr = ETA / dev.dw_min
    acc = {name: dict(bias=[], total=[], pulses=[], slots=[], overflow=0, zero=0, ghat=[]) for name in CANDIDATES}

    def on_update(layer, up, w):
        if layer != 0:
            return
        n = ideal(up, loop.layers[0].controller.F, lr)
        nn = np.linalg.norm(n)
        for name, (sh, regs) in shadows.items():
            sup = sh.update(pending)
            wr = sh.write(sup, **regs)
            r = acc[name]
            if wr.plan.status:
                r["overflow"] += 1
                continue
            if wr.plan.bl == 0 or nn == 0:
                r["zero"] += 1
                continue
            sgn = -1.0 if sup["s_mant"] >= 0 else 1.0          # the direction -sign(s) sign(u) sign(v)
            su = np.sign(sup["dhat"]) * sgn
            sv = np.sign(sup["xhat"])
            e = sh.controller.expected_counts(sup["dhat"], sup["xhat"], wr.plan) * np.outer(su, sv)
            c = signed_counts(wr.slots, a, b)
            r["bias"].append(np.linalg.norm(e - n) / nn)
            r["total"].append(np.linalg.norm(c - n) / nn)
            r["pulses"].append(np.abs(c).sum())
            r["slots"].append(wr.plan.bl)
            r["ghat"].append(ceil_ghat(wr.plan))

    pending = None
    orig = loop.samples

    def samples(layer, xs, ds):
        nonlocal pending
        s = orig(layer, xs, ds)
        if layer == 0:
            pending = s
        return s

    loop.samples = samples
    hist = loop.train(epochs, on_update=on_update)
    out = {"data": data.name, "sizes": SIZES, "epochs": epochs, "seed": seed, "eta": ETA, "batch": BATCH,
           "bl_cap": BL_CAP, "test_accuracy_default": hist.test_acc[-1],
           "candidates": {}}
    for name, r in acc.items():
        g = np.array(r["ghat"]) if r["ghat"] else np.zeros(1)
        out["candidates"][name] = {
            "writes": len(r["bias"]), "overflow": r["overflow"], "zero": r["zero"],
            "bias_mean": float(np.mean(r["bias"])), "bias_p90": float(np.percentile(r["bias"], 90)),
            "total_mean": float(np.mean(r["total"])),
            "pulses_mean": float(np.mean(r["pulses"])), "slots_mean": float(np.mean(r["slots"])),
            "slots_max": int(np.max(r["slots"])), "ghat_p50": float(np.median(g)), "ghat_p99": float(np.percentile(g, 99)),
            "ghat_max": int(g.max()),
        }
    return out


class _CandidateLoop(ClosedLoop):
    """ClosedLoop whose layer 0 runs at a candidate's formats with its own registers."""

    def __init__(self, data, params: dict, **kw):
        super().__init__(data, **kw)
        a, b = self.shapes[0]
        self.layers[0] = SBELayer(a, b, lanes=self.lanes, seed=self.seed, **params)
        self.regs0 = registers(params, self.device.dw_min)

    def layer_batch(self, layer, samples):
        if layer != 0:
            return super().layer_batch(layer, samples)
        up, w = self.layers[0].batch(samples, **self.regs0)
        self.stats.apply(0, w, self.arrays[0])
        return up, w


def train_candidates(epochs: int, seeds: int) -> dict:
    """Test accuracy per epoch with layer 0 at each candidate, `seeds` seeds each."""
    data = pca_digits()
    out = {}
    for name, params in CANDIDATES.items():
        runs = []
        for seed in range(seeds):
            loop = _CandidateLoop(data, params, sizes=SIZES, eta=ETA, batch_size=BATCH, seed=seed,
                                  device=GokmenVlasov(), bl=BL_CAP, bl_mgmt=True)
            hist = loop.train(epochs)
            runs.append([float(x) for x in hist.test_acc])
        out[name] = {"test_acc": runs, "final_mean": float(np.mean([r[-1] for r in runs])),
                     "last3_mean": float(np.mean([np.mean(r[-3:]) for r in runs]))}
        print(f"  {name}: final test accuracy {out[name]['final_mean']:.3f} (mean of the last 3 epochs "
              f"{out[name]['last3_mean']:.3f}, {seeds} seeds)", flush=True)
    return out


def _count(text: str) -> int:
    """A positive integer argument."""
    n = int(text)
    if n < 1:
        raise ValueError(text)
    return n


def main(argv=None) -> int:
    ap = CliParser(prog="python -m experiments.controller_formats", description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=_count, default=15, help="training epochs (default 15)")
    ap.add_argument("--train", action="store_true", help="also train with layer 0 at every candidate")
    ap.add_argument("--seeds", type=_count, default=3, help="seeds of --train (default 3)")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rep = {"compare": compare(args.epochs)}
    print(f"{rep['compare']['data']} {SIZES}, {args.epochs} epochs, layer 0 (8 x 8) writes:")
    print("| formats | writes | overflow | bias \\|E-N\\|/\\|N\\| mean (p90) | total \\|C-N\\|/\\|N\\| | pulses/write | "
          "slots/write (max) | ceil(Ghat) p50 / p99 / max |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rep["compare"]["candidates"].items():
        print(f"| {name} | {r['writes']} | {r['overflow']} | {r['bias_mean']:.4f} ({r['bias_p90']:.4f}) | "
              f"{r['total_mean']:.3f} | {r['pulses_mean']:.1f} | {r['slots_mean']:.1f} ({r['slots_max']}) | "
              f"{r['ghat_p50']:.0f} / {r['ghat_p99']:.0f} / {r['ghat_max']} |")
    if args.train:
        rep["train"] = train_candidates(args.epochs, args.seeds)
    (OUT / "report.json").write_text(json.dumps(rep, indent=1))
    print(f"wrote {OUT / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
