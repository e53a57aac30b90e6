"""cocotb bench: closed-loop training on behavioural crossbars, every update computed and written by the RTL.

The generated Verilog of hdl/sbe_layer.py SBENetwork (one SBE engine + update controller per layer)
trains a network on behavioural crossbars (golden/arrays/crossbar.py) driven by the controllers' pulse
outputs: per batch the bench does the forward/backward pass with the RTL-written arrays' weights,
streams every layer's samples (16-bit words + block exponents) into its engine, and waits for its
controller to finish the write. Beside it runs the golden twin (golden/training/closed_loop.py: SBEFixedEngine ->
PulseScheme -> Crossbar, same seeds and batches). After every batch and layer the bench requires:
the engine's update words (tap port) = the twin's, the controller's status and slot count = the twin's,
and the RTL-written array = the twin's array bit for bit.

bench_params(): {"shapes" (checked against the network), "seed", "eta", "device" (a preset name of
golden/arrays/devices.py), "lanes", "analog_reads", "bl" (the controller's BL cap), "batch" (samples per
batch, default 32), "epochs", "max_batches" (optional cap), "p_gap", "p_stall", "results" (optional JSON
path: histories, counters, cycles)}. The data set is scikit-learn's digits (split seed = seed).
"""
import json
import random
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from contract.layouts import sample_beats
from golden.arrays import devices
from golden.training.closed_loop import ClosedLoop
from golden.training.data import load_digits
from hdl.sbe_layer import SBENetwork
from tb.drivers.crossbar_driver import CrossbarDriver
from tb.drivers.reset import reset
from tb.drivers.streams import pack, unpack
from tb.drivers.updates import write_registers
from tb.runner import bench_params


class UpdateTap:
    """Collects the engine->controller update beats of layer k (l<k>_tap_valid / l<k>_tap_payload)."""

    def __init__(self, dut, k: int, layout):
        self.valid, self.payload = getattr(dut, f"l{k}_tap_valid"), getattr(dut, f"l{k}_tap_payload")
        self.layout, self.clk, self.beats = layout, dut.clk, []

    def sample(self) -> None:
        """In the read-only phase: keep the beat transferred this cycle."""
        if self.valid.value == 1:
            self.beats.append(unpack(self.layout, int(self.payload.value)))


class BeatQueue:
    """Layer k's sample stream, driven from the shared per-cycle loop (no coroutine of its own): beats
    queued by `put` go out in order, with seeded gaps on valid (probability p_gap per cycle)."""

    def __init__(self, dut, k: int, p_gap: float, seed: int):
        self.valid, self.ready = getattr(dut, f"l{k}_i__valid"), getattr(dut, f"l{k}_i__ready")
        self.payload = getattr(dut, f"l{k}_i__payload")
        self.p_gap, self.rng, self.beats, self.head = p_gap, random.Random(seed), [], 0
        self._offered = False
        self.valid.value = 0

    def put(self, beats: list[int]) -> None:
        self.beats, self.head = self.beats[self.head:] + beats, 0

    def drive(self) -> None:
        """After a rising edge: offer the next beat (a beat once offered stays until taken)."""
        if self.head < len(self.beats) and (self._offered or self.rng.random() >= self.p_gap):
            self.payload.value = self.beats[self.head]
            self.valid.value = 1
            self._offered = True
        elif self._offered or self.valid.value == 1:
            self.valid.value = 0
            self._offered = False

    def sample(self) -> None:
        if self._offered and self.ready.value == 1:
            self.head += 1
            self._offered = False


async def cycle_loop(clk, queues, drivers, taps):
    """ONE coroutine drives and watches every layer each cycle (the simulation speed is set by cocotb's
    per-await cost, so a single loop is several times faster than a coroutine per stream)."""
    while True:
        await RisingEdge(clk)
        for x in queues + drivers:
            x.drive() if isinstance(x, BeatQueue) else x.drive_ready()
        await ReadOnly()
        for x in queues + drivers + taps:
            x.sample()


