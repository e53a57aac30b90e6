"""`make demo`: closed-loop training with the hardware in the loop.

A ReLU MLP (digits 64-32-10 by default; `--dataset mnist`: MNIST 784-100-10 on the t10k split of
golden/training/data.py) whose layers are behavioural memristor crossbars (default: Gokmen-Vlasov devices,
golden/arrays/devices.py). Every batch:

  forward/backward   with the arrays' weights
  update             each layer's samples (16-bit words + per-sample block exponents) stream into the
                     generated SBE engine Verilog, which computes ONE rank-1 update (s, Dhat, Xhat)
  write              the engine's update stream feeds the generated update-controller Verilog, whose
                     row/column pulse slots drive the behavioural array (one outer-product write per batch)

The RTL is hdl/sbe_layer.py SBENetwork (one engine + controller per layer). The default fast loop
(tb/fast_loop.py, tb/benches/fast_loop_tb.py) loads each batch into sample memories beside the RTL and
lets the simulator run until every controller is done, then applies the recorded slots to the arrays in
order; `--loop per-cycle` drives the same RTL one clock at a time (tb/benches/closed_loop_tb.py, slow).
Beside it runs the golden twin (golden/training/closed_loop.py: fixed-point engine model -> pulse-scheme
model -> the same arrays), and every batch the bench requires the engine's update words, the write status
and slot count and the arrays to be equal bit for bit. For reference, float SBE (and, on MNIST, float
MBGD) trains the same network with float weights (golden/training/mlp.py).

Defaults (eta, batch, BL, epochs) come from the golden sweep `make demo-settings`
(experiments/demo_settings.py; README "Demo"). Results: build/demo/summary.json and build/demo/demo.png
(under SBE_BUILD_DIR when set); simulator and compiler output in build/sim/demo_*/<sim>/run.log (shown
with -v or VERBOSE=1). Every option is checked before anything is built; a bad value stops with one
line saying what is allowed (exit status 2).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
import warnings

from amaranth.hdl import UnusedElaboratable

from contract import microcode as P
from contract.checks import CliParser
from flow.verilog_out import BUILD
from golden.training.data import load_dataset
from golden.training.mlp import train
from tb.runner import SIMULATORS, run_bench

OUT = BUILD / "demo"
#: Device presets of golden/arrays/devices.py that take pulses (Ideal has no pulse step).
DEVICES = ("GokmenVlasov", "Noiseless", "Idealized", "ReRamES", "ReRamSB", "PCM", "EcRam", "Capacitor")


def integer(text: str) -> int:
    """argparse type: an integer (its range is checked by the hardware blocks)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def int_at_least(lo: int):
    """argparse type: an integer >= lo."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, not {value}")
        return value
    return parse


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text}")
    return value


#: Per data set: hidden width and the demo's training settings (digits: the golden sweep's choice,
#: experiments/demo_settings.py; MNIST: the same eta and batch, one epoch of the 8,000-image split).
DEFAULTS = {"digits": dict(hidden=32, eta=0.2, batch=32, bl=1023, epochs=15),
            "mnist": dict(hidden=100, eta=0.2, batch=32, bl=1023, epochs=1)}


def parser() -> CliParser:
    ap = CliParser(prog="python -m demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d, m = DEFAULTS["digits"], DEFAULTS["mnist"]
    ap.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                    help="scikit-learn digits (64-32-10) or MNIST t10k (784-100-10) (default digits)")
    ap.add_argument("--epochs", type=int_at_least(1), default=None,
                    help=f"training epochs (>= 1; default {d['epochs']} on digits, {m['epochs']} on MNIST)")
    ap.add_argument("--batch", type=int_at_least(1), default=None,
                    help="samples per batch, one rank-1 write per layer each (1 .. training-set size; "
                         f"default {d['batch']})")
    ap.add_argument("--eta", type=positive_float, default=None,
                    help=f"learning rate in weight units (> 0; default {d['eta']})")
    ap.add_argument("--bl", type=int_at_least(1), default=None,
                    help="the controllers' BL register: pulse-slot cap of one write "
                         f"(1 .. 2**bl_width - 1; default {d['bl']})")
    ap.add_argument("--device", choices=DEVICES, default="GokmenVlasov", metavar="DEVICE",
                    help=f"device preset of the arrays: {', '.join(DEVICES)} (default GokmenVlasov)")
    ap.add_argument("--sim", choices=SIMULATORS, default="verilator",
                    help="HDL simulator (default verilator; Icarus is much slower on this design)")
    ap.add_argument("--loop", choices=("fast", "per-cycle"), default="fast",
                    help="fast: one simulator call per batch (default); per-cycle: one Python await per clock")
    ap.add_argument("--lanes", type=integer, default=1,
                    help="elements per stream beat of the engines and controllers (the blocks' range; default 1)")
    ap.add_argument("--seed", type=int_at_least(0), default=0,
                    help="data split, initialisation, shuffle, array and LFSR seeds (>= 0; default 0)")
    ap.add_argument("--analog", action="store_true",
                    help="train and evaluate through the arrays' analog reads (DAC/ADC, read noise)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the simulator's and compiler's output (also VERBOSE=1)")
    return ap


class DatasetMissing(Exception):
    """The chosen data set's files are absent (MNIST): the demo is skipped, not failed."""


