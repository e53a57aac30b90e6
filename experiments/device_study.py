"""Device study: what one rank-1 pulse write per batch (SBE) costs in accuracy and saves in writes, per
device model, beside the same arrays written per sample by stochastic SGD and beside float training.

Per data set (digits 64-32-10; MNIST 784-100-10 on the t10k split when its files are present, else that
part is skipped with a message), for each device preset of golden/arrays/devices.py (PRESETS) and each
fraction of stuck devices (STUCK: the preset's ``corrupt_devices_prob``), two trainings on behavioural
arrays (golden/arrays/crossbar.py; digital reads of the apparent weights, seed 0, so the two schemes see
the same arrays, the same stuck devices and the same initial network):

* ``sbe``: the golden closed loop (golden/training/closed_loop.py ClosedLoop): the fixed-point SBE engine
  (golden/rtl/sbe_engine.py) makes one rank-1 update per batch of 32, the update controller's pulse scheme
  (golden/rtl/update_controller.py, BL management, stochastic mode) writes it; learning rate eta in weight
  units (the controller's lr = eta / dw_min);
* ``sgd``: the classic stochastic update of Gokmen & Vlasov, one rank-1 pulse write per sample
  (golden/training/crossbar_training.py train_on_crossbars with the per-sample SGD method and batch 1:
  forward, backward and write per sample), through the same pulse scheme.

and, once per data set, float references without devices (golden/training/mlp.py train, float64):
``float-mbgd`` (the exact batch-mean gradient, batch 32) and ``float-sbe`` (float SBE, batch 32), with
the SBE run's eta and epochs.

Reported per job (build/device_study/<job-hash>.json): final test accuracy (and per epoch), matrix
writes per layer (issued; ``flagged`` = writes the controller refused, e.g. a scale beyond the BL cap),
pulse slots, coincidences per applied write, and pulses per device (coincidences a device saw over the
run: mean over all devices of all layers, and the max: the endurance figure).

Jobs are independent and run through joblib: the loky backend on this machine's cores by default
(``--jobs``), or with ``--address tcp://host:port`` through dask.distributed's joblib backend on a
cluster (``pip install -e '.[cluster]'``; the workers must be able to import this project, e.g. started
from the repository root with the same environment). Each result is stored as it arrives under
build/device_study/ (``--out``), named by a hash of the job's settings, so an interrupted sweep resumes
where it stopped and a finished one only redraws the table and the figure. Outputs: results.json (all
jobs), table.md (the README table), device_study.png.

Sizes (CONFIGS): the default run is sized for about 15-25 min on 2 cores (MNIST on a 4,000-image part of
the training split, few epochs); ``--full`` trains longer on the whole 8,000-image split; ``--quick``
runs one tiny job through the whole path (a smoke test, never the real numbers).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from functools import lru_cache

import numpy as np

from contract.checks import CliParser
from golden.arrays import devices as D
from golden.training.data import MNIST_T10K_DIR, Dataset, load_dataset

#: Bump to invalidate cached results when the meaning of a job changes.
VERSION = 1

PRESETS = ("Idealized", "GokmenVlasov", "ReRamES", "ReRamSB", "PCM", "EcRam", "Capacitor")
STUCK = (0.0, 0.01, 0.05)
SCHEMES = ("sbe", "sgd")
FLOATS = ("float-mbgd", "float-sbe")

#: Per data set: network, training-set cap (None: all), epochs of SBE (and the float references) and
#: of per-sample SGD, learning rates (weight units), batch size of SBE / float.
CONFIGS = {
    "digits": dict(sizes=(64, 32, 10), n_train=None, sbe_epochs=20, sgd_epochs=2, eta=0.2, sgd_eta=0.05,
                   batch=32),
    "mnist": dict(sizes=(784, 100, 10), n_train=4000, sbe_epochs=2, sgd_epochs=1, eta=0.2, sgd_eta=0.05,
                  batch=32),
}
FULL = {"digits": dict(sbe_epochs=30, sgd_epochs=5), "mnist": dict(n_train=None, sbe_epochs=10, sgd_epochs=3)}
QUICK = dict(n_train=64, n_test=60, sbe_epochs=1)


# -- jobs -------------------------------------------------------------------------------------------
def config(dataset: str, mode: str = "default") -> dict:
    if dataset not in CONFIGS:
        raise ValueError(f"dataset must be one of {tuple(CONFIGS)}, not {dataset!r}")
    cfg = dict(CONFIGS[dataset], n_test=None)
    cfg.update(FULL[dataset] if mode == "full" else QUICK if mode == "quick" else {})
    return cfg


def make_jobs(dataset: str, mode: str = "default", seed: int = 0) -> list[dict]:
    """Every job of one data set (the quick mode: one SBE job on Gokmen-Vlasov arrays, 5 % stuck)."""
    cfg = config(dataset, mode)
    common = dict(dataset=dataset, sizes=list(cfg["sizes"]), n_train=cfg["n_train"], n_test=cfg["n_test"],
                  seed=seed)
    sbe = dict(common, scheme="sbe", eta=cfg["eta"], batch=cfg["batch"], epochs=cfg["sbe_epochs"])
    sgd = dict(common, scheme="sgd", eta=cfg["sgd_eta"], batch=1, epochs=cfg["sgd_epochs"])
    if mode == "quick":
        return [dict(sbe, device="GokmenVlasov", stuck=0.05)]
    jobs = [dict(base, device=p, stuck=s) for base in (sbe, sgd) for p in PRESETS for s in STUCK]
    jobs += [dict(sbe, scheme=f, device=None, stuck=0.0) for f in FLOATS]
    return jobs


def _priority(job: dict) -> tuple:
    """Run order: the float references, then all 0 % stuck jobs of every data set, then 5 %, then 1 %, so
    that a sweep cut short (see --report) has whole columns."""
    stuck_rank = {0.0: 0, 0.05: 1, 0.01: 2}.get(job["stuck"], 3)
    return (job["device"] is not None, stuck_rank, job["dataset"] != "digits", job["scheme"])


def job_key(job: dict) -> str:
    """Cache name of a job: a hash of its settings (and VERSION)."""
    blob = json.dumps(dict(job, version=VERSION), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def device_for(name: str, stuck: float) -> D.PulsedDevice:
    if name not in PRESETS:
        raise ValueError(f"device must be one of {PRESETS}, not {name!r}")
    return dataclasses.replace(getattr(D, name)(), corrupt_devices_prob=float(stuck))


@lru_cache(maxsize=4)
def _data(dataset: str, n_train, n_test) -> Dataset:
    d = load_dataset(dataset)
    return Dataset(d.name, d.x_train[:n_train], d.y_train[:n_train], d.x_test[:n_test], d.y_test[:n_test])


def _array_metrics(arrays, stats, n_layers) -> dict:
    pulses = np.concatenate([xb.coincidences.ravel() for xb in arrays])
    applied = stats.writes - stats.flagged
    return dict(writes_per_layer=stats.writes // n_layers, flagged=stats.flagged, slots=stats.slots,
                coincidences=stats.coincidences,
                coincidences_per_write=stats.coincidences / applied if applied else 0.0,
                pulses_per_device_mean=float(pulses.mean()), pulses_per_device_max=int(pulses.max()),
                stuck_devices=int(sum(xb.stuck.sum() for xb in arrays)), devices=int(pulses.size))


def run_job(job: dict) -> dict:
    """Run one job (module docstring) and return its record: the job, the metrics, the history."""
    from golden.training.closed_loop import ClosedLoop
    from golden.training.crossbar_training import train_on_crossbars
    from golden.training.mlp import train

    t0, c0 = time.perf_counter(), time.process_time()
    data = _data(job["dataset"], job["n_train"], job["n_test"])
    sizes, n_layers = tuple(job["sizes"]), len(job["sizes"]) - 1
    scheme = job["scheme"]
    if scheme == "sbe":
        cl = ClosedLoop(data, sizes=sizes, eta=job["eta"], batch_size=job["batch"], seed=job["seed"],
                        device=device_for(job["device"], job["stuck"]))
        hist = cl.train(job["epochs"])
        metrics = _array_metrics(cl.arrays, cl.stats, n_layers)
    elif scheme == "sgd":
        _, hist, arrays, stats = train_on_crossbars(
            data, sizes=sizes, method="sgd", eta=job["eta"], batch_size=1, epochs=job["epochs"],
            seed=job["seed"], device=device_for(job["device"], job["stuck"]))
        metrics = _array_metrics(arrays, stats, n_layers)
    elif scheme in FLOATS:
        _, hist = train(data, sizes=sizes, method=scheme.split("-")[1], lr=job["eta"], batch_size=job["batch"],
                        epochs=job["epochs"], seed=job["seed"])
        metrics = dict(writes_per_layer=hist.matrix_updates[-1])
    else:
        raise ValueError(f"scheme must be one of {SCHEMES + FLOATS}, not {scheme!r}")
    metrics.update(test_acc=hist.test_acc[-1], train_loss=hist.train_loss[-1], best_test_acc=max(hist.test_acc),
                   diverged=bool(getattr(hist, "diverged", False)), seconds=time.perf_counter() - t0,
                   cpu_seconds=time.process_time() - c0)
    return dict(job=job, key=job_key(job), metrics=metrics, test_acc=list(hist.test_acc),
                train_loss=list(hist.train_loss))


# -- the sweep --------------------------------------------------------------------------------------
def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=float)
    os.replace(tmp, path)


def run_jobs(jobs: list[dict], out: str, *, n_jobs: int | None = None, address: str | None = None,
             progress: bool = True, run: bool = True) -> list[dict]:
    """Results of `jobs`: cached ones read from `out`, the others run in parallel and cached as they end
    (with run=False only the cached ones are returned)."""
    import joblib
    from tqdm import tqdm

    # by reference to the importable module (not __main__), so workers import it instead of unpickling code
    from experiments.device_study import run_job as job_fn

    os.makedirs(out, exist_ok=True)
    path = lambda j: os.path.join(out, job_key(j) + ".json")   # noqa: E731
    pending = [j for j in jobs if not os.path.exists(path(j))]
    if not run:
        jobs, pending = [j for j in jobs if os.path.exists(path(j))], []
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(pending), desc="device study", unit="job",
               disable=not progress, file=sys.stdout)
    if pending:
        if address:
            try:
                from dask.distributed import Client
            except ImportError:
                raise SystemExit("--address needs dask.distributed: pip install -e '.[cluster]'") from None
            client = Client(address)
            ctx, n = joblib.parallel_config(backend="dask"), -1
        else:
            client, ctx, n = None, joblib.parallel_config(backend="loky"), n_jobs or os.cpu_count() or 1
        try:
            with ctx:
                for rec in joblib.Parallel(n_jobs=n, return_as="generator_unordered")(
                        joblib.delayed(job_fn)(j) for j in pending):
                    _write_json(os.path.join(out, rec["key"] + ".json"), rec)
                    m = rec["metrics"]
                    bar.set_postfix_str(f"{rec['job']['dataset']} {rec['job']['scheme']} "
                                        f"{rec['job']['device'] or ''} acc {m['test_acc']:.3f}")
                    bar.update()
        finally:
            if client is not None:
                client.close()
    bar.close()
    results = []
    for j in jobs:
        with open(path(j)) as f:
            results.append(json.load(f))
    return results


# -- report -----------------------------------------------------------------------------------------
def _find(results, dataset, scheme, device=None, stuck=0.0):
    for r in results:
        j = r["job"]
        if j["dataset"] == dataset and j["scheme"] == scheme and j["device"] == device and j["stuck"] == stuck:
            return r["metrics"]
    return None


def table(results: list[dict]) -> str:
    """Markdown table: per data set, device and stuck fraction, SBE beside SGD; float references last."""
    lines = []
    for ds in dict.fromkeys(r["job"]["dataset"] for r in results):
        rs = [r for r in results if r["job"]["dataset"] == ds]
        j0 = rs[0]["job"]
        sbe = next((r["job"] for r in rs if r["job"]["scheme"] == "sbe"), None)
        sgd = next((r["job"] for r in rs if r["job"]["scheme"] == "sgd"), None)
        n_train = j0["n_train"] or "all"
        head = f"**{ds}** {'-'.join(map(str, j0['sizes']))}, training images: {n_train}"
        if sbe:
            head += f"; SBE: batch {sbe['batch']}, eta {sbe['eta']}, {sbe['epochs']} epochs"
        if sgd:
            head += f"; SGD: per sample, eta {sgd['eta']}, {sgd['epochs']} epochs"
        lines += [head, "",
                  "| device | stuck | SBE acc | SGD acc | SBE writes/layer | SGD writes/layer | "
                  "SBE pulses/device (max) | SGD pulses/device (max) | SBE coinc./write | SGD coinc./write |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in PRESETS:
            for s in STUCK:
                a, b = _find(rs, ds, "sbe", p, s), _find(rs, ds, "sgd", p, s)
                if a is None and b is None:
                    continue

                def f(m, key, fmt):
                    return "-" if m is None else format(m[key], fmt)

                def wr(m):
                    if m is None:
                        return "-"
                    return f"{m['writes_per_layer']}" + (f" ({m['flagged']} flagged)" if m["flagged"] else "")

                def pd(m):
                    return "-" if m is None else f"{m['pulses_per_device_mean']:.0f} ({m['pulses_per_device_max']})"

                lines.append(f"| {p} | {s:.0%} | {f(a, 'test_acc', '.3f')} | {f(b, 'test_acc', '.3f')} | "
                             f"{wr(a)} | {wr(b)} | {pd(a)} | {pd(b)} | {f(a, 'coincidences_per_write', '.0f')} | "
                             f"{f(b, 'coincidences_per_write', '.0f')} |")
        for fl in FLOATS:
            m = _find(rs, ds, fl)
            if m is not None:
                lines.append(f"| {fl} (no device) | - | {m['test_acc']:.3f} | - | {m['writes_per_layer']} | - "
                             f"| - | - | - | - |")
        lines.append("")
    return "\n".join(lines)


def figure(results: list[dict], path: str) -> None:
    """Per data set (rows): test accuracy, writes per layer and mean pulses per device, SBE beside SGD."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["job"]["dataset"] for r in results))
    fig, axes = plt.subplots(len(datasets), 3, figsize=(16, 4.2 * len(datasets)), squeeze=False)
    x = np.arange(len(PRESETS))
    width = 0.8 / (2 * len(STUCK))
    colors = {"sbe": ("#08519c", "#4292c6", "#9ecae1"), "sgd": ("#a63603", "#f16913", "#fdae6b")}
    for row, ds in zip(axes, datasets):
        rs = [r for r in results if r["job"]["dataset"] == ds]
        for k, (scheme, s) in enumerate((sc, s) for sc in SCHEMES for s in STUCK):
            ms = [_find(rs, ds, scheme, p, s) for p in PRESETS]
            if all(m is None for m in ms):
                continue
            off = (k - len(STUCK) * len(SCHEMES) / 2 + 0.5) * width
            col = colors[scheme][STUCK.index(s)]
            lab = f"{scheme.upper()} {s:.0%} stuck"
            for ax, key in zip(row, ("test_acc", "writes_per_layer", "pulses_per_device_mean")):
                ax.bar(x + off, [np.nan if m is None else m[key] for m in ms], width, color=col, label=lab)
        for fl, ls in zip(FLOATS, ("--", ":")):
            m = _find(rs, ds, fl)
            if m is not None:
                row[0].axhline(m["test_acc"], color="k", ls=ls, lw=1, label=f"{fl} (no device)")
        j0 = rs[0]["job"]
        titles = (f"{ds} {'-'.join(map(str, j0['sizes']))}: test accuracy", "matrix writes per layer",
                  "pulses per device (mean over the run)")
        for ax, t in zip(row, titles):
            ax.set_title(t)
            ax.set_xticks(x, PRESETS, rotation=30, ha="right")
        row[0].set_ylim(0, 1)
        row[1].set_yscale("log")
        row[2].set_yscale("log")
        row[0].legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line -----------------------------------------------------------------------------------
