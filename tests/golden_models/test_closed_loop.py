"""golden/training/closed_loop.py: the golden twin of the RTL closed loop (engine words -> pulse scheme -> arrays)."""
import numpy as np
import pytest

from golden.training.closed_loop import ClosedLoop
from golden.training.data import load_digits
from golden.arrays.devices import GokmenVlasov
from golden.training.mlp import MLP
from golden.rtl.update_controller import PulseScheme


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_one_epoch_learns_and_writes_once_per_layer_per_batch(digits):
    cl = ClosedLoop(digits, device=GokmenVlasov(), eta=0.5)
    w0 = [xb.weights.copy() for xb in cl.arrays]
    hist = cl.train(1)
    n_batches = -(-len(digits.x_train) // 32)
    assert cl.stats.writes == 2 * n_batches and cl.stats.flagged == 0
    assert cl.stats.slots == sum(cl.stats.per_layer_slots) > 0
    assert all(not np.array_equal(w, xb.weights) for w, xb in zip(w0, cl.arrays))
    assert hist.test_acc[0] < 0.3 and hist.test_acc[-1] > 0.4          # chance is 0.1


def test_update_words_reach_the_pulse_scheme_unchanged(digits):
    """The write of a batch is exactly PulseScheme.write of the engine's integer words (no float trip)."""
    cl = ClosedLoop(digits, device=GokmenVlasov(), eta=0.5)
    scheme = PulseScheme(a=cl.arrays[1].a, b=cl.arrays[1].b, seed=1)
    _, idx = next(cl.batches(1))
    xs, ds = cl.gradients(idx)[1]
    up = cl.engine_update(1, cl.samples(1, xs, ds))
    w = cl.write(1, up)
    r = cl.registers
    want = scheme.write(up["dhat"], up["xhat"], up["s_mant"], up["s_exp"], lr_mant=r["lr_mant"], lr_exp=r["lr_exp"],
                        bl=r["bl"], det=r["det"], bl_mgmt=r["bl_mgmt"])
    assert len(w.slots) == len(want.slots) > 0
    assert all(all(np.array_equal(p, q) for p, q in zip(s, t)) for s, t in zip(w.slots, want.slots))


def test_analog_reads_are_reproducible_and_differ_from_digital(digits):
    """Equal seeds and calls give bit-identical runs (what the RTL bench's lockstep twin relies on)."""
    runs = [ClosedLoop(digits, device=GokmenVlasov(), eta=0.5, analog_reads=True) for _ in range(2)]
    digital = ClosedLoop(digits, device=GokmenVlasov(), eta=0.5)
    for cl in runs + [digital]:
        cl.train(1, max_batches=4)
    assert all(np.array_equal(x.weights, y.weights) for x, y in zip(runs[0].arrays, runs[1].arrays))
    assert not all(np.array_equal(x.weights, y.weights) for x, y in zip(runs[0].arrays, digital.arrays))


def test_mlp_read_hooks_default_to_the_digital_products():
    rng = np.random.default_rng(3)
    net = MLP((6, 5, 3), seed=2, bias="fold")
    x, y = rng.standard_normal((4, 6)), np.array([0, 1, 2, 1])
    xs, zs, p = net.forward(x)
    xs2, zs2, p2 = net.forward(x, lambda l, h: h @ net.W[l].T)
    assert all(np.array_equal(u, v) for u, v in zip(zs, zs2)) and np.array_equal(p, p2)
    d1 = net.backward(xs, zs, p, y)
    d2 = net.backward(xs, zs, p, y, lambda l, d: d @ net.W[l])
    assert all(np.array_equal(u, v) for u, v in zip(d1, d2))


def test_train_hooks_and_the_bench_steps_give_the_same_run(digits):
    """train(): on_update per layer and batch, progress per epoch, max_batches across an epoch boundary
    (the partial epoch recorded once). The bench's own loop over batches / gradients / samples /
    engine_update / write (tb/benches/closed_loop_tb.py) reproduces it bit for bit."""
    kw = dict(device=GokmenVlasov(), eta=0.5, batch_size=256, bl=64)
    cl = ClosedLoop(digits, **kw)
    per_epoch = -(-len(digits.x_train) // 256)
    updates, progress = [], []
    hist = cl.train(2, max_batches=per_epoch + 2, on_update=lambda k, up, w: updates.append((k, up, w)),
                    progress=lambda ep, h: progress.append((ep, len(h.epoch))))
    assert progress == [(1, 2), (2, 3)] and hist.epoch == [0, 1, 2]
    assert [k for k, _, _ in updates] == [0, 1] * (per_epoch + 2)
    assert cl.stats.writes == len(updates) and cl.stats.flagged == sum(bool(w.plan.status) for _, _, w in updates)
    assert 0 < cl.stats.flagged < cl.stats.writes      # BL cap 64: some writes are flagged and skipped

    twin = ClosedLoop(digits, **kw)
    h2, it = twin.new_history(), iter(updates)
    twin.record(h2, 0)
    for n, (ep, idx) in enumerate(twin.batches(2)):
        if n == per_epoch:
            twin.record(h2, 1)
        if n == per_epoch + 2:
            break
        for k, (xs, ds) in enumerate(twin.gradients(idx)):
            up = twin.engine_update(k, twin.samples(k, xs, ds))
            w = twin.write(k, up)
            _, want_up, want_w = next(it)
            assert up == want_up and twin.engines[k].beats(up) == cl.engines[k].beats(want_up)
            assert w.plan == want_w.plan and len(w.slots) == len(want_w.slots)
        twin.sync_weights()
    twin.record(h2, 2)
    assert h2 == hist and twin.stats == cl.stats
    assert all(np.array_equal(x.weights, y.weights) for x, y in zip(twin.arrays, cl.arrays))
    assert [e.flags.saturated for e in twin.engines] == [e.flags.saturated for e in cl.engines]


def test_layers_are_golden_sbe_layers_with_the_documented_seeds(digits):
    cl = ClosedLoop(digits, seed=5, lanes=2)
    assert [l.controller.seed for l in cl.layers] == [5, 6]
    assert [(l.a, l.b, l.lanes) for l in cl.layers] == [(a, b, 2) for a, b in cl.shapes]
    assert cl.engines == [l.engine for l in cl.layers] and cl.schemes == [l.controller for l in cl.layers]
    assert [xb.construction_seed for xb in cl.arrays] == [5, 106] and [xb.noise_seed for xb in cl.arrays] == [5, 6]
