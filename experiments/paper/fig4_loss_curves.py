"""Fig. 4: training loss vs epochs and vs matrix updates for SGD, MBGD, SVD and SBE at batch 32.

Each method from the shared initialisation with its tuned rate (SGD: batch 1), until the training loss
reaches fig4_target (paper: ~1e-4) or fig4_max_epochs. Also reports the test accuracy at the first epoch
with training loss <= 1e-2 (paper: ~97-98 % on MNIST). Outputs: fig4_loss_curves.csv (per-epoch
histories), fig4_loss_curves.json (summary), fig4_loss_curves.png.
"""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
from tqdm import tqdm

from golden.training.mlp import train
from experiments.paper import _common as C

METHODS = ("sgd", "mbgd", "svd", "sbe")


def run(args) -> dict:
    cfg, out = C.config(args.dataset, args.quick), C.out_dir(args)
    data = C.load(cfg)
    rows, summary = [], {"dataset": args.dataset, "quick": args.quick, "batch": cfg["fig4_batch"],
                         "max_epochs": cfg["fig4_max_epochs"], "target": cfg["fig4_target"]}
    hists = {}
    for m in METHODS:
        batch = 1 if m == "sgd" else cfg["fig4_batch"]
        lr = C.tuned_lr(data, cfg, m, batch, out)
        bar = tqdm(total=cfg["fig4_max_epochs"], desc=f"fig4 {m}", disable=args.no_progress)
        _, h = train(data, sizes=cfg["sizes"], method=m, lr=lr, batch_size=batch, epochs=cfg["fig4_max_epochs"],
                     target_loss=cfg["fig4_target"], progress=lambda ep, h: bar.update(1))
        bar.close()
        hists[m] = h
        i = h.first_reaching(1e-2)
        summary[m] = {"lr": lr, "batch": batch, "epochs": h.epoch[-1], "final_train_loss": h.train_loss[-1],
                      "final_test_acc": h.test_acc[-1], "diverged": h.diverged,
                      "epoch_at_loss_0.01": h.epoch[i] if i is not None else None,
                      "updates_at_loss_0.01": h.matrix_updates[i] if i is not None else None,
                      "test_acc_at_loss_0.01": h.test_acc[i] if i is not None else None,
                      "reached_target": h.train_loss[-1] <= cfg["fig4_target"]}
        rows += [dict(method=m, epoch=e, matrix_updates=u, train_loss=l, train_acc=a, test_loss=tl, test_acc=ta)
                 for e, u, l, a, tl, ta in zip(h.epoch, h.matrix_updates, h.train_loss, h.train_acc,
                                               h.test_loss, h.test_acc)]
    C.write_csv(os.path.join(out, "fig4_loss_curves.csv"), rows)
    C.write_json(os.path.join(out, "fig4_loss_curves.json"), summary)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for m, h in hists.items():
        a1.loglog(h.epoch[1:], h.train_loss[1:], label=m)
        a2.loglog(h.matrix_updates[1:], h.train_loss[1:], label=m)
    for ax, xl in ((a1, "epochs"), (a2, "matrix updates (per layer)")):
        ax.axhline(1e-2, color="k", ls=":", lw=0.8)
        ax.set_xlabel(xl)
        ax.set_ylabel("training loss")
        ax.legend()
    a1.set_title(f"Fig. 4 ({args.dataset}): batch {cfg['fig4_batch']} (SGD: 1)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig4_loss_curves.png"), dpi=120)
    plt.close(fig)
    return summary


def main(argv=None):
    s = run(C.parse_args(__doc__.splitlines()[0], argv, prog="python -m experiments.paper.fig4_loss_curves"))
    for m in METHODS:
        v = s[m]
        print(f"fig4 {s['dataset']} {m}: lr {v['lr']:g}, {v['epochs']} epochs, final loss {v['final_train_loss']:.2e}, "
              f"test acc at loss 1e-2: {v['test_acc_at_loss_0.01']} (epoch {v['epoch_at_loss_0.01']})")


if __name__ == "__main__":
    main()
