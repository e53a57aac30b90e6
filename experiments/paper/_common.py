"""Shared settings of the paper scripts: per-dataset configurations, output paths, the CLI, JSON/CSV I/O.

Caps (ours; the paper trains up to 900 epochs on 60k MNIST) bound the run time of the full run of all
four figures on digits + MNIST. Every cap is listed in CONFIGS and written into the JSON outputs; a run
that hits its epoch cap is reported as "not reached".
"""
from __future__ import annotations

import csv
import json
import os

import matplotlib

matplotlib.use("Agg")

from contract.checks import CliParser  # noqa: E402
from experiments.cli import check_dataset  # noqa: E402
from golden.training.data import Dataset, load_dataset  # noqa: E402

#: Per dataset: network, Fig. 1 network, batch grids and epoch caps (full run).
CONFIGS = {
    "digits": dict(
        sizes=(64, 32, 10), fig1_sizes=(64, 64, 32, 10), fig1_target_acc=0.90, fig1_max_epochs=100,
        fig3_batches=(32, 1024), fig3_epochs=10,
        fig4_batch=32, fig4_max_epochs=300, fig4_target=1e-4,
        fig5_batches=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1437), fig5_max_epochs=600,
        fig5_methods=("mbgd", "svd", "sbe"),
    ),
    "mnist": dict(
        sizes=(784, 100, 10), fig1_sizes=(784, 256, 128, 10), fig1_target_acc=0.90, fig1_max_epochs=30,
        fig3_batches=(32, 1024), fig3_epochs=3,
        fig4_batch=32, fig4_max_epochs=60, fig4_target=1e-4,
        fig5_batches=(8, 32, 128, 512, 2048, 4096, 8000), fig5_max_epochs=200,
        fig5_method_max_epochs={"mbgd": 900},     # MBGD epochs are cheap: the paper's 900-epoch cap
        fig5_methods=("mbgd", "svd", "sbe"),
    ),
}

#: --quick: a smoke run in seconds (subset of the data, tiny grids and caps); never the real numbers.
QUICK = dict(n_train=300, n_test=100, fig1_max_epochs=3, fig3_batches=(32, 128), fig3_epochs=1,
             fig4_max_epochs=2, fig5_batches=(32, 128), fig5_max_epochs=3, fig5_method_max_epochs={},
             lr_grid=(0.1, 0.3),
             lr_epochs=1)


def config(dataset: str, quick: bool) -> dict:
    if dataset not in CONFIGS:
        raise ValueError(f"dataset must be one of {tuple(CONFIGS)}, not {dataset!r}")
    cfg = dict(CONFIGS[dataset], dataset=dataset, quick=quick, lr_grid=None, lr_epochs=5)
    cfg.setdefault("fig5_method_max_epochs", {})
    if quick:
        cfg.update(QUICK)
    return cfg


def load(cfg: dict) -> Dataset:
    d = load_dataset(cfg["dataset"])
    if cfg["quick"]:
        d = Dataset(d.name + "-quick", d.x_train[:cfg["n_train"]], d.y_train[:cfg["n_train"]],
                    d.x_test[:cfg["n_test"]], d.y_test[:cfg["n_test"]])
    return d


def parse_args(description: str, argv=None, prog: str | None = None):
    """The options of one figure script; the data set is loaded once to check that it is there."""
    p = CliParser(prog=prog, description=description)
    p.add_argument("--dataset", choices=tuple(CONFIGS), default="digits")
    p.add_argument("--quick", action="store_true", help="fast smoke run (data subset, tiny grids and caps)")
    p.add_argument("--out", default=None, help="output directory (default build/paper/<dataset>[-quick])")
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bar")
    args = p.parse_args(argv)
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        p.error(f"argument --out: {args.out} is not a directory")
    check_dataset(p, args.dataset)
    return args


def out_dir(args) -> str:
    d = args.out or os.path.join("build", "paper", args.dataset + ("-quick" if args.quick else ""))
    os.makedirs(d, exist_ok=True)
    return d


def lr_cache_path(out: str) -> str:
    return os.path.join(out, "lr_cache.json")


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=float)
    os.replace(tmp, path)


def read_json(path: str, default=None):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return default


def write_csv(path: str, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    for r in rows[1:]:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def tuned_lr(data, cfg, method: str, batch: int, out: str) -> float:
    """The paper's per-(method, batch) rate, cached in <out>/lr_cache.json."""
    from experiments.lr_tuning import GRID, tune_lr

    r = tune_lr(data, method, batch, sizes=cfg["sizes"], epochs=cfg["lr_epochs"],
                grid=cfg["lr_grid"] or GRID, cache_path=lr_cache_path(out))
    return r["lr"]
