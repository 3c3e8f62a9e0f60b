import numpy as np

from mlp.datasets import load_digits


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.intp
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # The first image is a zero: a ring of ink around an empty middle.
    assert y[0] == 0 and X[0].reshape(8, 8)[3, 3:5].tolist() == [0.0, 0.0]


def test_licence_ships_beside_the_data():
    from importlib import resources

    text = (resources.files("mlp") / "data" / "DIGITS-LICENSE.txt").read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text
