"""`make demo`: closed-loop training with the hardware in the loop.

A 64-32-10 ReLU MLP on scikit-learn's digits whose two layers are behavioural memristor crossbars
(default: Gokmen-Vlasov devices, golden/arrays/devices.py). Every batch:

  forward/backward   with the arrays' weights
  update             each layer's samples (16-bit words + per-sample block exponents) stream into the
                     generated SBE engine Verilog, which computes ONE rank-1 update (s, Dhat, Xhat)
  write              the engine's update stream feeds the generated update-controller Verilog, whose
                     row/column pulses drive the behavioural array (one outer-product write per batch)

The RTL is hdl/sbe_layer.py SBENetwork (one engine + controller per layer), driven by the cocotb bench
tb/benches/closed_loop_tb.py. Beside it runs the golden twin (golden/training/closed_loop.py:
fixed-point engine model -> pulse-scheme model -> the same arrays), and every batch the bench requires
the engine's update words, the write status and slot count and the arrays to be equal bit for bit. For
reference, the float twin trains the same network with float weights and float SBE
(golden/training/mlp.py).

Results: build/demo/summary.json (under SBE_BUILD_DIR when set). Every option is checked before
anything is built; a bad value stops with one line saying what is allowed (exit status 2).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from contract import microcode as P
from contract.checks import CliParser
from flow.verilog_out import BUILD
from golden.training.data import load_digits
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


def parser() -> CliParser:
    ap = CliParser(prog="python -m demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int_at_least(1), default=3, help="training epochs (>= 1; default 3)")
    ap.add_argument("--batch", type=int_at_least(1), default=32,
                    help="samples per batch, one rank-1 write per layer each (1 .. training-set size; default 32)")
    ap.add_argument("--eta", type=positive_float, default=0.5, help="learning rate in weight units (> 0; default 0.5)")
    ap.add_argument("--bl", type=int_at_least(1), default=1023,
                    help="the controllers' BL register: pulse-slot cap of one write "
                         "(1 .. 2**bl_width - 1; default 1023)")
    ap.add_argument("--device", choices=DEVICES, default="GokmenVlasov", metavar="DEVICE",
                    help=f"device preset of the arrays: {', '.join(DEVICES)} (default GokmenVlasov)")
    ap.add_argument("--sim", choices=SIMULATORS, default="verilator",
                    help="HDL simulator (default verilator; Icarus is much slower on this design)")
    ap.add_argument("--lanes", type=integer, default=1,
                    help="elements per stream beat of the engines and controllers (the blocks' range; default 1)")
    ap.add_argument("--seed", type=int_at_least(0), default=0,
                    help="data split, initialisation, shuffle, array and LFSR seeds (>= 0; default 0)")
    ap.add_argument("--analog", action="store_true",
                    help="train and evaluate through the arrays' analog reads (DAC/ADC, read noise)")
    return ap


def checked_args(argv=None):
    """(args, data, shapes, network): the options, checked against the data and the hardware blocks
    before anything is built (a bad value ends the run through the parser: one line, exit status 2)."""
    ap = parser()
    args = ap.parse_args(argv)
    data = load_digits(seed=args.seed)
    if args.batch > len(data.x_train):
        ap.error(f"argument --batch: must be at most {len(data.x_train)} (the training set), not {args.batch}")
    sizes = (data.n_features, 32, data.n_classes)
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


def main(argv=None) -> int:
    args, data, shapes, network = checked_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = (data.n_features, 32, data.n_classes)
    summary = {"data": "sklearn digits", "sizes": sizes, "epochs": args.epochs, "eta": args.eta,
               "batch": args.batch, "bl": args.bl, "device": args.device, "lanes": args.lanes,
               "analog_reads": args.analog}

    print(f"[1/2] float twin: {sizes} ReLU, float weights, float SBE, batch {args.batch}, eta {args.eta}, "
          f"{args.epochs} epochs")
    t0 = time.perf_counter()
    _, hf = train(data, sizes=sizes, method="sbe", lr=args.eta, batch_size=args.batch, epochs=args.epochs,
                  seed=args.seed)
    summary["float_twin"] = {"test_acc": hf.test_acc, "train_loss": hf.train_loss,
                             "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      test accuracy per epoch: {[round(a, 3) for a in hf.test_acc]}")

    print(f"[2/2] closed loop on {args.sim}: the generated SBE engine + update controller Verilog of each "
          f"layer {shapes} computes every update and writes it by pulses onto {args.device} crossbars; "
          "the golden twin runs in lockstep (bit-exact check every batch)")
    results = OUT / "closed_loop.json"
    t0 = time.perf_counter()
    run_bench(args.sim, network, toplevel="sbe_network",
              module="closed_loop_tb", build_name=f"demo_closed_loop_l{args.lanes}",
              params={"shapes": shapes, "seed": args.seed, "eta": args.eta, "device": args.device,
                      "lanes": args.lanes, "analog_reads": args.analog, "epochs": args.epochs,
                      "batch": args.batch, "bl": args.bl, "p_gap": 0.0, "p_stall": 0.0,
                      "results": str(results)})
    r = json.loads(results.read_text())
    summary["closed_loop_rtl"] = cl = closed_loop_summary(
        r, shapes=shapes, lanes=args.lanes, batch=args.batch, n_train=len(data.x_train), epochs=args.epochs,
        seconds=round(time.perf_counter() - t0, 1))
    for ep, acc, twin in zip(r["epochs"], r["test_acc_rtl"], r["test_acc_twin"]):
        print(f"      after epoch {ep}: test accuracy {acc:.3f} (golden twin {twin:.3f})")
    print(f"      {cl['batches']} batches compared with the golden twin (bit exact: "
          f"{cl['bit_exact_with_golden_twin']}), {cl['writes']} rank-1 writes ({cl['flagged']} flagged), "
          f"{cl['slots']} pulse slots; {_num(cl['cycles_per_batch_mean'])} clock cycles per batch (both layers "
          f"in parallel; engine bound {_num(cl['mean_batch_bound_cycles'])} for the mean batch, then the write); "
          f"simulated at {_num(r['total_cycles'] / r['wall_s'] if r.get('wall_s') else None)} cycles/s")

    (OUT / "summary.json").write_text(summary_json(summary))
    print(f"\nfinal test accuracy: float twin {hf.test_acc[-1]:.3f}; RTL closed loop on crossbars "
          f"{r['test_acc_rtl'][-1]:.3f}; wrote {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