def checked_args(argv=None):
    """(args, data, shapes, network): the options, checked against the data and the hardware blocks
    before anything is built (a bad value ends the run through the parser: one line, exit status 2).
    Options left out take the data set's DEFAULTS. Raises DatasetMissing when the data set is absent."""
    ap = parser()
    args = ap.parse_args(argv)
    for k, v in DEFAULTS[args.dataset].items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    try:
        data = load_dataset(args.dataset, seed=args.seed)
    except FileNotFoundError as e:
        raise DatasetMissing(str(e)) from None
    if args.batch > len(data.x_train):
        ap.error(f"argument --batch: must be at most {len(data.x_train)} (the training set), not {args.batch}")
    sizes = (data.n_features, args.hidden, data.n_classes)
    shapes = [(sizes[k + 1], sizes[k] + 1) for k in range(len(sizes) - 1)]    # (a, b), bias column folded
    from hdl.sbe_layer import SBENetwork
    try:
        network = SBENetwork(shapes=shapes, lanes=args.lanes, seed=args.seed)
    except (TypeError, ValueError) as e:      # the blocks' own message, e.g. the lanes range
        option = str(e).split()[0]
        if option == "seed":
            ap.error(f"argument --seed: layer k uses seed + k, for k < {len(shapes)}: {e}")
        ap.error(f"argument --{option}: {e}" if option == "lanes" else str(e))
    bl_max = (1 << network.layers[0].controller.bl_width) - 1
    if args.bl > bl_max:
        ap.error(f"argument --bl: must be at most {bl_max} (the controllers' bl register), not {args.bl}")
    return args, data, shapes, network


