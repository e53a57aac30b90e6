"""Fig. 1: singular spectrum of one batch gradient of the middle layer, ReLU vs sigmoid.

Paper: MNIST MLP 784-256-128-10 trained to 90 % test accuracy, one batch of 10,000: with ReLU up to ~60 %
of sum(sigma^2) is in the top pair; with sigmoid the top 10 pairs hold ~95 %.
Here: the network of CONFIGS[...]["fig1_sizes"] is trained with MBGD (batch 32, rate FIG1_LR) until the
test accuracy first reaches fig1_target_acc (capped at fig1_max_epochs); then the gradient of the middle
layer (its folded bias column included) over one batch of min(10,000, n_train) training samples is
decomposed. Outputs: fig1_spectrum.csv (normalised sigma^2 per index), fig1_spectrum.json (shares),
fig1_spectrum.png.
"""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from golden.training.mlp import train
from experiments.paper import _common as C

#: MBGD rates used to reach the accuracy target (fixed, not tuned: only the end point matters).
FIG1_LR = {"relu": 0.1, "sigmoid": 1.0}


def spectrum(net, x, y, layer: int) -> np.ndarray:
    """Singular values of the batch-mean gradient of `layer` over the samples (x, y)."""
    xs, zs, p = net.forward(x)
    deltas = net.backward(xs, zs, p, y)
    return np.linalg.svd(deltas[layer].T @ xs[layer] / len(x), compute_uv=False)


def run(args) -> dict:
    cfg, out = C.config(args.dataset, args.quick), C.out_dir(args)
    data = C.load(cfg)
    sizes, layer = cfg["fig1_sizes"], (len(cfg["fig1_sizes"]) - 1) // 2
    nb = min(10000, len(data.x_train))
    result, rows = {"dataset": args.dataset, "sizes": sizes, "layer": layer, "batch": nb, "quick": args.quick}, []
    bar = tqdm(total=2 * cfg["fig1_max_epochs"], desc="fig1", disable=args.no_progress)
    for act in ("relu", "sigmoid"):
        hit = {}

        def progress(ep, h):
            bar.update(1)
            if h.test_acc[-1] >= cfg["fig1_target_acc"]:
                hit.setdefault("epoch", ep)

        # train epoch by epoch so that we stop at the first epoch reaching the accuracy target
        net, h = None, None
        for ep in range(cfg["fig1_max_epochs"]):
            net, h = train(data, sizes=sizes, activation=act, method="mbgd", lr=FIG1_LR[act], batch_size=32,
                           epochs=1, seed=ep, net=net)
            progress(ep + 1, h)
            if "epoch" in hit:
                break
        s = spectrum(net, data.x_train[:nb], data.y_train[:nb], layer)
        e = s ** 2 / np.sum(s ** 2)
        result[act] = dict(epochs=ep + 1, test_acc=h.test_acc[-1], reached_target=("epoch" in hit),
                           top1_share=float(e[0]), top10_share=float(e[:10].sum()), sigma=s.tolist())
        rows += [dict(activation=act, index=i + 1, sigma=float(s[i]), share=float(e[i])) for i in range(len(s))]
    bar.close()
    C.write_json(os.path.join(out, "fig1_spectrum.json"), result)
    C.write_csv(os.path.join(out, "fig1_spectrum.csv"), rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for act in ("relu", "sigmoid"):
        s = np.array(result[act]["sigma"])
        e = s ** 2 / np.sum(s ** 2)
        ax.semilogy(np.arange(1, len(e) + 1)[:40], e[:40], "o-", ms=3,
                    label=f"{act}: top1 {100 * e[0]:.0f} %, top10 {100 * e[:10].sum():.0f} %")
    ax.set_xlabel("singular value index")
    ax.set_ylabel("sigma_i^2 / sum sigma^2")
    ax.set_title(f"Fig. 1 ({args.dataset}): middle-layer gradient, batch {nb}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig1_spectrum.png"), dpi=120)
    plt.close(fig)
    return result


def main(argv=None):
    r = run(C.parse_args(__doc__.splitlines()[0], argv, prog="python -m experiments.paper.fig1_spectrum"))
    for act in ("relu", "sigmoid"):
        print(f"fig1 {r['dataset']} {act}: top-1 share {r[act]['top1_share']:.3f}, "
              f"top-10 share {r[act]['top10_share']:.3f} (test acc {r[act]['test_acc']:.3f})")


if __name__ == "__main__":
    main()
