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


def test_absent_dataset_skips_the_demo_with_a_message(monkeypatch, capsys):
    def absent(name, **kw):
        raise FileNotFoundError(f"no t10k-images-idx3-ubyte[.gz] in /nowhere ({name})")
    monkeypatch.setattr(demo, "load_dataset", absent)
    monkeypatch.setattr(demo, "run_bench", lambda *a, **k: pytest.fail("nothing may be built"))
    assert demo.main(["--dataset", "mnist"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo skipped: the mnist data set is absent") and "SBE_MNIST_DIR" in out


def test_dataset_defaults_fill_only_the_options_left_out(monkeypatch):
    args = demo.checked_args(["--eta", "0.3"])[0]
    assert args.eta == 0.3 and args.batch == demo.DEFAULTS["digits"]["batch"] and args.hidden == 32


def test_demo_settings_choice_prefers_steady_accuracy_over_one_lucky_epoch():
    from experiments.demo_settings import choose
    lucky = {"eta": 0.5, "batch": 32, "bl": 1023, "epochs": 4, "test_acc": [0.1, 0.7, 0.6, 0.96]}
    steady = {"eta": 0.2, "batch": 32, "bl": 1023, "epochs": 4, "test_acc": [0.1, 0.9, 0.92, 0.93]}
    c = choose([lucky, steady])
    assert (c["eta"], c["epochs"], c["final_test_acc"]) == (0.2, 4, 0.93)
