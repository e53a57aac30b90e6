"""Closed-loop training, golden form of the hardware: every update computed by the fixed-point SBE engine
and written by the update controller's pulse scheme onto behavioural crossbars.

Per layer and batch (hdl/sbe_layer.py is this path in RTL; tb/benches/closed_loop_tb.py runs the two side by side):

    forward/backward  digital reads of the arrays' apparent weights (as golden/training/crossbar_training.py), or
                      with analog_reads=True the arrays' analog reads (Crossbar.forward/backward: DAC,
                      ADC, read noise, aihwkit's default periphery), for training and evaluation
    samples           x and delta of each sample -> 16-bit integers + per-vector block exponents
                      (sbe_fixed.quantise_sample, the engine's input format)
    engine            SBEFixedEngine (bit-exact with hdl/sbe_engine.py): ONE (s_mant, s_exp, Dhat, Xhat)
                      per batch, in the update-stream words (contract/layouts.py)
    write             the words go unchanged (no float round trip) to PulseScheme (bit-exact with
                      hdl/update_controller.py); its slots move the devices of the layer's Crossbar;
                      a flagged write (status != 0) emits no slot, as in the RTL

The pieces are methods so a bench can run the RTL in place of `engine_update` + `write` with everything
else shared. Seeds: layer k's array uses construction_seed = seed + 101 k, noise_seed = seed + k, its
controller LFSR seed = seed + k (as golden/training/crossbar_training.py and demo.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from golden.arrays.crossbar import Crossbar
from golden.training.crossbar_training import lr_register
from golden.arrays.devices import Noiseless, PulsedDevice
from contract.fixed_point import Flags
from golden.training.mlp import MLP, History
from golden.rtl.update_controller import PulseScheme, apply_write
from golden.rtl.sbe_engine import SBEFixedEngine, quantise_sample


@dataclass
class LoopStats:
    """Counters over a run (all layers)."""

    writes: int = 0
    flagged: int = 0
    slots: int = 0
    coincidences: int = 0
    per_layer_slots: list = field(default_factory=list)


class ClosedLoop:
    """A network whose layers are crossbars updated by the engine + controller pair (golden models).

    Parameters: data (golden.data.Dataset); sizes (default n_features-32-n_classes); eta (learning rate in
    weight units, programmed as the controller's lr = eta/dw_min); batch_size; seed; device (a
    golden.devices preset instance, default Noiseless); bl (BL cap), bl_mgmt, det (controller mode);
    lanes (elements per beat, engine and controller); analog_reads (see the module docstring; read noise
    comes from each array's read_seed, so two loops with equal calls see equal noise).
    """

    def __init__(self, data, *, sizes=None, eta: float = 0.5, batch_size: int = 32, seed: int = 0,
                 device: PulsedDevice | None = None, bl: int = 1023, bl_mgmt: bool = True, det: bool = False,
                 lanes: int = 1, analog_reads: bool = False):
        self.data = data
        self.device = device or Noiseless()
        self.sizes = tuple(sizes or (data.n_features, 32, data.n_classes))
        self.batch_size, self.seed, self.lanes = int(batch_size), int(seed), int(lanes)
        self.analog_reads = bool(analog_reads)
        self.net = MLP(self.sizes, seed=seed, bias="fold")
        self.arrays = []
        for k, w in enumerate(self.net.W):
            xb = Crossbar(*w.shape, device=self.device, construction_seed=seed + 101 * k, noise_seed=seed + k)
            xb.program(w)
            self.arrays.append(xb)
        self.sync_weights()
        self.engines = [SBEFixedEngine(a=xb.a, b=xb.b, lanes=lanes) for xb in self.arrays]
        self.schemes = [PulseScheme(a=xb.a, b=xb.b, seed=seed + k) for k, xb in enumerate(self.arrays)]
        lr_mant, lr_exp = lr_register(eta, self.device.dw_min)
        self.registers = dict(lr_mant=lr_mant, lr_exp=lr_exp, bl=int(bl), det=bool(det), bl_mgmt=bool(bl_mgmt),
                              two_phase=False)
        self.eta = float(eta)
        self.input_flags = Flags()
        self.stats = LoopStats(per_layer_slots=[0] * len(self.arrays))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(xb.a, xb.b) for xb in self.arrays]

    # -- the steps of one batch --------------------------------------------------------------------
    def batches(self, epochs: int):
        """(epoch, sample indices) for every batch, the shuffle of golden.mlp.train."""
        rng = np.random.default_rng(self.seed + 1)
        n = len(self.data.x_train)
        for ep in range(1, epochs + 1):
            order = rng.permutation(n)
            for i in range(0, n, self.batch_size):
                yield ep, order[i:i + self.batch_size]

    def gradients(self, idx) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (xs with the bias column, deltas) of the batch, from the arrays' weights."""
        read, read_t = self._readers()
        xs, zs, p = self.net.forward(self.data.x_train[idx], read)
        deltas = self.net.backward(xs, zs, p, self.data.y_train[idx], read_t)
        return list(zip(xs, deltas))

    def _readers(self):
        """(forward, backward) read functions for golden.mlp.MLP: None (digital) or the arrays' reads."""
        if not self.analog_reads:
            return None, None
        return (lambda l, h: self.arrays[l].forward(h)), (lambda l, d: self.arrays[l].backward(d))

    def samples(self, layer: int, xs, deltas) -> list[tuple[list[int], list[int], int, int]]:
        """The engine's input words: (x_int, delta_int, x_exp, delta_exp) per sample."""
        cfg = self.engines[layer].cfg
        return [quantise_sample(cfg, x, d, flags=self.input_flags) for x, d in zip(xs, deltas)]

    def engine_update(self, layer: int, samples) -> dict:
        """Golden engine: stream the batch, return the update words {s_mant, s_exp, dhat, xhat}."""
        eng = self.engines[layer]
        for s in samples:
            eng.sample(*s)
        return eng.end_batch()

    def write(self, layer: int, update: dict):
        """Golden controller + array: plan and apply the write of `update`; returns the Write."""
        r = self.registers
        w = self.schemes[layer].write(update["dhat"], update["xhat"], update["s_mant"], update["s_exp"],
                                      lr_mant=r["lr_mant"], lr_exp=r["lr_exp"], bl=r["bl"], det=r["det"],
                                      bl_mgmt=r["bl_mgmt"])
        self.count_write(layer, 0 if w.plan.status else len(w.slots), bool(w.plan.status))
        if not w.plan.status:
            self.stats.coincidences += apply_write(self.arrays[layer], w)
        return w

    def count_write(self, layer: int, slots: int, flagged: bool) -> None:
        self.stats.writes += 1
        self.stats.flagged += int(flagged)
        self.stats.slots += slots
        self.stats.per_layer_slots[layer] += slots

    def sync_weights(self) -> None:
        """The network reads the arrays' apparent weights (after every batch's writes)."""
        for k, xb in enumerate(self.arrays):
            self.net.W[k] = xb.weights.copy()

    def record(self, hist: History, epoch: int) -> None:
        read, d = self._readers()[0], self.data
        hist.add(epoch, self.net.evaluate(d.x_train, d.y_train, read=read),
                 self.net.evaluate(d.x_test, d.y_test, read=read), self.stats.writes // len(self.arrays))

    def new_history(self) -> History:
        return History(method="sbe-fixed+controller+crossbar", batch_size=self.batch_size, lr=self.eta)

    # -- the golden run ----------------------------------------------------------------------------
    def train(self, epochs: int, *, max_batches: int | None = None, on_update=None, progress=None) -> History:
        """Train for `epochs` (or stop after `max_batches` batches); on_update(layer, update, write)."""
        hist = self.new_history()
        self.record(hist, 0)
        done, last_ep = 0, 0
        for ep, idx in self.batches(epochs):
            if ep != last_ep and last_ep:
                self.record(hist, last_ep)
                if progress is not None:
                    progress(last_ep, hist)
            last_ep = ep
            for k, (xs, ds) in enumerate(self.gradients(idx)):
                up = self.engine_update(k, self.samples(k, xs, ds))
                w = self.write(k, up)
                if on_update is not None:
                    on_update(k, up, w)
            self.sync_weights()
            done += 1
            if max_batches is not None and done >= max_batches:
                break
        self.record(hist, last_ep)
        if progress is not None:
            progress(last_ep, hist)
        return hist
