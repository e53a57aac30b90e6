"""`make demo`: closed-loop training with the hardware in the loop.

A 64-32-10 ReLU MLP on scikit-learn's digits whose two layers are behavioural memristor crossbars
(Gokmen-Vlasov devices: 1200 states, 30 % device-to-device and cycle-to-cycle spread). Every batch:

  forward/backward   with the arrays' weights
  update             each layer's samples (16-bit words + per-sample block exponents) stream into the
                     generated SBE engine Verilog, which computes ONE rank-1 update (s, Dhat, Xhat)
  write              the engine's update stream feeds the generated update-controller Verilog, whose
                     row/column pulses drive the behavioural array (one outer-product write per batch)

The RTL is hdl/sbe_layer.py SBENetwork (one engine + controller per layer) on Verilator, driven by the
cocotb bench tb/benches/closed_loop_tb.py. Beside it runs the golden twin (golden/training/closed_loop.py: fixed-point
engine model -> pulse-scheme model -> the same arrays), and every batch the bench requires the engine's
update words, the write status and slot count and the arrays to be equal bit for bit. For reference, the
float twin trains the same network with float weights and float SBE (golden/training/mlp.py).

Results: build/demo/summary.json. Options: --epochs N (default 3), --sim icarus|verilator (default
verilator; Icarus is ~30x slower on this design), --lanes L, --seed S, --eta ETA, --analog (forward and
backward passes and the evaluation through the arrays' analog reads: DAC/ADC and read noise).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from contract import microcode as P
from golden.training.data import load_digits
from golden.training.mlp import train

OUT = Path(__file__).resolve().parent / "build" / "demo"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--eta", type=float, default=0.5)
    ap.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    ap.add_argument("--lanes", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--analog", action="store_true",
                    help="train and evaluate through the arrays' analog reads (DAC/ADC, read noise)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = load_digits(seed=args.seed)
    sizes = (data.n_features, 32, data.n_classes)
    shapes = [(sizes[k + 1], sizes[k] + 1) for k in range(len(sizes) - 1)]    # (a, b), bias column folded
    summary = {"data": "sklearn digits", "sizes": sizes, "epochs": args.epochs, "eta": args.eta,
               "device": "GokmenVlasov", "lanes": args.lanes, "analog_reads": args.analog}

    print(f"[1/2] float twin: {sizes} ReLU, float weights, float SBE, batch 32, eta {args.eta}, "
          f"{args.epochs} epochs")
    t0 = time.perf_counter()
    _, hf = train(data, sizes=sizes, method="sbe", lr=args.eta, epochs=args.epochs, seed=args.seed)
    summary["float_twin"] = {"test_acc": hf.test_acc, "train_loss": hf.train_loss,
                             "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      test accuracy per epoch: {[round(a, 3) for a in hf.test_acc]}")

    print(f"[2/2] closed loop on {args.sim}: the generated SBE engine + update controller Verilog of each "
          f"layer {shapes} computes every update and writes it by pulses onto Gokmen-Vlasov crossbars; "
          "the golden twin runs in lockstep (bit-exact check every batch)")
    from hdl.sbe_layer import SBENetwork
    from tb.runner import run_bench
    results = OUT / "closed_loop.json"
    t0 = time.perf_counter()
    run_bench(args.sim, SBENetwork(shapes=shapes, lanes=args.lanes, seed=args.seed), toplevel="sbe_network",
              module="closed_loop_tb", build_name=f"demo_closed_loop_l{args.lanes}",
              params={"shapes": shapes, "seed": args.seed, "eta": args.eta, "device": "GokmenVlasov",
                      "lanes": args.lanes, "analog_reads": args.analog, "epochs": args.epochs,
                      "p_gap": 0.0, "p_stall": 0.0,
                      "results": str(results)})
    r = json.loads(results.read_text())
    bound = 32 * max(max(math.ceil((a + b) / args.lanes), len(P.CHAIN)) for a, b in shapes)
    summary["closed_loop_rtl"] = {**r, "seconds": round(time.perf_counter() - t0, 1),
                                  "bit_exact_with_golden_twin": True,
                                  "batch_bound_cycles": bound}
    for ep, acc, twin in zip(r["epochs"], r["test_acc_rtl"], r["test_acc_twin"]):
        print(f"      after epoch {ep}: test accuracy {acc:.3f} (golden twin {twin:.3f})")
    print(f"      {r['batches']} batches, {r['writes']} rank-1 writes ({r['flagged']} flagged), {r['slots']} pulse "
          f"slots; {r['cycles_per_batch_mean']:.0f} clock cycles per batch (both layers in parallel; "
          f"engine bound {bound}, then the write); simulated at {r['total_cycles'] / r['wall_s']:.0f} cycles/s")

    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nfinal test accuracy: float twin {hf.test_acc[-1]:.3f}; RTL closed loop on crossbars "
          f"{r['test_acc_rtl'][-1]:.3f}; wrote {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
