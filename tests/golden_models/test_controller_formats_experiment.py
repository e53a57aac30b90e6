"""experiments/controller_formats.py (the 8 x 8 controller's format decision): its measures on hand-made
writes, and its command line."""
import numpy as np
import pytest

from experiments import controller_formats as cf


def test_signed_counts_are_the_directed_coincidences_per_device():
    # two slots of a 2 x 3 array: slot 0 fires row 0 (+) with columns 0 (+) and 2 (-); slot 1 fires
    # rows 0 (+) and 1 (-) with column 1 (+)
    slots = [(np.array([1, 0]), np.array([0, 0]), np.array([1, 0, 1]), np.array([0, 0, 1])),
             (np.array([1, 1]), np.array([0, 1]), np.array([0, 1, 0]), np.array([0, 0, 0]))]
    want = np.array([[1, 1, -1], [0, -1, 0]], float)
    assert np.array_equal(cf.signed_counts(slots, 2, 3), want)
    assert np.array_equal(cf.signed_counts([], 2, 3), np.zeros((2, 3)))


def test_ideal_is_minus_lr_s_outer_u_v():
    up = {"s_mant": 3, "s_exp": -1, "dhat": [64, -32], "xhat": [128, 0, -64]}      # Q1.7 words
    got = cf.ideal(up, 7, lr=2.0)
    assert np.allclose(got, -2.0 * 1.5 * np.outer([0.5, -0.25], [1.0, 0.0, -0.5]))


def test_ceil_ghat_rounds_up():
    class Plan:
        prod, exp = 5, -1
    assert cf.ceil_ghat(Plan) == 3
    Plan.exp = 2
    assert cf.ceil_ghat(Plan) == 20


@pytest.mark.parametrize("argv,text", [(["--epochs", "0"], "argument --epochs"), (["--seeds", "x"], "argument --seeds")])
def test_cli_rejects_bad_counts(argv, text, capsys):
    with pytest.raises(SystemExit):
        cf.main(argv)
    assert text in capsys.readouterr().err