def mnist_available() -> bool:
    try:
        load_dataset("mnist")
        return True
    except (OSError, ValueError):
        return False


def main(argv=None) -> list[dict]:
    p = CliParser(prog="python -m experiments.device_study", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("digits", "mnist", "all"), default="all")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="one tiny job through the whole path (smoke test)")
    mode.add_argument("--full", action="store_true", help="longer training on the whole MNIST split")
    p.add_argument("--jobs", type=int, default=None, help="parallel local jobs (default: the machine's cores)")
    p.add_argument("--address", default=None, help="dask.distributed scheduler, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--out", default=None, help="output directory (default build/device_study[-quick|-full])")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--report", action="store_true",
                   help="run nothing: table and figure of the results cached so far (e.g. while a sweep runs)")
    args = p.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        p.error(f"argument --jobs: must be >= 1, not {args.jobs}")
    if args.address is not None and not args.address.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        p.error(f"argument --address: expected a scheduler address such as tcp://host:8786, not {args.address!r}")
    m = "quick" if args.quick else "full" if args.full else "default"
    out = args.out or os.path.join(os.environ.get("SBE_BUILD_DIR", "build"),
                                   "device_study" + ("" if m == "default" else f"-{m}"))
    datasets = ["digits", "mnist"] if args.dataset == "all" else [args.dataset]
    if m == "quick" and args.dataset == "all":
        datasets = ["digits"]
    if "mnist" in datasets and not mnist_available():
        print(f"device study: MNIST t10k files not found in {MNIST_T10K_DIR} (set SBE_MNIST_DIR to the "
              f"directory of t10k-images-idx3-ubyte[.gz]): skipping the MNIST part", flush=True)
        datasets.remove("mnist")
        if not datasets:
            return []
    jobs = sorted((j for ds in datasets for j in make_jobs(ds, m)), key=_priority)
    t0 = time.perf_counter()
    results = run_jobs(jobs, out, n_jobs=args.jobs, address=args.address, progress=not args.no_progress,
                       run=not args.report)
    if not results:
        print(f"device study: no cached results in {out}")
        return []
    md = table(results)
    print(md)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(md)
    _write_json(os.path.join(out, "results.json"), results)
    figure(results, os.path.join(out, "device_study.png"))
    cpu = sum(r["metrics"].get("cpu_seconds", r["metrics"]["seconds"]) for r in results)
    print(f"device study: {len(results)} jobs ({cpu:.0f} CPU s of jobs), {time.perf_counter() - t0:.0f} s "
          f"this run; table {os.path.join(out, 'table.md')}, figure {os.path.join(out, 'device_study.png')}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