@cocotb.test()
async def closed_loop_training_matches_golden_twin(dut):
    p = bench_params()
    seed = p.get("seed", 0)
    data = load_digits(seed=seed)
    kw = dict(eta=p.get("eta", 0.5), seed=seed, device=getattr(devices, p.get("device", "Noiseless"))(),
              lanes=p.get("lanes", 1), analog_reads=p.get("analog_reads", False), bl=p.get("bl", 1023),
              batch_size=p.get("batch", 32))
    rtl, twin = ClosedLoop(data, **kw), ClosedLoop(data, **kw)
    assert [tuple(s) for s in p["shapes"]] == rtl.shapes, "bench built for other layer shapes"
    model = SBENetwork(shapes=rtl.shapes, lanes=rtl.lanes, seed=seed)     # layouts only
    p_gap, p_stall = p.get("p_gap", 0.0), p.get("p_stall", 0.0)

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    regs = rtl.registers
    sources, drivers, taps = [], [], []
    for k, layer in enumerate(model.layers):
        getattr(dut, f"l{k}_clear").value = 0
        write_registers(dut, regs, layer.controller.lr_exp.shape(), prefix=f"l{k}_")
        sources.append(BeatQueue(dut, k, p_gap, seed + 10 * k))
        drivers.append(CrossbarDriver(dut, rtl.arrays[k], f"l{k}_", p_stall=p_stall, seed=seed + 10 * k + 1))
        taps.append(UpdateTap(dut, k, layer.engine.out_layout))
    await reset(dut)
    cocotb.start_soon(cycle_loop(dut.clk, sources, drivers, taps))

    async def rtl_layer(k, samples):
        layer = model.layers[k]
        beats = []
        for j, (xi, di, xe, de) in enumerate(samples):
            beats += [pack(layer.in_layout, bt) for bt in sample_beats(xi, di, layer.lanes, j == len(samples) - 1,
                                                                      xe, de)]
        writes_before, slots_before = len(drivers[k].statuses), drivers[k].slots
        sources[k].put(beats)
        await drivers[k].wait_done(writes_before + 1)
        status = drivers[k].statuses[-1]
        rtl.count_write(k, drivers[k].slots - slots_before, bool(status))
        return status, drivers[k].slots - slots_before

    epochs, cap = p.get("epochs", 1), p.get("max_batches")
    h_rtl, h_twin = rtl.new_history(), twin.new_history()
    rtl.record(h_rtl, 0)
    twin.record(h_twin, 0)
    t_wall, n_batches, last_ep, cycles_per_batch = time.time(), 0, 0, []
    for ep, idx in rtl.batches(epochs):
        if ep != last_ep and last_ep:
            rtl.record(h_rtl, last_ep)
            twin.record(h_twin, last_ep)
            dut._log.info("epoch %d: test accuracy RTL loop %.3f, golden twin %.3f", last_ep,
                          h_rtl.test_acc[-1], h_twin.test_acc[-1])
        last_ep = ep
        c0 = drivers[0].cycles
        grads = rtl.gradients(idx)
        tasks = [cocotb.start_soon(rtl_layer(k, rtl.samples(k, xs, ds))) for k, (xs, ds) in enumerate(grads)]
        for k, (xs, ds) in enumerate(twin.gradients(idx)):
            up = twin.engine_update(k, twin.samples(k, xs, ds))
            w = twin.write(k, up)
            status, slots = await tasks[k]
            want = twin.engines[k].beats(up)
            got, taps[k].beats = taps[k].beats[:len(want)], taps[k].beats[len(want):]
            assert got == want, f"batch {n_batches}, layer {k}: engine update words differ from the golden twin"
            assert status == w.plan.status, f"batch {n_batches}, layer {k}: status {status} != {w.plan.status}"
            assert slots == (0 if w.plan.status else len(w.slots)), f"batch {n_batches}, layer {k}: slot count"
            assert np.array_equal(rtl.arrays[k].weights, twin.arrays[k].weights), \
                f"batch {n_batches}, layer {k}: the RTL-written array differs from the golden twin's"
        rtl.sync_weights()
        twin.sync_weights()
        cycles_per_batch.append(drivers[0].cycles - c0)
        n_batches += 1
        if cap is not None and n_batches >= cap:
            break
    rtl.record(h_rtl, last_ep)
    twin.record(h_twin, last_ep)
    await RisingEdge(dut.clk)
    await ReadOnly()
    for k in range(len(model.layers)):
        assert bool(getattr(dut, f"l{k}_saturated").value) == twin.engines[k].flags.saturated, f"layer {k} flag"
        assert not getattr(dut, f"l{k}_framing_error").value
    dut._log.info("%d batches, %d writes, %d slots: every update word, slot count and array equals the golden "
                  "twin; test accuracy %.3f", n_batches, rtl.stats.writes, rtl.stats.slots, h_rtl.test_acc[-1])
    if p.get("results"):
        with open(p["results"], "w") as f:
            json.dump({"batches": n_batches, "writes": rtl.stats.writes, "flagged": rtl.stats.flagged,
                       "slots": rtl.stats.slots, "per_layer_slots": rtl.stats.per_layer_slots,
                       "test_acc_rtl": h_rtl.test_acc, "test_acc_twin": h_twin.test_acc,
                       "train_loss_rtl": h_rtl.train_loss, "epochs": h_rtl.epoch,
                       "cycles_per_batch_mean": float(np.mean(cycles_per_batch)),
                       "total_cycles": int(sum(cycles_per_batch)), "wall_s": time.time() - t_wall,
                       "engine_saturated": [bool(e.flags.saturated) for e in twin.engines],
                       "input_saturated": bool(rtl.input_flags.saturated)}, f)
