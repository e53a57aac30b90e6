"""Fig. 3: SBE vector error against the exact SVD of each batch gradient, during training.

For every batch and layer of an SBE training run (batch sizes CONFIGS[...]["fig3_batches"], tuned rate,
fig3_epochs epochs) the recorder compares SBE's Xhat, Dhat with the top singular pair of that same batch's
mean gradient (numpy.linalg.svd): eps = 1 - |cos|, s / sigma_1, and the gap sigma_2 / sigma_1 that sets how
fast a streaming estimate can converge. Paper: at batch 1024 eps < 1e-3
within a batch; at batch 32 the vectors do not converge, yet training does.
Outputs: fig3_vector_error.csv (one row per batch and layer), fig3_vector_error.json (medians over the
last epoch), fig3_vector_error.png.
"""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from golden.training.mlp import train
from golden.methods.svd_oracle import top_k_svd
from experiments.paper import _common as C


def _eps(v, w) -> float:
    return float(1.0 - abs(v @ w) / (np.linalg.norm(v) * np.linalg.norm(w)))


def run(args) -> dict:
    cfg, out = C.config(args.dataset, args.quick), C.out_dir(args)
    data = C.load(cfg)
    rows, summary = [], {"dataset": args.dataset, "quick": args.quick, "epochs": cfg["fig3_epochs"]}
    for batch in cfg["fig3_batches"]:
        lr = C.tuned_lr(data, cfg, "sbe", batch, out)
        bar = tqdm(total=cfg["fig3_epochs"], desc=f"fig3 batch {batch}", disable=args.no_progress)

        def record(r, batch=batch):
            U, S, Vt = top_k_svd(r.xs, r.deltas, 2)
            if not r.terms or S[0] == 0:
                return
            t = r.terms[0]
            rows.append(dict(batch_size=batch, epoch=r.epoch, batch=r.batch, layer=r.layer,
                             eps_x=_eps(t.v, Vt[0]), eps_d=_eps(t.u, U[:, 0]), s_over_sigma1=t.scale / S[0],
                             sigma2_over_sigma1=(S[1] / S[0] if len(S) > 1 else 0.0)))

        train(data, sizes=cfg["sizes"], method="sbe", lr=lr, batch_size=batch, epochs=cfg["fig3_epochs"],
              on_batch=record, progress=lambda ep, h: bar.update(1))
        bar.close()
        last = [r for r in rows if r["batch_size"] == batch and r["epoch"] == cfg["fig3_epochs"]]
        summary[str(batch)] = {"lr": lr, **{
            f"layer{l}": {k: float(np.median([r[k] for r in last if r["layer"] == l]))
                          for k in ("eps_x", "eps_d", "s_over_sigma1", "sigma2_over_sigma1")}
            for l in sorted({r["layer"] for r in last})}}
    C.write_csv(os.path.join(out, "fig3_vector_error.csv"), rows)
    C.write_json(os.path.join(out, "fig3_vector_error.json"), summary)
    fig, axes = plt.subplots(1, len(cfg["fig3_batches"]), figsize=(6 * len(cfg["fig3_batches"]), 4), squeeze=False)
    for ax, batch in zip(axes[0], cfg["fig3_batches"]):
        for l in sorted({r["layer"] for r in rows}):
            rs = [r for r in rows if r["batch_size"] == batch and r["layer"] == l]
            ax.semilogy([r["eps_x"] for r in rs], lw=0.7, label=f"layer {l}: Xhat")
            ax.semilogy([r["eps_d"] for r in rs], lw=0.7, label=f"layer {l}: Dhat")
        ax.axhline(1e-3, color="k", ls=":", lw=0.8)
        ax.set_xlabel("batch (training step)")
        ax.set_ylabel("1 - |cos| vs exact SVD")
        ax.set_title(f"Fig. 3 ({args.dataset}): SBE, batch {batch}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig3_vector_error.png"), dpi=120)
    plt.close(fig)
    return summary


def main(argv=None):
    s = run(C.parse_args(__doc__.splitlines()[0], argv, prog="python -m experiments.paper.fig3_vector_error"))
    for b in (k for k in s if k.isdigit()):
        for l, v in ((k, v) for k, v in s[b].items() if k.startswith("layer")):
            print(f"fig3 {s['dataset']} batch {b} {l}: median eps_x {v['eps_x']:.2e}, eps_d {v['eps_d']:.2e}, "
                  f"s/sigma1 {v['s_over_sigma1']:.2f}, sigma2/sigma1 {v['sigma2_over_sigma1']:.2f} (last epoch)")


if __name__ == "__main__":
    main()