def _finite(x):
    """x with every non-finite float (NaN, inf) replaced by None, through lists and dicts."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.0f}"


def closed_loop_summary(r: dict, *, shapes, lanes: int, batch: int, n_train: int, epochs: int,
                        seconds: float) -> dict:
    """The summary's "closed_loop_rtl" entry from the closed-loop bench's results `r`
    (tb/benches/closed_loop_tb.py; the bench asserts every batch it runs equal to the golden twin, so the
    batches in its results are the batches compared). bit_exact_with_golden_twin is True when at least
    one batch was compared and None when none was (nothing to claim); cycle means are None, never NaN,
    when no batch ran."""
    n = int(r.get("batches", 0))
    per_sample = max(max(math.ceil((a + b) / lanes), len(P.CHAIN)) for a, b in shapes)
    out = _finite({**r, "seconds": seconds})
    out.update(batches_compared_with_golden_twin=n, bit_exact_with_golden_twin=(True if n > 0 else None),
               batch_bound_cycles=batch * per_sample,      # a full batch; an epoch's last batch may be short
               mean_batch_bound_cycles=(per_sample * n_train * epochs / n if n > 0 else None))
    if n == 0:
        out["cycles_per_batch_mean"] = None
    return out


def summary_json(summary: dict) -> str:
    """The summary as strict JSON (no NaN or Infinity: non-finite numbers are written as null)."""
    return json.dumps(_finite(summary), indent=2, allow_nan=False)


def _epoch_line(ep: int, rtl: float, twin: float, ref: list, mbgd: list) -> str:
    at = lambda h: f"{h[ep]:.3f}" if ep < len(h) else "  n/a"       # noqa: E731
    return (f"  epoch {ep:>3}: test accuracy RTL loop {rtl:.3f} | golden twin {twin:.3f} | float SBE {at(ref)}"
            f" | float MBGD {at(mbgd)}")


def run_rtl_loop(args, data, shapes, network, term) -> dict:
    """Build the RTL and train through it (simulator in a thread; this thread shows one progress bar for
    the build and one for the training, from the bench's progress file); returns the bench's results."""
    from tqdm import tqdm
    results, progress = OUT / "closed_loop.json", OUT / "progress.jsonl"
    for f in (results, progress):
        f.unlink(missing_ok=True)
    n_batches = math.ceil(len(data.x_train) / args.batch) * args.epochs
    params = {"shapes": shapes, "sizes": [data.n_features, args.hidden, data.n_classes], "seed": args.seed,
              "eta": args.eta, "device": args.device, "lanes": args.lanes, "analog_reads": args.analog,
              "epochs": args.epochs, "batch": args.batch, "bl": args.bl, "dataset": args.dataset,
              "results": str(results)}
    if args.loop == "fast":
        from tb.fast_loop import FastNetwork
        component = FastNetwork(shapes=shapes, lanes=args.lanes, seed=args.seed, max_batch=args.batch,
                                max_slots=args.bl)
        kw = dict(toplevel="fast_network", module="fast_loop_tb", lean=True,
                  build_name=f"demo_fast_{args.dataset}_l{args.lanes}_b{args.batch}_bl{args.bl}")
        params.update(max_batch=args.batch, max_slots=args.bl, progress=str(progress))
    else:
        component, kw = network, dict(toplevel="sbe_network", module="closed_loop_tb",
                                      build_name=f"demo_closed_loop_{args.dataset}_l{args.lanes}")
        params.update(p_gap=0.0, p_stall=0.0)
    error = []

    def work():
        try:
            run_bench(args.sim, component, params=params, **kw)
        except BaseException as e:           # noqa: BLE001 - re-raised in the main thread
            error.append(e)
    th = threading.Thread(target=work, daemon=True)
    th.start()
    build = tqdm(total=1, desc=f"build ({args.sim}: Verilog, compile)", file=term, leave=True,
                 bar_format="{desc}: {elapsed}{postfix}")
    bar, seen, ref = None, 0, args._float_ref
    while th.is_alive() or seen < (len(progress.read_text().splitlines()) if progress.exists() else 0):
        lines = progress.read_text().splitlines() if progress.exists() else []
        for line in lines[seen:]:
            rec = json.loads(line)
            if bar is None:
                build.update(1)
                build.close()
                bar = tqdm(total=n_batches, desc=f"train (RTL loop + twin on {args.sim})", unit="batch",
                           file=term, leave=True)
            if "batch" in rec:
                bar.update(1)
            else:
                bar.write(_epoch_line(rec["epoch"], rec["test_acc_rtl"], rec["test_acc_twin"], ref["sbe"],
                                      ref["mbgd"]), file=term)
        seen = len(lines)
        if bar is None:
            build.refresh()                 # the elapsed time while the simulator builds
        th.join(timeout=0.5)
    (bar or build).close()
    if error:
        raise error[0]
    return json.loads(results.read_text())


def plot(summary: dict, r: dict, path) -> None:
    """Accuracy and training loss per epoch (RTL loop, twin, float SBE, float MBGD) and the histogram of
    pulses (coincidences) per device of each layer's array."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    ref = summary["float_reference"]
    for name, acc, loss, style in (("RTL loop", r["test_acc_rtl"], r["train_loss_rtl"], "-o"),
                                   ("golden twin", r["test_acc_twin"], r["train_loss_twin"], "--"),
                                   ("float SBE", ref["sbe"]["test_acc"], ref["sbe"]["train_loss"], ":"),
                                   ("float MBGD", ref["mbgd"]["test_acc"], ref["mbgd"]["train_loss"], "-.")):
        ax[0].plot(range(len(acc)), acc, style, label=name, ms=3)
        ax[1].plot(range(len(loss)), loss, style, label=name, ms=3)
    ax[0].set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="test accuracy")
    ax[1].set(xlabel="epoch", ylabel="training loss", title="training loss (cross-entropy)")
    for k, c in enumerate(r.get("coincidences_per_device", [])):
        ax[2].hist(np.asarray(c), bins=40, alpha=0.6, label=f"layer {k} {tuple(summary['shapes'][k])}")
    ax[2].set(xlabel="pulses (coincidences) per device", ylabel="devices", yscale="log",
              title="pulses per device, whole run")
    for a in ax:
        a.legend(fontsize=8)
    fig.suptitle(f"{summary['data']} {tuple(summary['sizes'])}, {summary['device']} crossbars, eta "
                 f"{summary['eta']}, batch {summary['batch']}, BL {summary['bl']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    try:
        args, data, shapes, network = checked_args(argv)
    except DatasetMissing as e:
        print(f"demo skipped: the {argv_dataset(argv)} data set is absent ({e}); set SBE_MNIST_DIR to the folder "
              "holding t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz")
        return 0
    if args.verbose:
        os.environ["VERBOSE"] = "1"
    # the option check builds the blocks (their own parameter checks); the fast loop elaborates a wrapper
    warnings.simplefilter("ignore", UnusedElaboratable)
    from tqdm import tqdm
    term = os.fdopen(os.dup(2), "w", buffering=1)     # the console, also while the simulator's output is logged
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = (data.n_features, args.hidden, data.n_classes)
    summary = {"data": data.name, "sizes": sizes, "shapes": shapes, "epochs": args.epochs, "eta": args.eta,
               "batch": args.batch, "bl": args.bl, "device": args.device, "lanes": args.lanes, "loop": args.loop,
               "sim": args.sim, "analog_reads": args.analog, "n_train": len(data.x_train), "n_test": len(data.x_test)}
    print(f"demo: {data.name} {sizes} ReLU on {args.device} crossbars, eta {args.eta}, batch {args.batch}, "
          f"BL {args.bl}, {args.epochs} epochs; RTL ({args.loop} loop on {args.sim}) and golden twin in lockstep",
          file=term)

    t0 = time.perf_counter()
    ref = {}
    with tqdm(total=2 * args.epochs, desc="float reference (SBE, MBGD)", unit="epoch", file=term) as bar:
        for method in ("sbe", "mbgd"):
            _, h = train(data, sizes=sizes, method=method, lr=args.eta, batch_size=args.batch, epochs=args.epochs,
                         seed=args.seed, progress=lambda ep, hist: bar.update(1))
            ref[method] = {"test_acc": h.test_acc, "train_loss": h.train_loss}
    summary["float_reference"] = ref
    summary["float_reference"]["seconds"] = round(time.perf_counter() - t0, 1)
    args._float_ref = {m: ref[m]["test_acc"] for m in ("sbe", "mbgd")}

    t0 = time.perf_counter()
    r = run_rtl_loop(args, data, shapes, network, term)
    summary["closed_loop_rtl"] = cl = closed_loop_summary(
        r, shapes=shapes, lanes=args.lanes, batch=args.batch, n_train=len(data.x_train), epochs=args.epochs,
        seconds=round(time.perf_counter() - t0, 1))
    cl.pop("coincidences_per_device", None)
    cl.pop("line_pulses", None)
    if args.loop == "per-cycle":        # the per-cycle bench reports per epoch only at the end
        for ep, acc, twin in zip(r["epochs"], r["test_acc_rtl"], r["test_acc_twin"]):
            print(_epoch_line(ep, acc, twin, args._float_ref["sbe"], args._float_ref["mbgd"]), file=term)
        r.setdefault("train_loss_twin", r["train_loss_rtl"])

    rate = r["total_cycles"] / r["wall_s"] if r.get("wall_s") else None
    rows = [("RTL loop (engine + controller Verilog, crossbars)", r["test_acc_rtl"][-1], r["train_loss_rtl"][-1]),
            ("golden twin (bit-exact model)", r["test_acc_twin"][-1], r["train_loss_twin"][-1]),
            ("float SBE (float weights)", ref["sbe"]["test_acc"][-1], ref["sbe"]["train_loss"][-1]),
            ("float MBGD (float weights)", ref["mbgd"]["test_acc"][-1], ref["mbgd"]["train_loss"][-1])]
    print(f"\n{'after ' + str(args.epochs) + ' epochs':<52} {'test acc':>9} {'train loss':>11}", file=term)
    for name, acc, loss in rows:
        print(f"{name:<52} {acc:>9.3f} {loss:>11.3f}", file=term)
    print(f"{cl['batches']} batches compared with the golden twin, bit exact: {cl['bit_exact_with_golden_twin']}; "
          f"{cl['writes']} rank-1 writes ({cl['flagged']} flagged), {cl['slots']} pulse slots; "
          f"{_num(cl['cycles_per_batch_mean'])} clock cycles per batch; {_num(rate)} simulated cycles/s "
          f"end to end; RTL loop {cl['seconds']:.0f} s (build included)", file=term)
    try:
        plot(summary, r, OUT / "demo.png")
        summary["plot"] = str(OUT / "demo.png")
    except Exception as e:          # noqa: BLE001 - a plot failure must not lose the results
        print(f"plot failed: {e}", file=term)
    (OUT / "summary.json").write_text(summary_json(summary))
    print(f"wrote {OUT / 'summary.json'}" + (f" and {summary['plot']}" if "plot" in summary else ""), file=term)
    return 0


def argv_dataset(argv) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    return argv[argv.index("--dataset") + 1] if "--dataset" in argv[:-1] else "chosen"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
