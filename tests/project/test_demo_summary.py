"""demo.py's summary, built from the closed-loop bench's results without running the simulation."""
import json
import math

import pytest

import demo

SHAPES = [(32, 65), (10, 33)]


def _results(batches, cycles):
    return {"batches": batches, "writes": 2 * batches, "flagged": 0, "slots": 7 * batches,
            "per_layer_slots": [4 * batches, 3 * batches], "test_acc_rtl": [0.1] * 2, "test_acc_twin": [0.1] * 2,
            "train_loss_rtl": [2.3, float("nan")], "epochs": [0, 1],
            "cycles_per_batch_mean": float(sum(cycles) / len(cycles)) if cycles else float("nan"),
            "total_cycles": sum(cycles), "wall_s": 1.0, "engine_saturated": [False, False],
            "input_saturated": False}


def _summary(r, **kw):
    args = dict(shapes=SHAPES, lanes=1, batch=32, n_train=1000, epochs=1, seconds=1.0)
    return demo.closed_loop_summary(r, **{**args, **kw})


def test_bit_exact_comes_from_the_batches_compared():
    s = _summary(_results(3, [100, 120, 110]))
    assert s["batches_compared_with_golden_twin"] == 3 and s["bit_exact_with_golden_twin"] is True
    assert s["cycles_per_batch_mean"] == 110
    per_sample = 65 + 32                                   # the widest layer's a + b beats, lanes 1
    assert s["batch_bound_cycles"] == 32 * per_sample
    assert s["mean_batch_bound_cycles"] == pytest.approx(per_sample * 1000 / 3)


def test_nothing_compared_claims_nothing_and_writes_no_nan():
    s = _summary(_results(0, []))
    assert s["batches_compared_with_golden_twin"] == 0 and s["bit_exact_with_golden_twin"] is None
    assert s["cycles_per_batch_mean"] is None and s["mean_batch_bound_cycles"] is None
    text = demo.summary_json({"closed_loop_rtl": s, "x": [float("inf")]})
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back["closed_loop_rtl"]["train_loss_rtl"] == [2.3, None] and back["x"] == [None]


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_epochs_below_one_are_rejected(epochs, capsys):
    with pytest.raises(SystemExit) as e:
        demo.parser().parse_args(["--epochs", epochs])
    assert e.value.code == 2 and "--epochs" in capsys.readouterr().err


def test_summary_json_is_strict():
    with pytest.raises(ValueError):
        json.dumps({"x": math.nan}, allow_nan=False)          # what summary_json relies on
    assert json.loads(demo.summary_json({"x": math.nan})) == {"x": None}
