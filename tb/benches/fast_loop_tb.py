"""cocotb bench: fast closed-loop training, every update computed and written by the RTL, no Python await
per clock.

The generated Verilog of tb/fast_loop.py FastNetwork (hdl/sbe_layer.py SBENetwork with sample memories and
slot/update recorders) trains a network on behavioural crossbars (golden/arrays/crossbar.py). Per batch:

  1. forward/backward with the RTL-written arrays' weights (golden/training/closed_loop.py ClosedLoop)
  2. every layer's sample beats are written into its sample memory through VPI (no clock edge)
  3. one `start` strobe; the simulator runs freely (one await) until every controller has finished
  4. the recorded update beats, slot count, status and slots are read back through VPI and the slots are
     applied to the layer's array in order, one `Crossbar.apply_slot` each, as the per-slot driver does
Beside it runs the golden twin (same seeds and batches); after every batch and layer the bench requires
the update words, status, slot count and array to equal the twin's bit for bit (as the per-cycle bench
tb/benches/closed_loop_tb.py, which keeps the random-gap/stall protocol regression).

bench_params(): as closed_loop_tb.py ("shapes", "seed", "eta", "device", "lanes", "analog_reads", "bl",
"batch", "epochs", "max_batches", "results") and "dataset" ("digits" or "mnist"), "sizes" (layer widths),
"bl_mgmt", "stuck" (fraction of stuck devices), "faults" (list of {"kind": "one_sample" | "zero_batch" |
"flag_write", "batch": i}, see `apply_fault`), "progress" (optional JSON-lines path: one line per batch and per epoch record, for the
caller's progress display), "max_batch" and "max_slots" (as the FastNetwork was built), "batch_cycle_limit" (optional: clock cycles a
batch may take before the bench fails; default from the memory sizes).
"""
import dataclasses
import json
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from golden.arrays import devices
from golden.training.closed_loop import ClosedLoop
from golden.training.data import load_dataset
from tb.drivers.reset import reset
from tb.drivers.streams import unpack
from tb.drivers.updates import write_registers
from tb.fast_loop import FastNetwork, line_bits, sample_memory_words
from tb.runner import bench_params

CLOCK_NS = 10


def apply_fault(fault: dict, idx):
    """(batch indices, gradient filter or None) of a fault injected the same way into the RTL loop and
    the twin at batch fault["batch"]:
    one_sample: the batch cut to its first sample;
    zero_batch: the batch's samples (x and delta) all zero;
    flag_write: the controllers' BL register 0 for this batch (every write flagged, status bit 0, no slot).
    Stuck devices are a device parameter (bench parameter "stuck": corrupt_devices_prob of the preset)."""
    kind = fault["kind"]
    if kind == "one_sample":
        return idx[:1], None
    if kind == "zero_batch":
        return idx, lambda grads: [(np.zeros_like(x), np.zeros_like(d)) for x, d in grads]
    if kind == "flag_write":
        return idx, None
    raise ValueError(f"unknown fault kind {kind!r}")


class FastLayer:
    """The bench side of layer k of a FastNetwork: fill, read back, apply."""

    def __init__(self, dut, model: FastNetwork, k: int, array):
        self.k, self.model, self.layer, self.xb = k, model, model.layers[k], array
        sig = lambda n: getattr(dut, f"l{k}_{n}")        # noqa: E731
        self.smem, self.rec, self.tap = sig("smem"), sig("rec"), sig("tap")
        self.n_beats, self.n_slots, self.n_tap, self.status = sig("n_beats"), sig("n_slots"), sig("n_tap"), \
            sig("status")
        self.bw, self.pack_n = model.beat_width[k], model.pack
        self.max_beats = model.depths[k][0] * model.pack

    def fill(self, samples) -> None:
        """Write the batch's beats into the sample memory (VPI, no clock) and set n_beats."""
        lay = self.layer
        words, n = sample_memory_words(lay.in_layout, samples, lay.lanes, self.pack_n)
        assert n <= self.max_beats, f"layer {self.k}: {n} beats, memory holds {self.max_beats}"
        for i, w in enumerate(words):
            self.smem[i].value = w
        self.n_beats.value = n

    def taps(self) -> list[dict]:
        return [unpack(self.layer.engine.out_layout, int(self.tap[i].value)) for i in range(int(self.n_tap.value))]

    def slots(self) -> list[tuple]:
        """The recorded slots of the write, in order: (row_fire, row_pol, col_fire, col_pol) bool arrays."""
        n = int(self.n_slots.value)
        assert n <= self.model.max_slots, f"layer {self.k}: {n} slots, the recorder holds {self.model.max_slots}"
        a, b = self.xb.a, self.xb.b
        out = []
        for i in range(n):
            v = line_bits(int(self.rec[i].value), 2 * (a + b))
            out.append((v[:a], v[a:2 * a], v[2 * a:2 * a + b], v[2 * a + b:]))
        return out


