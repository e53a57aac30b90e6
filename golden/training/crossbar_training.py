"""Training with the weights on behavioural crossbars: every update is written by pulses.

Each layer's weights (bias folded in as a constant-1 column, as in golden/training/mlp.py) live on a
`Crossbar`; per batch:

    forward/backward  with the array's apparent weights (digital, ideal periphery: analog reads are a
                      separate study, see Crossbar.forward/backward)
    update direction  from the layer's UpdateMethod (float SBE by default; the fixed-point engine model
                      or the RTL plug in through `method_factory`, as in golden.training.mlp.train)
    quantisation      to the update stream of contract/layouts.py: Q1.15 Dhat and Xhat, s = s_mant*2**s_exp
    write             golden.rtl.update_controller.PulseScheme (the bit-exact twin of hdl/controller/update_controller.py)
                      turns (s, Dhat, Xhat) into row/column pulse slots; the array applies coincidences

The learning rate is given in weight units (eta) and programmed as eta/dw_min device steps, the
controller's `lr` register (lr_mant * 2**lr_exp). A write the controller flags (status != 0, e.g. the
scale does not fit in the BL cap) is skipped, as the hardware skips it, and counted (WriteStats.flagged).
Batches and epoch records: golden/training/loop.py, the same as the float twin (`golden.training.mlp.train`,
same initialisation, same batches), which is the reference. Seeds: layer l's array uses
construction_seed = seed + 101 l and noise_seed = seed + l, its controller LFSR seed = seed + l.
"""
from __future__ import annotations

from golden.arrays.crossbar import Crossbar
from golden.arrays.devices import Noiseless, PulsedDevice
from golden.training.loop import WriteStats, run_epochs
from golden.training.mlp import MLP, History, MethodFactory, method_factory_for
from contract.fixed_point import quantise_scale, quantise_unit
from golden.rtl.update_controller import PulseScheme


def lr_register(eta: float, dw_min: float, width: int = 16) -> tuple[int, int]:
    """eta in weight units -> (lr_mant, lr_exp) with eta/dw_min = lr_mant * 2**lr_exp, lr_mant unsigned."""
    if not eta > 0:
        raise ValueError(f"eta must be positive, not {eta!r}")
    mant, exp = quantise_scale(eta / dw_min, width + 1)   # width+1: the sign bit is not needed
    return int(mant), int(exp)


def crossbar_layers(net: MLP, device: PulsedDevice, seed: int) -> list[Crossbar]:
    """One Crossbar per layer of `net`, programmed with its weights (seeds: module docstring); `net.W` is
    set to the arrays' apparent weights."""
    arrays = []
    for l, w in enumerate(net.W):
        xb = Crossbar(*w.shape, device=device, construction_seed=seed + 101 * l, noise_seed=seed + l)
        xb.program(w)
        arrays.append(xb)
        net.W[l] = xb.weights.copy()
    return arrays


def train_on_crossbars(data, *, sizes=None, method: str = "sbe", eta: float = 0.5, batch_size: int = 32,
                       epochs: int = 5, seed: int = 0, device: PulsedDevice | None = None,
                       bl: int = 1023, bl_mgmt: bool = True, det: bool = False,
                       method_factory: MethodFactory | None = None, elem_width: int = 16,
                       on_write=None, on_batch=None, progress=None) -> tuple[MLP, History, list[Crossbar], WriteStats]:
    """Train an MLP whose layers are crossbars written by pulses; returns (net view, history, arrays, stats).

    `net.W` mirrors the arrays' apparent weights after every batch (it is how forward/backward read them).
    on_write(layer, update) is called for every write issued, with the update as the controller sees it:
    a dict u, v (Q1.F ints), s_mant, s_exp, lr_mant, lr_exp, bl, det, bl_mgmt, two_phase (the format of
    tb/stimulus.py), so the same writes can be replayed through the RTL.
    on_batch(layer, xs, deltas) sees each layer's batch (inputs with the bias column, deltas) first.
    progress(epoch, history) is called after every epoch.
    """
    device = device or Noiseless()
    sizes = sizes or (data.n_features, 32, data.n_classes)
    net = MLP(sizes, seed=seed, bias="fold")
    arrays = crossbar_layers(net, device, seed)
    schemes = [PulseScheme(a=xb.a, b=xb.b, elem_width=elem_width, seed=seed + l) for l, xb in enumerate(arrays)]
    lr_mant, lr_exp = lr_register(eta, device.dw_min)
    factory = method_factory or method_factory_for(method, seed=seed)
    methods = [factory(l, *w.shape) for l, w in enumerate(net.W)]
    stats = WriteStats.for_layers(len(arrays))
    hist = History(method=f"{method}+crossbar", batch_size=batch_size, lr=eta)
    x, y = data.x_train, data.y_train

    def record(ep):
        hist.add(ep, net.evaluate(x, y), net.evaluate(data.x_test, data.y_test), stats.writes // len(arrays))

    def step(ep, bi, idx):
        xs, zs, p = net.forward(x[idx])
        deltas = net.backward(xs, zs, p, y[idx])
        for l, (m, xb, sch) in enumerate(zip(methods, arrays, schemes)):
            if on_batch is not None:
                on_batch(l, xs[l], deltas[l])
            for t in m.batch(xs[l], deltas[l]):
                s_mant, s_exp = quantise_scale(t.scale, sch.mant_width)
                upd = dict(u=quantise_unit(t.u, elem_width), v=quantise_unit(t.v, elem_width), s_mant=s_mant,
                           s_exp=s_exp, lr_mant=lr_mant, lr_exp=lr_exp, bl=bl, det=det,
                           bl_mgmt=bl_mgmt, two_phase=False)
                if on_write is not None:
                    on_write(l, upd)
                stats.apply(l, sch.write(upd["u"], upd["v"], s_mant, s_exp, lr_mant=lr_mant, lr_exp=lr_exp,
                                         bl=bl, det=det, bl_mgmt=bl_mgmt), xb)
            net.W[l] = xb.weights.copy()

    run_epochs(len(x), batch_size=batch_size, epochs=epochs, seed=seed, step=step, record=record, history=hist,
               progress=progress)
    return net, hist, arrays, stats
