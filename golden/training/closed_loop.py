"""Closed-loop training, golden form of the hardware: every update computed by the fixed-point SBE engine
and written by the update controller's pulse scheme onto behavioural crossbars.

Per layer and batch (tb/benches/closed_loop_tb.py runs the RTL and this twin side by side):

    forward/backward  digital reads of the arrays' apparent weights (as golden/training/crossbar_training.py), or
                      with analog_reads=True the arrays' analog reads (Crossbar.forward/backward: DAC,
                      ADC, read noise, aihwkit's default periphery), for training and evaluation
    samples           x and delta of each sample -> 16-bit integers + per-vector block exponents
                      (golden/rtl/sbe_engine.quantise_sample, the engine's input format)
    layer             golden/rtl/sbe_layer.py SBELayer, the twin of hdl/sbe_layer.py: the engine
                      (bit-exact with hdl/engine/sbe_engine.py) makes ONE update (s_mant, s_exp, Dhat, Xhat) per
                      batch in the update-stream words (contract/layouts.py); they go unchanged to the
                      pulse scheme (bit-exact with hdl/controller/update_controller.py)
    write             the slots move the devices of the layer's Crossbar; a flagged write (status != 0)
                      emits no slot, as in the RTL

The pieces are methods so a bench can run the RTL in place of `engine_update` + `write` with everything
else shared. Batches and epoch records: golden/training/loop.py. Seeds: layer k's array uses
construction_seed = seed + 101 k, noise_seed = seed + k, its controller LFSR seed = seed + k (as
golden/training/crossbar_training.py).
"""
from __future__ import annotations

import numpy as np

from golden.arrays.devices import Noiseless, PulsedDevice
from golden.rtl.sbe_engine import SBEFixedEngine, quantise_sample
from golden.rtl.sbe_layer import SBELayer
from golden.rtl.update_controller import PulseScheme, Write
from golden.training.crossbar_training import crossbar_layers, lr_register
from golden.training.loop import WriteStats, run_epochs, shuffled_batches
from golden.training.mlp import MLP, History
from contract.fixed_point import Flags


class ClosedLoop:
    """A network whose layers are crossbars updated by the engine + controller pair (golden models).

    Parameters: data (golden.training.data.Dataset); sizes (default n_features-32-n_classes); eta
    (learning rate in weight units, programmed as the controller's lr = eta/dw_min); batch_size; seed;
    device (a golden.arrays.devices preset instance, default Noiseless); bl (BL cap), bl_mgmt, det
    (controller mode); lanes (elements per beat, engine and controller); analog_reads (see the module
    docstring; read noise comes from each array's read_seed, so two loops with equal calls see equal noise).
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
        self.arrays = crossbar_layers(self.net, self.device, self.seed)
        self.layers = [SBELayer(xb.a, xb.b, lanes=lanes, seed=seed + k) for k, xb in enumerate(self.arrays)]
        lr_mant, lr_exp = lr_register(eta, self.device.dw_min)
        self.registers = dict(lr_mant=lr_mant, lr_exp=lr_exp, bl=int(bl), det=bool(det), bl_mgmt=bool(bl_mgmt),
                              two_phase=False)
        self.eta = float(eta)
        self.input_flags = Flags()
        self.stats = WriteStats.for_layers(len(self.arrays))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(xb.a, xb.b) for xb in self.arrays]

    @property
    def engines(self) -> list[SBEFixedEngine]:
        """Each layer's engine (golden/rtl/sbe_engine.py)."""
        return [layer.engine for layer in self.layers]

    @property
    def schemes(self) -> list[PulseScheme]:
        """Each layer's pulse scheme (golden/rtl/update_controller.py)."""
        return [layer.controller for layer in self.layers]

    # -- the steps of one batch --------------------------------------------------------------------
    def batches(self, epochs: int):
        """(epoch, sample indices) for every batch: the order of golden/training/loop.py."""
        for ep, _, idx in shuffled_batches(len(self.data.x_train), self.batch_size, epochs, self.seed):
            yield ep, idx

    def gradients(self, idx) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (xs with the bias column, deltas) of the batch, from the arrays' weights."""
        read, read_t = self._readers()
        xs, zs, p = self.net.forward(self.data.x_train[idx], read)
        deltas = self.net.backward(xs, zs, p, self.data.y_train[idx], read_t)
        return list(zip(xs, deltas))

    def _readers(self):
        """(forward, backward) read functions for MLP: None (digital) or the arrays' reads."""
        if not self.analog_reads:
            return None, None
        return (lambda l, h: self.arrays[l].forward(h)), (lambda l, d: self.arrays[l].backward(d))

    def samples(self, layer: int, xs, deltas) -> list[tuple[list[int], list[int], int, int]]:
        """The engine's input words: (x_int, delta_int, x_exp, delta_exp) per sample."""
        cfg = self.layers[layer].engine.cfg
        return [quantise_sample(cfg, x, d, flags=self.input_flags, sample=j)
                for j, (x, d) in enumerate(zip(xs, deltas))]

    def engine_update(self, layer: int, samples) -> dict:
        """Golden engine: stream the batch, return the update words {s_mant, s_exp, dhat, xhat}."""
        return self.layers[layer].update(samples)

    def write(self, layer: int, update: dict) -> Write:
        """Golden controller + array: plan and apply the write of `update`; returns the Write."""
        w = self.layers[layer].write(update, **self.registers)
        self.stats.apply(layer, w, self.arrays[layer])
        return w

    def layer_batch(self, layer: int, samples) -> tuple[dict, Write]:
        """One batch of `layer` through its SBELayer, the write applied to its array: (update words, Write)."""
        up, w = self.layers[layer].batch(samples, **self.registers)
        self.stats.apply(layer, w, self.arrays[layer])
        return up, w

    def count_write(self, layer: int, slots: int, flagged: bool) -> None:
        """Count a write made elsewhere (the RTL's, in the bench)."""
        self.stats.count(layer, slots, flagged)

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
        """Train for `epochs` (or stop after `max_batches` batches); on_update(layer, update, write) after
        every layer's write, progress(epoch, history) after every epoch record."""
        hist = self.new_history()

        def step(ep, bi, idx):
            for k, (xs, ds) in enumerate(self.gradients(idx)):
                up, w = self.layer_batch(k, self.samples(k, xs, ds))
                if on_update is not None:
                    on_update(k, up, w)
            self.sync_weights()

        run_epochs(len(self.data.x_train), batch_size=self.batch_size, epochs=epochs, seed=self.seed, step=step,
                   record=lambda ep: self.record(hist, ep), history=hist, progress=progress,
                   max_batches=max_batches)
        return hist