@cocotb.test()
async def fast_closed_loop_matches_golden_twin(dut):
    p = bench_params()
    seed = p.get("seed", 0)
    data = load_dataset(p.get("dataset", "digits"), seed=seed)
    device = getattr(devices, p.get("device", "Noiseless"))()
    if p.get("stuck"):
        device = dataclasses.replace(device, corrupt_devices_prob=float(p["stuck"]))
    kw = dict(eta=p.get("eta", 0.5), seed=seed, device=device,
              lanes=p.get("lanes", 1), analog_reads=p.get("analog_reads", False), bl=p.get("bl", 1023),
              batch_size=p.get("batch", 32), bl_mgmt=p.get("bl_mgmt", True), sizes=p.get("sizes"))
    rtl, twin = ClosedLoop(data, **kw), ClosedLoop(data, **kw)
    assert [tuple(s) for s in p["shapes"]] == rtl.shapes, "bench built for other layer shapes"
    model = FastNetwork(shapes=rtl.shapes, lanes=rtl.lanes, seed=seed, max_batch=p.get("max_batch", 64),
                        max_slots=p.get("max_slots", 1024))          # layouts only
    faults = {f["batch"]: f for f in p.get("faults", [])}
    progress = open(p["progress"], "a", buffering=1) if p.get("progress") else None

    Clock(dut.clk, CLOCK_NS, unit="ns", impl="gpi").start()    # in C: no Python per edge
    layers = [FastLayer(dut, model, k, rtl.arrays[k]) for k in range(len(model.layers))]

    def set_registers(regs):
        for k, layer in enumerate(model.layers):
            write_registers(dut, regs, layer.controller.lr_exp.shape(), prefix=f"l{k}_")

    for k in range(len(layers)):
        getattr(dut, f"l{k}_clear").value = 0
        getattr(dut, f"l{k}_n_beats").value = 0
    dut.start.value = 0
    set_registers(rtl.registers)
    await reset(dut)

    epochs, cap = p.get("epochs", 1), p.get("max_batches")
    h_rtl, h_twin = rtl.new_history(), twin.new_history()
    t = {"rtl": 0.0, "sim": 0.0, "twin": 0.0, "eval": 0.0, "fill": 0.0, "read": 0.0, "apply": 0.0}

    def record(ep):
        t0 = time.perf_counter()
        rtl.record(h_rtl, ep)
        twin.record(h_twin, ep)
        t["eval"] += time.perf_counter() - t0
        if progress:
            progress.write(json.dumps({"epoch": ep, "test_acc_rtl": h_rtl.test_acc[-1],
                                       "test_acc_twin": h_twin.test_acc[-1], "train_loss_rtl": h_rtl.train_loss[-1],
                                       "train_loss_twin": h_twin.train_loss[-1]}) + "\n")
        dut._log.info("epoch %d: test accuracy RTL loop %.4f, golden twin %.4f", ep, h_rtl.test_acc[-1],
                      h_twin.test_acc[-1])

    record(0)
    t_wall, n_batches, last_ep, cycles_per_batch = time.perf_counter(), 0, 0, []
    for ep, idx in rtl.batches(epochs):
        if ep != last_ep and last_ep:
            record(last_ep)
        last_ep = ep
        fault = faults.get(n_batches)
        idx, zero = apply_fault(fault, idx) if fault else (idx, None)
        t0 = time.perf_counter()
        grads = rtl.gradients(idx)
        if zero:
            grads = zero(grads)
        regs = dict(rtl.registers, bl=0) if fault and fault["kind"] == "flag_write" else rtl.registers
        set_registers(regs)
        tf = time.perf_counter()
        for k, (xs, ds) in enumerate(grads):
            layers[k].fill(rtl.samples(k, xs, ds))
        t["fill"] += time.perf_counter() - tf
        c0 = get_sim_time("ns")
        ts = time.perf_counter()
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        # every beat, the engine's read-out, the controller's load and set-up and up to max_slots slots
        limit = p.get("batch_cycle_limit") or (sum(layer.max_beats + 8 * (layer.xb.a + layer.xb.b) for layer in layers)
                                               + 2 * model.max_slots + 1000)
        fired = await First(RisingEdge(dut.finished), Timer(limit * CLOCK_NS, "ns"))
        assert int(dut.finished.value), (f"batch {n_batches}: no done from every controller within {limit} cycles "
                                         f"(finished per layer: {[int(getattr(dut, f'l{k}_finished').value) for k in range(len(layers))]}, "
                                         f"slots {[int(fl.n_slots.value) for fl in layers]}, "
                                         f"update beats {[int(fl.n_tap.value) for fl in layers]}, "
                                         f"samples {[int(getattr(dut, f'l{k}_sample_count').value) for k in range(len(layers))]}, "
                                         f"busy {[int(getattr(dut, f'l{k}_busy').value) for k in range(len(layers))]})")
        del fired
        cycles_per_batch.append(round((get_sim_time("ns") - c0) / CLOCK_NS))
        t["sim"] += time.perf_counter() - ts
        results, tr = [], time.perf_counter()
        for k, fl in enumerate(layers):
            status = int(fl.status.value)
            results.append((status, fl.taps(), fl.slots() if status == 0 else int(fl.n_slots.value)))
        ta = time.perf_counter()
        t["read"] += ta - tr
        for k, (status, taps, slots) in enumerate(results):
            if status == 0:           # as the line drivers: every slot, in order (a flagged write has none)
                for slot in slots:
                    rtl.arrays[k].apply_slot(*slot)
                slots = len(slots)
            rtl.count_write(k, slots, bool(status))
            results[k] = (status, taps, slots)
        rtl.sync_weights()
        t["apply"] += time.perf_counter() - ta
        t["rtl"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        tgrads = twin.gradients(idx)
        if zero:
            tgrads = zero(tgrads)
        for k, (xs, ds) in enumerate(tgrads):
            up = twin.engine_update(k, twin.samples(k, xs, ds))
            w = twin.layers[k].write(up, **regs)
            twin.stats.apply(k, w, twin.arrays[k])
            status, taps, slots = results[k]
            assert taps == twin.engines[k].beats(up), \
                f"batch {n_batches}, layer {k}: engine update words differ from the golden twin"
            assert status == w.plan.status, f"batch {n_batches}, layer {k}: status {status} != {w.plan.status}"
            assert slots == (0 if w.plan.status else len(w.slots)), f"batch {n_batches}, layer {k}: slot count"
            assert np.array_equal(rtl.arrays[k].weights, twin.arrays[k].weights), \
                f"batch {n_batches}, layer {k}: the RTL-written array differs from the golden twin's"
        twin.sync_weights()
        t["twin"] += time.perf_counter() - t0
        n_batches += 1
        if progress:
            progress.write(json.dumps({"batch": n_batches, "cycles": cycles_per_batch[-1],
                                       "status": [r[0] for r in results]}) + "\n")
        if cap is not None and n_batches >= cap:
            break
    set_registers(rtl.registers)
    record(last_ep)
    wall = time.perf_counter() - t_wall
    for k in range(len(layers)):
        assert bool(getattr(dut, f"l{k}_saturated").value) == twin.engines[k].flags.saturated, f"layer {k} flag"
        assert not getattr(dut, f"l{k}_framing_error").value
    total = int(sum(cycles_per_batch))
    hdl_s = t["fill"] + t["sim"] + t["read"]
    dut._log.info("%d batches, %d writes (%d flagged), %d slots, %d cycles: every update word, slot count and "
                  "array equals the golden twin; test accuracy %.4f; %.0f cycles/s co-simulation (fill, run, "
                  "read back), %.0f end to end (arrays, twin and evaluation included)",
                  n_batches, rtl.stats.writes, rtl.stats.flagged, rtl.stats.slots, total, h_rtl.test_acc[-1],
                  total / max(hdl_s, 1e-9), total / max(wall, 1e-9))
    if progress:
        progress.close()
    if p.get("results"):
        pulses = [(xb.row_pulses.tolist(), xb.col_pulses.tolist()) for xb in rtl.arrays]
        coinc = [np.asarray(xb.coincidences).ravel().tolist() for xb in rtl.arrays]
        with open(p["results"], "w") as f:
            json.dump({"batches": n_batches, "writes": rtl.stats.writes, "flagged": rtl.stats.flagged,
                       "slots": rtl.stats.slots, "per_layer_slots": rtl.stats.per_layer_slots,
                       "test_acc_rtl": h_rtl.test_acc, "test_acc_twin": h_twin.test_acc,
                       "train_loss_rtl": h_rtl.train_loss, "train_loss_twin": h_twin.train_loss,
                       "train_acc_rtl": h_rtl.train_acc, "epochs": h_rtl.epoch,
                       "cycles_per_batch_mean": float(np.mean(cycles_per_batch)) if cycles_per_batch else None,
                       "total_cycles": total, "wall_s": wall, "seconds_rtl_side": t["rtl"],
                       "seconds_sim": t["sim"], "seconds_twin": t["twin"], "seconds_eval": t["eval"],
                       "seconds_fill": t["fill"], "seconds_read": t["read"], "seconds_apply": t["apply"],
                       "line_pulses": pulses, "coincidences_per_device": coinc,
                       "engine_saturated": [bool(e.flags.saturated) for e in twin.engines],
                       "input_saturated": bool(rtl.input_flags.saturated)}, f)
