"""Fig. 5: epochs and matrix updates to reach training loss 0.1 and 0.01 vs batch size.

SGD (batch 1) is the reference; MBGD, SVD (rank-1 oracle) and SBE run at every batch of fig5_batches
(powers of two up to the largest the training set allows, plus the full training set). Each run: tuned
rate (lr_tuning, cached), shared initialisation, stop at loss 0.01 or fig5_max_epochs (then "not
reached"; fig5_method_max_epochs overrides the cap per method). Resumable: every finished (method, batch)
run is stored at once in fig5_runs.json and skipped on the next start, unless it did not reach 0.01 and
the cap has been raised since. Outputs: fig5_runs.json, fig5_batch_sweep.csv, fig5_batch_sweep.json (ratios),
fig5_batch_sweep.png.
"""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
from tqdm import tqdm

from golden.training.mlp import train
from experiments.paper import _common as C

TARGETS = (0.1, 0.01)


def epoch_cap(cfg, method: str) -> int:
    return cfg["fig5_method_max_epochs"].get(method, cfg["fig5_max_epochs"])


def one_run(data, cfg, out, method: str, batch: int) -> dict:
    lr = C.tuned_lr(data, cfg, method, batch, out)
    _, h = train(data, sizes=cfg["sizes"], method=method, lr=lr, batch_size=batch,
                 epochs=epoch_cap(cfg, method), target_loss=min(TARGETS))
    r = dict(method=method, batch=batch, lr=lr, epochs_run=h.epoch[-1], cap_epochs=epoch_cap(cfg, method),
             final_train_loss=h.train_loss[-1], final_test_acc=h.test_acc[-1], diverged=h.diverged,
             seconds=h.seconds[-1])
    for t in TARGETS:
        i = h.first_reaching(t)
        r[f"epochs_{t}"] = h.epoch[i] if i is not None else None
        r[f"updates_{t}"] = h.matrix_updates[i] if i is not None else None
        r[f"test_acc_{t}"] = h.test_acc[i] if i is not None else None
    return r


def summarise(runs: dict, cfg) -> dict:
    sgd = runs.get("sgd|1")
    s = {"dataset": cfg["dataset"], "quick": cfg["quick"], "cap_epochs": cfg["fig5_max_epochs"],
         "cap_epochs_per_method": cfg["fig5_method_max_epochs"],
         "not_reached": sorted(k for k, r in runs.items() if r["updates_0.01"] is None)}
    if not sgd:
        return s
    for t in TARGETS:
        ref = sgd[f"updates_{t}"]
        if ref is None:
            continue
        for m in cfg["fig5_methods"]:
            ok = [(r["batch"], ref / r[f"updates_{t}"]) for r in runs.values()
                  if r["method"] == m and r[f"updates_{t}"]]
            if not ok:
                continue
            best = max(ok, key=lambda p: p[1])
            largest = max(ok, key=lambda p: p[0])
            s[f"{m}_vs_sgd_{t}"] = dict(best_ratio=best[1], best_batch=best[0], largest_batch_reached=largest[0],
                                       ratio_at_largest_batch=largest[1], ratios={str(b): q for b, q in sorted(ok)})
    return s


def run(args) -> dict:
    cfg, out = C.config(args.dataset, args.quick), C.out_dir(args)
    data = C.load(cfg)
    path = os.path.join(out, "fig5_runs.json")
    runs = C.read_json(path, {})
    jobs = [("sgd", 1)] + [(m, b) for b in cfg["fig5_batches"] for m in cfg["fig5_methods"]]
    def done(m, b):
        r = runs.get(f"{m}|{b}")
        return r is not None and (r["updates_0.01"] is not None or r["cap_epochs"] >= epoch_cap(cfg, m))

    todo = [j for j in jobs if not done(*j)]
    with tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="fig5", disable=args.no_progress) as bar:
        for m, b in todo:
            bar.set_postfix_str(f"{m} batch {b}")
            runs[f"{m}|{b}"] = one_run(data, cfg, out, m, b)
            C.write_json(path, runs)          # resumable: each finished run is kept
            bar.update(1)
    summary = summarise(runs, cfg)
    C.write_json(os.path.join(out, "fig5_batch_sweep.json"), summary)
    rows = sorted(runs.values(), key=lambda r: (r["method"], r["batch"]))
    C.write_csv(os.path.join(out, "fig5_batch_sweep.csv"), rows)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, t in enumerate(TARGETS):
        for row, what in enumerate(("epochs", "updates")):
            ax = axes[row][col]
            for m in cfg["fig5_methods"]:
                rs = [r for r in rows if r["method"] == m]
                pts = [(r["batch"], r[f"{what}_{t}"]) for r in rs if r[f"{what}_{t}"]]
                miss = [r["batch"] for r in rs if not r[f"{what}_{t}"]]
                line, = ax.loglog(*zip(*pts), "o-", label=m) if pts else ax.loglog([], [], "o-", label=m)
                if miss:   # runs that hit the cap: drawn as crosses at the cap
                    cap = [r["cap_epochs"] * (1 if what == "epochs" else -(-len(data.x_train) // r["batch"]))
                           for r in rs if not r[f"{what}_{t}"]]
                    ax.loglog(miss, cap, "x", color=line.get_color(), ms=8)
            if sgd := runs.get("sgd|1"):
                if sgd[f"{what}_{t}"]:
                    ax.axhline(sgd[f"{what}_{t}"], color="k", ls="--", lw=0.8, label="sgd (batch 1)")
            ax.set_xlabel("batch size")
            ax.set_ylabel(f"{'epochs' if what == 'epochs' else 'matrix updates'} to loss {t}")
            ax.legend(fontsize=8)
    caps = ", ".join(f"{m} {epoch_cap(cfg, m)}" for m in cfg["fig5_methods"])
    axes[0][0].set_title(f"Fig. 5 ({args.dataset}); x = epoch cap reached ({caps})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig5_batch_sweep.png"), dpi=120)
    plt.close(fig)
    return summary


def main(argv=None):
    s = run(C.parse_args(__doc__.splitlines()[0], argv, prog="python -m experiments.paper.fig5_batch_sweep"))
    for k, v in s.items():
        if k.endswith(("_0.1", "_0.01")):
            print(f"fig5 {s['dataset']} {k}: best {v['best_ratio']:.1f}x at batch {v['best_batch']}, "
                  f"{v['ratio_at_largest_batch']:.1f}x at the largest batch reaching it ({v['largest_batch_reached']})")
    print(f"fig5 {s['dataset']} not reaching 0.01 within {s['cap_epochs']} epochs "
          f"({s['cap_epochs_per_method']} per method): {s['not_reached']}")


if __name__ == "__main__":
    main()
