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


# --- loaders -------------------------------------------------------------------------------

import gzip  # noqa: E402

import pytest  # noqa: E402

from mlp.datasets import load_csv, load_data, load_idx, load_npz  # noqa: E402


def test_load_csv_label_column_header_and_gzip(tmp_path):
    text = "a,b,label\n1,2,0\n3,4.5,1\n"
    (tmp_path / "d.csv").write_text(text)
    X, y = load_csv(tmp_path / "d.csv")
    assert X.tolist() == [[1, 2], [3, 4.5]] and y.tolist() == [0, 1] and y.dtype == np.intp
    X, y = load_csv(tmp_path / "d.csv", label_column="a")
    assert X.tolist() == [[2, 0], [4.5, 1]] and y.tolist() == [1, 3]
    X, y = load_csv(tmp_path / "d.csv", label_column=0)
    assert y.tolist() == [1, 3]
    with gzip.open(tmp_path / "d.csv.gz", "wt") as f:
        f.write("1,2,0.5\n3,4,0.25\n")  # no header, float targets
    X, y = load_csv(tmp_path / "d.csv.gz")
    assert X.tolist() == [[1, 2], [3, 4]] and y.dtype == np.float64 and y.tolist() == [0.5, 0.25]
    X, y = load_csv(tmp_path / "d.csv.gz", label_column=None)
    assert X.shape == (2, 3) and y is None


@pytest.mark.parametrize(
    "text, options, words",
    [
        ("", {}, "no rows"),
        ("a,b\n", {}, "no data rows"),
        ("1,2,3\n4,5\n", {}, "row 2 has 2 columns"),
        ("1,2,3\n4,x,6\n", {}, "row 2, column 2: 'x' is not a number"),
        ("a,b\n1,2\n", {"label_column": "c"}, "no column named 'c'"),
        ("1,2\n3,4\n", {"label_column": "c"}, "no header"),
        ("1,2\n3,4\n", {"label_column": 5}, "label column 5 does not exist"),
    ],
)
def test_load_csv_errors_name_the_problem(tmp_path, text, options, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_csv(path, **options)
    assert words in str(info.value) and "bad.csv" in str(info.value)


def test_load_npz(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 1]))
    X2, y = load_npz(tmp_path / "d.npz")
    assert X2.tolist() == X.tolist() and y.tolist() == [0, 1, 1]
    np.savez(tmp_path / "t.npz", X=X, y=np.ones((3, 2)))
    assert load_npz(tmp_path / "t.npz")[1].shape == (3, 2)
    np.savez(tmp_path / "noy.npz", X=X)
    assert load_npz(tmp_path / "noy.npz")[1] is None
    np.savez(tmp_path / "other.npz", data=X)
    with pytest.raises(ValueError, match="no array named 'X'"):
        load_npz(tmp_path / "other.npz")
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="obj.npz"):
        load_npz(tmp_path / "obj.npz")
    np.savez(tmp_path / "short.npz", X=X, y=np.array([0, 1]))
    with pytest.raises(ValueError, match="one row per row of X"):
        load_npz(tmp_path / "short.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_npz(tmp_path / "missing.npz")


def idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("naming", ["{k}-{w}-{d}-ubyte.gz", "{k}-{w}.{d}-ubyte", "{k}-{w}-{d}-ubyte"])
def test_load_idx_files_and_folders(tmp_path, naming):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 3], dtype=np.uint8)
    for kind, prefix in (("train", "train"), ("test", "t10k")):
        for what, data, dims in (("images", images, "idx3"), ("labels", labels, "idx1")):
            name = naming.format(k=prefix, w=what, d=dims)
            raw = idx_bytes(data if kind == "train" else data[:1], 0x08)
            opener = gzip.open if name.endswith(".gz") else open
            with opener(tmp_path / name, "wb") as f:
                f.write(raw)
    X, y = load_idx(tmp_path)
    assert X.shape == (2, 12) and X[1, 0] == 12 and y.tolist() == [7, 3]
    X, y = load_idx(tmp_path, kind="test")
    assert X.shape == (1, 12) and y.tolist() == [7]
    X, y = load_data(tmp_path)
    assert X.shape == (2, 12)
    image_file = next(tmp_path.glob("train-images*"))
    X, y = load_idx(image_file)
    assert y is None and X.shape == (2, 12)


def test_load_idx_rejects_bad_files(tmp_path):
    (tmp_path / "x-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big"))
    with pytest.raises(ValueError, match="truncated IDX header"):
        load_idx(tmp_path / "x-idx3-ubyte")
    good = idx_bytes(np.zeros((2, 2, 2), dtype=np.uint8), 0x08)
    (tmp_path / "short-idx3-ubyte").write_bytes(good[:-1])
    with pytest.raises(ValueError, match="promises"):
        load_idx(tmp_path / "short-idx3-ubyte")
    (tmp_path / "text-idx3-ubyte").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="bad magic"):
        load_idx(tmp_path / "text-idx3-ubyte")
    (tmp_path / "l-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8), 0x08))
    (tmp_path / "i-idx3-ubyte").write_bytes(good)
    with pytest.raises(ValueError, match="labels for 2 images"):
        load_idx(tmp_path / "i-idx3-ubyte", tmp_path / "l-idx1-ubyte")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no train (images|labels) file"):
        load_idx(tmp_path / "empty")
