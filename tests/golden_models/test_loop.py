"""golden/training/loop.py: the one batch order and epoch loop of the three trainers, and WriteStats."""
import dataclasses

import numpy as np
import pytest

from golden.arrays.crossbar import Crossbar
from golden.arrays.devices import Noiseless
from golden.rtl.update_controller import PulseScheme
from golden.training.closed_loop import ClosedLoop
from golden.training.crossbar_training import train_on_crossbars
from golden.training.data import load_digits
from golden.training.loop import WriteStats, run_epochs, shuffled_batches
from golden.training.mlp import train


@pytest.fixture(scope="module")
def small():
    d = load_digits(seed=0)
    return dataclasses.replace(d, x_train=d.x_train[:100], y_train=d.y_train[:100])


def test_batch_order_is_one_seeded_permutation_per_epoch():
    got = list(shuffled_batches(10, 4, 2, seed=7))
    rng = np.random.default_rng(8)
    want = []
    for ep in (1, 2):
        order = rng.permutation(10)
        want += [(ep, 0, order[:4]), (ep, 1, order[4:8]), (ep, 2, order[8:])]
    assert [(e, b) for e, b, _ in got] == [(e, b) for e, b, _ in want]
    assert all(np.array_equal(g[2], w[2]) for g, w in zip(got, want))


class _Run:
    """Callbacks of run_epochs that log what they see."""

    def __init__(self, halt_at=None, stop_after=None):
        self.log, self.halt_at, self.stop_after = [], halt_at, stop_after

    def step(self, ep, bi, idx):
        self.log.append(("batch", ep, bi, len(idx)))
        return (ep, bi) == self.halt_at

    def record(self, ep):
        self.log.append(("record", ep))

    def progress(self, ep, hist):
        self.log.append(("progress", ep))

    def stop(self, hist):
        return self.log[-2] == ("record", self.stop_after)

    def run(self, **kw):
        done = run_epochs(10, batch_size=4, epochs=3, seed=0, step=self.step, record=self.record, history=None,
                          progress=self.progress, stop=self.stop, **kw)
        return done, [e for e in self.log if e[0] != "batch"]


def test_run_epochs_records_every_epoch_then_progress():
    done, events = _Run().run()
    assert done == 9
    assert events == [("record", 0)] + [(k, ep) for ep in (1, 2, 3) for k in ("record", "progress")]


@pytest.mark.parametrize("kw,done,last_epoch", [
    ({"max_batches": 4}, 4, 2),        # cut in epoch 2: epoch 2 recorded once, then the run ends
    ({"max_batches": 3}, 3, 1),        # exactly at the end of epoch 1
    ({"max_batches": 0}, 1, 1),        # at least one batch runs
])
def test_max_batches_records_the_epoch_it_stops_in(kw, done, last_epoch):
    got, events = _Run().run(**kw)
    assert got == done
    assert events[-2:] == [("record", last_epoch), ("progress", last_epoch)]
    assert [e for e in events if e[0] == "record"] == [("record", ep) for ep in range(last_epoch + 1)]


def test_step_and_stop_end_the_run():
    done, events = _Run(halt_at=(2, 1)).run()
    assert done == 5 and events[-2:] == [("record", 2), ("progress", 2)]
    done, events = _Run(stop_after=1).run()
    assert done == 3 and events[-1] == ("progress", 1)


def test_write_stats_count_flagged_writes_without_applying_them():
    xb = Crossbar(3, 4, device=Noiseless())
    w0 = xb.weights.copy()
    sch = PulseScheme(a=3, b=4, seed=0)
    u, v = np.array([1 << 14, -(1 << 13), 0]), np.array([1 << 14, 1 << 12, 0, -(1 << 14)])
    stats = WriteStats.for_layers(2)
    flagged = sch.write(u, v, 1 << 14, 0, lr_mant=1 << 15, lr_exp=0, bl=8, bl_mgmt=True)
    assert flagged.plan.status
    stats.apply(1, flagged, xb)
    assert np.array_equal(xb.weights, w0)
    good = sch.write(u, v, 1 << 14, -24, lr_mant=1 << 15, lr_exp=0, bl=255, bl_mgmt=True)
    assert not good.plan.status and good.slots
    stats.apply(1, good, xb)
    assert (stats.writes, stats.flagged, stats.slots) == (2, 1, len(good.slots))
    assert stats.per_layer_slots == [0, len(good.slots)] and stats.coincidences > 0
    assert not np.array_equal(xb.weights, w0)


def test_the_three_trainers_see_the_same_batches(small):
    """Float trainer, crossbar trainer and closed loop take their batches from the one loop."""
    want = [idx for _, _, idx in shuffled_batches(len(small.x_train), 32, 2, seed=3)]
    float_batches, xbar_batches = [], []
    train(small, method="mbgd", epochs=2, seed=3, on_batch=lambda r: float_batches.append(r.xs) if r.layer == 0
          else None)
    train_on_crossbars(small, method="svd", epochs=2, seed=3,
                       on_batch=lambda l, xs, ds: xbar_batches.append(xs) if l == 0 else None)
    inputs = lambda idx: small.x_train[idx]      # noqa: E731
    for got in (float_batches, xbar_batches):
        assert len(got) == len(want)
        assert all(np.array_equal(g[:, :-1], inputs(i)) for g, i in zip(got, want))
    cl = ClosedLoop(small, seed=3)
    assert all(np.array_equal(i, j) for (_, i), j in zip(cl.batches(2), want))
