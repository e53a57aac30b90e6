"""`make demo`: the most complete end-to-end path the project has today.

1. Closed-loop training, golden form: a 64-32-10 ReLU MLP on scikit-learn's digits whose two layers
   are behavioural memristor crossbars (Gokmen-Vlasov devices: 1200 states, 30 % device-to-device and
   cycle-to-cycle spread). Every batch, float SBE computes each layer's rank-1 update; it is quantised
   to the update stream (hdl/update_stream.py) and written by the pulse scheme that is the bit-exact
   twin of the update controller RTL. Beside it, its float twin: the same network trained with float
   weights (golden/mlp.py).
2. The RTL write path in the loop: every write issued to the output layer during that run is replayed
   through the generated update-controller Verilog (Verilator, cocotb), whose row/column pulses drive
   a behavioural array built with the same seeds; its final weights must equal the golden run's bit
   for bit, i.e. the run is exactly what the hardware controller would have produced.

3. The SBE engine RTL on real gradients: the output layer's last batches of that run, quantised to the
   engine's 16-bit inputs, stream through the generated engine Verilog; every (s, Dhat, Xhat) word it
   emits must equal the fixed-point golden model (golden/sbe_fixed.py) bit for bit.

Not yet closed: the engine's updates driving the controller inside the training loop (today the float
SBE computes the updates that the pulse scheme writes). Results: build/demo/summary.json.
Options: --epochs N (default 3), --sim icarus|verilator (default verilator).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from golden.crossbar_training import train_on_crossbars
from golden.data import load_digits
from golden.devices import GokmenVlasov
from golden.mlp import MLP, train

OUT = Path(__file__).resolve().parent / "build" / "demo"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--eta", type=float, default=0.5)
    ap.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = load_digits(seed=args.seed)
    sizes = (data.n_features, 32, data.n_classes)
    summary = {"data": "sklearn digits", "sizes": sizes, "epochs": args.epochs, "eta": args.eta}

    print(f"[1/4] float twin: {sizes} ReLU, float SBE, batch 32, eta {args.eta}, {args.epochs} epochs")
    t0 = time.perf_counter()
    _, hf = train(data, sizes=sizes, method="sbe", lr=args.eta, epochs=args.epochs, seed=args.seed)
    summary["float_twin"] = {"test_acc": hf.test_acc, "train_loss": hf.train_loss,
                             "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      test accuracy per epoch: {[round(a, 3) for a in hf.test_acc]}")

    print("[2/4] on crossbars (Gokmen-Vlasov devices), every update written by the pulse scheme")
    layer = len(sizes) - 2          # the output layer is replayed through the RTL
    writes, batches = [], []
    t0 = time.perf_counter()
    device = GokmenVlasov()
    _, hx, arrays, stats = train_on_crossbars(
        data, sizes=sizes, eta=args.eta, epochs=args.epochs, seed=args.seed, device=device,
        on_write=lambda l, upd: writes.append(upd) if l == layer else None,
        on_batch=lambda l, xs, ds: batches.append((xs, ds)) if l == layer and len(xs) == 32 else None,
        progress=lambda ep, h: print(f"      epoch {ep}: test accuracy {h.test_acc[-1]:.3f}", flush=True))
    xb = arrays[layer]
    summary["crossbar"] = {"device": type(device).__name__, "test_acc": hx.test_acc,
                           "train_loss": hx.train_loss, "writes": stats.writes, "skipped": stats.skipped,
                           "slots": stats.slots, "coincidences": stats.coincidences,
                           "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      {stats.writes} rank-1 writes ({stats.skipped} flagged), {stats.slots} pulse slots, "
          f"{stats.coincidences} device coincidences")

    print(f"[3/4] replay the {len(writes)} writes of layer {layer} ({xb.a}x{xb.b}) through the generated "
          f"update controller on {args.sim}")
    replay = OUT / f"replay_layer{layer}.npz"
    np.savez(replay, a=xb.a, b=xb.b, scheme_seed=args.seed + layer, device=type(device).__name__,
             construction_seed=xb.construction_seed, noise_seed=xb.noise_seed,
             W0=MLP(sizes, seed=args.seed, bias="fold").W[layer], W_final=xb.weights,
             slots=stats.per_layer_slots[layer],
             **{k: np.array([w[k] for w in writes]) for k in
                ("u", "v", "s_mant", "s_exp", "lr_mant", "lr_exp", "bl", "det", "bl_mgmt")})
    from hdl.update_controller import UpdateController
    from tb.cocotb_runner import run_bench
    t0 = time.perf_counter()
    run_bench(args.sim, UpdateController(a=xb.a, b=xb.b, seed=args.seed + layer), toplevel="update_controller",
              module="crossbar_replay_tb", build_name=f"demo_replay_layer{layer}", params={"replay": str(replay)})
    summary["rtl_replay"] = {"layer": layer, "shape": [xb.a, xb.b], "writes": len(writes),
                             "slots": stats.per_layer_slots[layer], "simulator": args.sim,
                             "bit_exact": True, "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      the RTL-written array equals the golden run bit for bit "
          f"({stats.per_layer_slots[layer]} slots, {summary['rtl_replay']['seconds']} s)")

    n_eng = 4
    print(f"[4/4] the SBE engine RTL ({args.sim}) on the last {n_eng} batches of layer {layer}: "
          "bit-exact with the fixed-point golden model")
    from golden.sbe_fixed import SBEFixed
    from hdl.sbe_engine import SBEEngine
    eng = SBEEngine(a=xb.a, b=xb.b)
    quantiser = SBEFixed(xb.a, xb.b)          # 16-bit samples with per-sample block exponents
    qs = [[quantiser.quantise(x, d) for x, d in zip(xs, ds)] for xs, ds in batches[-n_eng:]]
    recorded = OUT / f"engine_batches_layer{layer}.npz"
    np.savez(recorded, **{key: np.array([[smp[i] for smp in batch] for batch in qs])
                          for i, key in enumerate(("xs", "ds", "xe", "de"))})
    t0 = time.perf_counter()
    results = OUT / "engine_results.json"
    run_bench(args.sim, eng, toplevel="sbe_engine", module="sbe_engine_tb", build_name=f"demo_engine_layer{layer}",
              params={"cfg": {"a": xb.a, "b": xb.b}, "seed": 1, "results": str(results), "p_gap": 0, "p_stall": 0,
                      "segments": [{"batches": [[32, f"npz:{recorded}:{k}"] for k in range(n_eng)]}]})
    r = json.loads(results.read_text())
    summary["rtl_engine"] = {"layer": layer, "batches": n_eng, "words_checked": r["words"], "bit_exact": True,
                             "cycles_per_batch": [bt["cycles"] for bt in r["batches"]],
                             "streaming_bound_per_batch": 32 * (xb.a + xb.b),
                             "seconds": round(time.perf_counter() - t0, 1)}
    print(f"      {r['words']} output words bit-exact; cycles per batch {summary['rtl_engine']['cycles_per_batch']} "
          f"(streaming bound 32*(a+b) = {32 * (xb.a + xb.b)}, read-out included)")

    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nfinal test accuracy: float twin {hf.test_acc[-1]:.3f}, on crossbars {hx.test_acc[-1]:.3f}; "
          f"wrote {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
