"""Model files (mlp.io): exact round trips, atomic saves, and refusal of bad files."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import mlp
from mlp import io as mio
from mlp.io import ModelFileError


def header_for(net, version=2, **changes):
    """A valid header dict for ``net`` in the layout of ``format_version`` ``version``
    (2: with the activations and no optimizer state; 1: the layout of mlp before
    activations and Adam, written here by hand), with ``changes`` applied."""
    header = {
        "format": "mlp-model", "format_version": version, "mlp_version": mlp.__version__,
        "sizes": list(net.sizes), "n_params": int(net.params.size),
        "created": "2024-05-01T12:00:00+00:00", "training": None, "scaling": None,
        "metadata": {},
    }
    if version >= 2:
        sizes = changes.get("sizes", list(net.sizes))
        if sizes == list(net.sizes):
            hidden = list(net.activation)
        else:  # one per hidden layer of the sizes given, so that only they are wrong
            hidden = ["sigmoid"] * max(0, len(sizes) - 2) if isinstance(sizes, list) else []
        header.update(activation=hidden, output=net.output, optimizer_state=None)
    header.update(changes)
    return header


def write_npz(path, header, params, compressed=False, **extra):
    """Write an .npz by hand: ``header`` (dict, str or bytes) and ``params``."""
    if isinstance(header, dict):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode("utf-8")
    arrays = {"header": np.frombuffer(header, dtype=np.uint8), "params": params, **extra}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    with open(path, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)
    return path


def odd_params_net(sizes, seed=0):
    """A network whose parameters include values that a lossy format would change."""
    net = mlp.MLP(sizes, seed=seed)
    special = [-0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308,
               0.1, 1 / 3, -1e-300]
    k = min(len(special), net.params.size)
    net.params[:k] = special[:k]
    return net


def same_bits(a, b):
    return a.sizes == b.sizes and a.params.tobytes() == b.params.tobytes()


@pytest.fixture
def net():
    return mlp.MLP([3, 4, 2], seed=0)


@pytest.fixture
def saved(tmp_path, net):
    path = tmp_path / "model.npz"
    mio.save(net, path)
    return path


def expect_error(path, match, kind=ModelFileError):
    with pytest.raises(kind, match=match) as info:
        mio.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return info.value


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[1, 1], [3, 1], [7, 2], [4, 5, 2], [5, 7, 3, 2],
                                   [2, 3, 3, 3, 3, 1]])
def test_round_trip_is_bit_exact(tmp_path, sizes):
    net = odd_params_net(sizes)
    path = tmp_path / "net.npz"
    mio.save(net, path)
    loaded = mio.load(path)
    assert isinstance(loaded, mlp.MLP)
    assert same_bits(net, loaded)
    assert np.signbit(loaded.params[0])  # -0.0 kept
    assert loaded.params.flags.c_contiguous and loaded.params.flags.writeable
    X = np.random.default_rng(1).uniform(0, 1, (6, sizes[0]))
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()


def test_round_trip_after_training(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (60, 5)), rng.integers(0, 3, 60)
    net = mlp.MLP([5, 8, 3], seed=1)
    start = net.params.copy()
    net.fit(X, y, epochs=3, batch_size=7, eta=0.5, momentum=0.5, seed=2)
    assert not np.array_equal(start, net.params)
    mio.save(net, tmp_path / "trained.npz", training={"epochs": 3, "eta": 0.5})
    loaded = mio.load(tmp_path / "trained.npz")
    assert same_bits(net, loaded)
    assert loaded.accuracy(X, y) == net.accuracy(X, y)
    # The loaded network trains on exactly as the original does.
    net.fit(X, y, epochs=1, seed=3)
    loaded.fit(X, y, epochs=1, seed=3)
    assert same_bits(net, loaded)


def test_loaded_network_is_independent_of_the_file(tmp_path, net, saved):
    a, b = mio.load(saved), mio.load(saved)
    a.params[:] = 0.0
    assert same_bits(b, net)


def test_metadata_scaling_training_round_trip(tmp_path, net):
    rng = np.random.default_rng(3)
    offset, scale = rng.normal(size=3), rng.uniform(0.1, 10, 3)
    metadata = {"dataset": "digits", "classes": ["0", "1"], "nested": {"a": [1, 2.5, None]},
                "tuple": (1, 2), "flag": True, "ünïcode": "✓", "big": 2**70}
    training = {"cost": "cross_entropy", "l2": 0.1, "epochs": 30, "batch_size": 10}
    mio.save(net, tmp_path / "m.npz", metadata=metadata, training=training,
             scaling={"method": "standard", "offset": offset, "scale": scale.tolist()})
    header = mio.read_header(tmp_path / "m.npz")
    assert header["metadata"] == {**metadata, "tuple": [1, 2]}
    assert header["training"] == training
    assert header["scaling"]["method"] == "standard"
    # float64 survives JSON exactly
    assert np.array(header["scaling"]["offset"]).tobytes() == offset.tobytes()
    assert np.array(header["scaling"]["scale"]).tobytes() == scale.tobytes()
    assert header["format"] == "mlp-model" and header["format_version"] == 2
    assert header["mlp_version"] == mlp.__version__
    assert header["sizes"] == [3, 4, 2] and header["n_params"] == net.params.size
    assert header["created"].endswith("+00:00")


def test_defaults_in_the_header(saved):
    header = mio.read_header(saved)
    assert header["metadata"] == {}
    assert header["training"] is None and header["scaling"] is None


def test_the_file_is_a_plain_npz_with_a_json_header(tmp_path, net):
    path = tmp_path / "model.bin"  # written exactly where asked: no suffix added
    mio.save(net, str(path), metadata={"k": 1})
    assert sorted(os.listdir(tmp_path)) == ["model.bin"]
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["header", "params"]
        assert f["header"].dtype == np.uint8 and f["header"].ndim == 1
        header = json.loads(f["header"].tobytes().decode("utf-8"))
        assert f["params"].dtype == np.float64
        assert f["params"].tobytes() == net.params.tobytes()
    assert header["metadata"] == {"k": 1} and header["sizes"] == [3, 4, 2]


def test_compressed_files_load(tmp_path, net):
    path = write_npz(tmp_path / "c.npz", header_for(net), net.params, compressed=True)
    assert same_bits(mio.load(path), net)


def test_big_endian_params_load_exactly(tmp_path, net):
    path = write_npz(tmp_path / "be.npz", header_for(net), net.params.astype(">f8"))
    loaded = mio.load(path)
    assert same_bits(loaded, net) and loaded.params.dtype == np.float64


def test_save_replaces_an_existing_file(tmp_path, net):
    path = tmp_path / "m.npz"
    mio.save(mlp.MLP([2, 2], seed=5), path)
    mio.save(net, path)
    assert same_bits(mio.load(path), net)
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_file_permissions_follow_the_umask(tmp_path, net):
    old = os.umask(0o022)
    try:
        mio.save(net, tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


# --- atomic saves -----------------------------------------------------------------------


def _fail_array_writer(monkeypatch):
    real = np.lib.format.write_array
    calls = []

    def half_then_fail(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second array: the header is already in the file
            fp.write(b"\0" * 16)
            raise OSError(28, "No space left on device")
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", half_then_fail)


def _fail(monkeypatch, name, exc):
    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(os, name, boom)


@pytest.mark.parametrize("failure", ["array writer", "fsync", "replace", "interrupt"])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(
        tmp_path, monkeypatch, net, failure, existing):
    path = tmp_path / "m.npz"
    if existing:
        mio.save(mlp.MLP([3, 4, 2], seed=9), path)
        before = path.read_bytes()
    else:
        (tmp_path / "other.txt").write_text("x")
    listing = sorted(os.listdir(tmp_path))
    if failure == "array writer":
        _fail_array_writer(monkeypatch)
        expected = OSError
    elif failure == "interrupt":
        _fail(monkeypatch, "fsync", KeyboardInterrupt())
        expected = KeyboardInterrupt
    else:
        _fail(monkeypatch, failure, OSError(5, f"{failure} failed"))
        expected = OSError
    with pytest.raises(expected):
        mio.save(net, path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == listing  # no temporary file left
    if existing:
        assert path.read_bytes() == before
        assert not same_bits(mio.load(path), net)


def test_invalid_arguments_write_nothing(tmp_path, net):
    path = tmp_path / "m.npz"
    with pytest.raises(TypeError):
        mio.save(net, path, metadata={"x": object()})
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder(tmp_path, net):
    path = tmp_path / "no" / "such" / "m.npz"
    with pytest.raises(FileNotFoundError, match="folder .*does not exist") as info:
        mio.save(net, path)
    assert str(tmp_path / "no" / "such") in str(info.value)
    assert not (tmp_path / "no").exists()


def test_save_onto_a_folder(tmp_path, net):
    with pytest.raises(IsADirectoryError, match="folder"):
        mio.save(net, tmp_path)
    with pytest.raises(ValueError, match="names no file"):
        mio.save(net, str(tmp_path / "m.npz") + os.sep)


def test_save_refuses_non_finite_parameters(tmp_path, net):
    net.params[5] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity \(first at params\[5\]\)"):
        mio.save(net, tmp_path / "m.npz")
    net.params[5] = -np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        mio.save(net, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_checks_its_arguments(tmp_path, net):
    path = tmp_path / "m.npz"
    with pytest.raises(TypeError, match="net must be an mlp.MLP"):
        mio.save([net], path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        mio.save(net, 3)
    with pytest.raises(TypeError, match=r"metadata must be a dict .* got list"):
        mio.save(net, path, metadata=[1, 2])
    with pytest.raises(TypeError, match=r"metadata\['a'\]\[1\] is a set"):
        mio.save(net, path, metadata={"a": [1, {2}]})
    with pytest.raises(TypeError, match=r"metadata\['n'\] is a int64"):
        mio.save(net, path, metadata={"n": np.int64(3)})
    with pytest.raises(TypeError, match=r"metadata has the key 1 .*keys must be str"):
        mio.save(net, path, metadata={1: "a"})
    with pytest.raises(ValueError, match=r"metadata\['lr'\] is nan"):
        mio.save(net, path, metadata={"lr": float("nan")})
    loop = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        mio.save(net, path, metadata=loop)
    with pytest.raises(TypeError, match=r"training\['cb'\] is a function"):
        mio.save(net, path, training={"cb": lambda: 0})
    with pytest.raises(TypeError, match="training must be a dict"):
        mio.save(net, path, training="sgd")
    with pytest.raises(ValueError, match="header would take .* bytes"):
        mio.save(net, path, metadata={"pad": "x" * (2**20 + 1)})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("scaling, kind, match", [
    ({"method": "minmax", "offset": [0, 0], "scale": [1, 1, 1]}, ValueError,
     r"scaling\['offset'\] must hold 3 numbers .*shape \(2,\)"),
    ({"method": "minmax", "offset": [0, 0, 0], "scale": [1, 0, 1]}, ValueError,
     r"scaling\['scale'\]\[1\] is 0"),
    ({"method": "minmax", "offset": [0, np.inf, 0], "scale": [1, 1, 1]}, ValueError,
     r"scaling\['offset'\]\[1\] is inf"),
    ({"method": "zscore", "offset": [0, 0, 0], "scale": [1, 1, 1]}, ValueError,
     "scaling\\['method'\\] must be one of \\['minmax', 'standard'\\]"),
    ({"method": "minmax", "offset": [0, 0, 0]}, ValueError, "missing scale"),
    ({"method": "minmax", "offset": [0, 0, 0], "scale": [1, 1, 1], "x": 1}, ValueError,
     "unknown 'x'"),
    ({"method": "minmax", "offset": ["a", "b", "c"], "scale": [1, 1, 1]}, TypeError,
     "must hold numbers"),
    ({"method": "minmax", "offset": [[0, 0, 0]], "scale": [1, 1, 1]}, ValueError,
     "shape \\(1, 3\\)"),
    ([0, 1], TypeError, "scaling must be a dict"),
])
def test_save_validates_scaling(tmp_path, net, scaling, kind, match):
    with pytest.raises(kind, match=match):
        mio.save(net, tmp_path / "m.npz", scaling=scaling)
    assert os.listdir(tmp_path) == []


# --- rejected files ---------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError, match="no such model file") as info:
        mio.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        mio.read_header(path)


def test_a_folder_is_not_a_model(tmp_path):
    with pytest.raises(IsADirectoryError, match="a folder, not a model file"):
        mio.load(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_truncated_file(tmp_path, saved):
    data = saved.read_bytes()
    path = tmp_path / "half.npz"
    path.write_bytes(data[: len(data) // 2])
    expect_error(path, "not a readable .npz file")


def test_bit_flip_in_the_parameters_is_a_crc_error(tmp_path, net, saved):
    data = bytearray(saved.read_bytes())
    at = bytes(data).find(net.params[10:14].tobytes())
    assert at > 0
    data[at + 3] ^= 0x10
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(data))
    expect_error(path, "CRC")


def test_bit_flip_in_a_compressed_file(tmp_path, net):
    path = write_npz(tmp_path / "c.npz", header_for(net), net.params, compressed=True)
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("params.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))
    expect_error(path, "params array could not be read")


def test_foreign_npz(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((3, 2)), y=np.arange(3))
    expect_error(path, "expected exactly the arrays 'header' and 'params', found 'X', 'y'")


def test_extra_or_missing_array(tmp_path, net):
    extra = write_npz(tmp_path / "extra.npz", header_for(net), net.params, more=np.zeros(2))
    expect_error(extra, "found 'header', 'more', 'params'")
    missing = write_npz(tmp_path / "missing.npz", header_for(net), None)
    expect_error(missing, "found 'header': not an mlp model file")


def test_text_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("sizes = [3, 4, 2]\n")
    expect_error(path, "not an .npz file")


def test_npy_file(tmp_path, net):
    path = tmp_path / "params.npy"
    np.save(path, net.params)
    expect_error(path, "a single .npy array")


def test_newer_format_version(tmp_path, net):
    header = header_for(net, format_version=99, mlp_version="9.0")
    path = write_npz(tmp_path / "v99.npz", header, net.params)
    expect_error(path, r"format_version is 99: the file was written by a newer mlp "
                 r"\('9.0'\).*upgrade mlp")
    with pytest.raises(ModelFileError, match="newer mlp"):
        mio.read_header(path)


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_unsupported_format_version(tmp_path, net, version):
    header = header_for(net, format_version=version)
    path = write_npz(tmp_path / "v.npz", header, net.params)
    expect_error(path, "format_version")


def test_wrong_format(tmp_path, net):
    path = write_npz(tmp_path / "f.npz", header_for(net, format="keras"), net.params)
    expect_error(path, "format is 'keras', not 'mlp-model'")


def test_sizes_params_mismatch(tmp_path, net):
    other = mlp.MLP([3, 2], seed=0)
    path = write_npz(tmp_path / "m.npz", header_for(other), net.params)
    expect_error(path, "params array has 26 values but the header's sizes need 8")
    path = write_npz(tmp_path / "m.npz", header_for(net), other.params)
    expect_error(path, "params array has 8 values but the header's sizes need 26")
    path = write_npz(tmp_path / "m.npz", header_for(net, n_params=25), net.params)
    expect_error(path, r"n_params is 25 but sizes \[3, 4, 2\] have 26")


@pytest.mark.parametrize("sizes, match", [
    ([3], "needs at least 2 entries"),
    ([3, 0], r"sizes\[1\] must be in"),
    ([3, 2.0], r"sizes\[1\] must be an int"),
    ("3,2", "sizes must be a list"),
])
def test_invalid_sizes(tmp_path, net, sizes, match):
    path = write_npz(tmp_path / "s.npz", header_for(net, sizes=sizes), net.params)
    expect_error(path, match)


def test_non_finite_parameters(tmp_path, net):
    bad = net.params.copy()
    bad[7] = np.nan
    path = write_npz(tmp_path / "nan.npz", header_for(net), bad)
    expect_error(path, r"NaN or infinity \(first at params\[7\]\)")
    bad[7] = np.inf
    expect_error(write_npz(path, header_for(net), bad), "NaN or infinity")


def test_params_of_the_wrong_dtype_or_shape(tmp_path, net):
    path = write_npz(tmp_path / "f32.npz", header_for(net), net.params.astype(np.float32))
    expect_error(path, "params array has dtype float32, expected float64")
    path = write_npz(tmp_path / "2d.npz", header_for(net), net.params.reshape(2, 13))
    expect_error(path, r"must be 1-D, got shape \(2, 13\)")


@pytest.mark.parametrize("raw, match", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{'format': 1}", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object, got a list"),
    (b'{"format": "mlp-model", "format": "mlp-model"}', "appears twice"),
    (b'{"x": NaN}', "NaN is not a JSON number"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
], ids=["latin-1", "python-dict", "array", "duplicate-key", "nan", "deep-nesting"])
def test_header_that_is_not_a_json_object(tmp_path, net, raw, match):
    path = write_npz(tmp_path / "h.npz", raw, net.params)
    expect_error(path, match)


def test_header_of_the_wrong_dtype(tmp_path, net):
    text = json.dumps(header_for(net))
    path = tmp_path / "h.npz"
    np.savez(path, header=np.array(text), params=net.params)
    expect_error(path, "header array has dtype <U")


@pytest.mark.parametrize("key", ["sizes", "n_params", "created", "metadata", "scaling"])
def test_header_missing_a_key(tmp_path, net, key):
    header = header_for(net)
    del header[key]
    path = write_npz(tmp_path / "h.npz", header, net.params)
    expect_error(path, f"the header lacks '{key}'")


@pytest.mark.parametrize("changes, match", [
    ({"created": "yesterday"}, "created must be an ISO-8601 time"),
    ({"mlp_version": 1}, "mlp_version must be a string"),
    ({"metadata": None}, "metadata must be an object"),
    ({"training": [1]}, "training must be an object or null"),
])
def test_header_with_bad_entries(tmp_path, net, changes, match):
    path = write_npz(tmp_path / "h.npz", header_for(net, **changes), net.params)
    expect_error(path, match)


@pytest.mark.parametrize("scaling, match", [
    ({"method": "minmax", "offset": [0, 0], "scale": [1, 1, 1]}, "must hold 3 numbers"),
    ({"method": "minmax", "offset": [0, 0, 0], "scale": [1, 0, 1]}, r"\[1\] is 0"),
    ({"method": "minmax", "offset": [0, None, 0], "scale": [1, 1, 1]}, "must hold numbers"),
    ({"method": "minmax", "offset": [0, 0, 0], "scale": [1, True, 1]}, "must hold numbers"),
    ({"method": "cubic", "offset": [0, 0, 0], "scale": [1, 1, 1]}, "must be one of"),
    ({"method": "minmax"}, "missing offset, scale"),
    ("minmax", "scaling must be a dict"),
])
def test_invalid_scaling_in_a_file(tmp_path, net, scaling, match):
    path = write_npz(tmp_path / "s.npz", header_for(net, scaling=scaling), net.params)
    expect_error(path, "the header's scaling is invalid: .*" + match)
    with pytest.raises(ModelFileError, match=match):
        mio.read_header(path)


class _Marker:
    """Unpickling this would create a file: evidence that a pickle was loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("name", ["params", "evil"])
def test_pickled_objects_are_never_loaded(tmp_path, net, name):
    marker = tmp_path / "pwned"
    evil = np.array([_Marker(marker), 1.0], dtype=object)
    path = tmp_path / "evil.npz"
    if name == "params":
        write_npz(path, header_for(net, n_params=2, sizes=[1, 1]), evil)
        problem = "holds pickled Python objects"
    else:
        write_npz(path, header_for(net), net.params, evil=evil)
        problem = "found 'evil', 'header', 'params'"
    with zipfile.ZipFile(path) as z:  # the file does hold a pickle
        assert b"pwned" in z.read(f"{name}.npy")
    expect_error(path, problem)
    with pytest.raises(ModelFileError):
        mio.read_header(path)
    assert not marker.exists()


def test_oversized_header_is_refused_before_it_is_decompressed(tmp_path, net, monkeypatch):
    # 2 MiB of JSON padding deflates to a few KiB: a small zip bomb.
    header = header_for(net, metadata={"pad": " " * (2 * 2**20)})
    path = write_npz(tmp_path / "bomb.npz", header, net.params, compressed=True)
    assert path.stat().st_size < 50_000
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    expect_error(path, r"header array takes 2,097,\d{3} bytes, more than the 1,052,672")
    assert "header.npy" not in opened


def test_oversized_params_are_refused_before_they_are_decompressed(
        tmp_path, net, monkeypatch):
    padded = np.concatenate([net.params, np.zeros(200_000)])
    path = write_npz(tmp_path / "bomb.npz", header_for(net), padded, compressed=True)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    expect_error(path, "params array takes 1,600,336 bytes, more than the 4,304")
    assert "params.npy" not in opened


def test_every_single_byte_corruption_is_caught(tmp_path):
    """Flipping any byte of a model file either is harmless (zip fields nobody reads)
    or raises ModelFileError: never another exception, never different parameters."""
    net = mlp.MLP([2, 2, 1], seed=0)
    good = tmp_path / "good.npz"
    mio.save(net, good)
    data = good.read_bytes()
    path = tmp_path / "bad.npz"
    rejected = 0
    for i in range(len(data)):
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x41]) + data[i + 1:])
        try:
            loaded = mio.load(path)
        except ModelFileError:
            rejected += 1
        else:
            assert same_bits(loaded, net), f"byte {i}"
    assert rejected > len(data) // 2


def test_every_truncation_is_caught(tmp_path):
    net = mlp.MLP([2, 2, 1], seed=0)
    good = tmp_path / "good.npz"
    mio.save(net, good)
    data = good.read_bytes()
    path = tmp_path / "cut.npz"
    for n in range(len(data)):
        path.write_bytes(data[:n])
        with pytest.raises(ModelFileError):
            mio.load(path)


def test_model_file_error(tmp_path):
    error = ModelFileError("m.npz", "two\nlines")
    assert isinstance(error, ValueError)
    assert str(error) == "m.npz: two lines"
    assert error.path == "m.npz" and error.problem == "two lines"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is ModelFileError and str(again) == str(error)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_trailing_bytes_in_a_member(tmp_path, net):
    header = npy_bytes(np.frombuffer(json.dumps(header_for(net)).encode(), np.uint8))
    params = npy_bytes(net.params) + b"\0" * 8  # checksummed, but not part of the array
    path = write_zip(tmp_path / "t.npz", {"header.npy": header, "params.npy": params})
    expect_error(path, "params array's member has 344 bytes, expected 336")


def test_unsupported_zip_compression(tmp_path, net):
    header = npy_bytes(np.frombuffer(json.dumps(header_for(net)).encode(), np.uint8))
    path = write_zip(tmp_path / "bz.npz", {"header.npy": header,
                                           "params.npy": npy_bytes(net.params)},
                     compression=zipfile.ZIP_BZIP2)
    expect_error(path, "compression method 12; only stored and deflated")


def test_member_larger_than_the_file(tmp_path, saved):
    data = bytearray(saved.read_bytes())
    entry = bytes(data).rfind(b"PK\x01\x02")  # central directory entry of the last member
    assert data[entry + 46: entry + 56] == b"params.npy"
    data[entry + 20: entry + 24] = (10**9).to_bytes(4, "little")  # its compressed size
    path = tmp_path / "big.npz"
    path.write_bytes(bytes(data))
    expect_error(path, "claims 1,000,000,000 bytes, more than the file holds")


# --- format version 2: activations and optimizer state ------------------------------------

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "softmax", "identity")
STATES = ("none", "momentum", "adam")


def trained(sizes=(3, 5, 2), *, activation="sigmoid", output="sigmoid", state="none",
            seed=0):
    """A network trained a little, holding the optimizer ``state`` asked for."""
    net = mlp.MLP(list(sizes), activation=activation, output=output, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.uniform(0, 1, (24, sizes[0]))
    y = rng.integers(0, sizes[-1], 24)
    kwargs = {"none": {"eta": 0.1}, "momentum": {"momentum": 0.9, "eta": 0.1},
              "adam": {"optimizer": "adam"}}[state]
    net.fit(X, y, epochs=2, batch_size=5, seed=seed, **kwargs)
    return net, X, y


def same_state(a, b):
    sa, sb = a.optimizer_state, b.optimizer_state
    if sorted(sa) != sorted(sb):
        return False
    return all(sa[k] == sb[k] if k == "t" else sa[k].tobytes() == sb[k].tobytes()
               for k in sa)


def members(path):
    with zipfile.ZipFile(path) as z:
        return sorted(name.removesuffix(".npy") for name in z.namelist())


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN)
def test_round_trip_of_every_activation_output_and_state(
        tmp_path, activation, output, state):
    net, X, _ = trained(activation=activation, output=output, state=state)
    assert bool(net.optimizer_state) == (state != "none")
    path = tmp_path / "net.npz"
    mio.save(net, path)
    loaded = mio.load(path)
    assert loaded.activation == (activation,) and loaded.output == output
    assert same_bits(net, loaded) and same_state(net, loaded)
    assert net.predict(X).tobytes() == loaded.predict(X).tobytes()
    header = mio.read_header(path)
    assert header["format_version"] == 2
    assert header["activation"] == [activation] and header["output"] == output
    expected = {"none": ["header", "params"],
                "momentum": ["header", "params", "velocity"],
                "adam": ["adam_m", "adam_v", "header", "params"]}[state]
    assert members(path) == expected
    if state == "adam":
        assert header["optimizer_state"] == {"kind": "adam", "t": net.optimizer_state["t"]}
        assert header["optimizer_state"]["t"] == 2 * 5  # 2 epochs of 5 mini-batches
    elif state == "momentum":
        assert header["optimizer_state"] == {"kind": "momentum"}
    else:
        assert header["optimizer_state"] is None


def test_round_trip_of_one_activation_per_hidden_layer(tmp_path):
    net, X, _ = trained((4, 6, 5, 3, 2), activation=["relu", "tanh", "identity"],
                        output="softmax", state="adam")
    mio.save(net, tmp_path / "m.npz")
    loaded = mio.load(tmp_path / "m.npz")
    assert loaded.activation == ("relu", "tanh", "identity") and loaded.output == "softmax"
    assert same_bits(net, loaded) and same_state(net, loaded)
    assert mio.read_header(tmp_path / "m.npz")["activation"] == ["relu", "tanh", "identity"]


def test_no_hidden_layers_store_an_empty_activation_list(tmp_path):
    net, _, _ = trained((3, 2), output="identity")
    mio.save(net, tmp_path / "m.npz")
    assert mio.read_header(tmp_path / "m.npz")["activation"] == []
    assert mio.load(tmp_path / "m.npz").output == "identity"


@pytest.mark.parametrize("state, kwargs", [
    ("adam", {"optimizer": "adam"}),
    ("adam", {"optimizer": "adam", "eta": 0.01, "beta1": 0.8, "beta2": 0.99, "l2": 0.5}),
    ("momentum", {"momentum": 0.9, "eta": 0.2}),
    ("momentum", {"momentum": 0.5, "nesterov": True, "eta": 0.2}),
])
def test_a_saved_model_resumes_partial_fit_bit_for_bit(tmp_path, state, kwargs):
    net = mlp.MLP([5, 8, 3], activation="relu", output="softmax", seed=4)
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (50, 5)), rng.integers(0, 3, 50)
    net.fit(X, y, epochs=2, batch_size=7, seed=1, **kwargs)
    net.partial_fit(X, y, batch_size=7, seed=2, **kwargs)
    mio.save(net, tmp_path / "m.npz")
    loaded = mio.load(tmp_path / "m.npz")
    assert same_bits(net, loaded) and same_state(net, loaded)
    for seed in (3, 4):
        a = net.partial_fit(X, y, batch_size=7, seed=seed, **kwargs)
        b = loaded.partial_fit(X, y, batch_size=7, seed=seed, **kwargs)
        assert a[0]["cost"] == b[0]["cost"]
        assert same_bits(net, loaded) and same_state(net, loaded)
    if state == "adam":
        assert loaded.optimizer_state["t"] == 2 * 8 + 3 * 8  # 8 mini-batches an epoch
    # and without its state, the same file would not have resumed the same way
    fresh = mlp.MLP.from_params(net.sizes, mio.load(tmp_path / "m.npz").params,
                                activation="relu", output="softmax")
    fresh.partial_fit(X, y, batch_size=7, seed=3, **kwargs)
    again = mio.load(tmp_path / "m.npz")
    again.partial_fit(X, y, batch_size=7, seed=3, **kwargs)
    assert not same_bits(fresh, again)


def test_the_callers_training_dict_is_stored_as_given(tmp_path):
    net, _, _ = trained(output="softmax", state="adam")
    training = {"cost": None, "optimizer": "adam", "eta": None, "beta1": 0.9}
    mio.save(net, tmp_path / "m.npz", training=training)
    assert mio.read_header(tmp_path / "m.npz")["training"] == training


def test_save_refuses_a_non_finite_optimizer_state(tmp_path, monkeypatch):
    net, _, _ = trained(state="adam")
    state = net.optimizer_state
    state["v"][4] = np.inf
    monkeypatch.setattr(mlp.MLP, "optimizer_state", property(lambda self: state))
    with pytest.raises(ValueError, match=r"optimizer state contains NaN or infinity "
                       r"\(first at adam_v\[4\]\)"):
        mio.save(net, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_a_network_never_holds_both_momentum_and_adam_state(tmp_path):
    net, _, _ = trained(state="adam")
    state = {**net.optimizer_state, "velocity": np.zeros(net.params.size)}
    with pytest.raises(ValueError, match="velocity or Adam's m, v and t, not both"):
        mlp.MLP.from_params(net.sizes, net.params, state)
    assert os.listdir(tmp_path) == []


# version 1: written by hand in its layout (header and params, no activations, no state)


def test_version_1_files_load_as_sigmoid_networks_without_state(tmp_path):
    net = odd_params_net([4, 5, 3, 2])
    header = header_for(net, version=1, training={"cost": "quadratic", "epochs": 30})
    assert "activation" not in header and "optimizer_state" not in header
    path = write_npz(tmp_path / "v1.npz", header, net.params)
    loaded = mio.load(path)
    assert same_bits(net, loaded)
    assert loaded.activation == ("sigmoid", "sigmoid") and loaded.output == "sigmoid"
    assert loaded.optimizer_state == {}
    X = np.random.default_rng(0).uniform(0, 1, (5, 4))
    assert loaded.predict(X).tobytes() == net.predict(X).tobytes()
    read = mio.read_header(path)
    assert read["format_version"] == 1 and read["training"]["cost"] == "quadratic"
    assert read["activation"] == ["sigmoid", "sigmoid"] and read["output"] == "sigmoid"
    assert read["optimizer_state"] is None
    # saving it again writes version 2
    mio.save(loaded, tmp_path / "v2.npz")
    assert mio.read_header(tmp_path / "v2.npz")["format_version"] == 2


def test_version_1_files_ignore_keys_version_1_did_not_have(tmp_path, net):
    header = header_for(net, version=1, activation=["relu"], output="softmax")
    loaded = mio.load(write_npz(tmp_path / "v1.npz", header, net.params))
    assert loaded.activation == ("sigmoid",) and loaded.output == "sigmoid"


def test_version_1_files_hold_no_optimizer_state(tmp_path, net):
    path = write_npz(tmp_path / "v1.npz", header_for(net, version=1), net.params,
                     velocity=np.zeros(net.params.size))
    expect_error(path, "a version-1 model file holds no optimizer state, but this one has "
                 "the array 'velocity'")


@pytest.mark.parametrize("key", ["activation", "output", "optimizer_state"])
def test_version_2_header_missing_a_key(tmp_path, net, key):
    header = header_for(net)
    del header[key]
    expect_error(write_npz(tmp_path / "h.npz", header, net.params),
                 f"the header lacks '{key}'")


# malformed version-2 files


@pytest.mark.parametrize("changes, match", [
    ({"activation": ["swish"]}, r"activation is invalid: activation\[0\] must be one of "
     r"\['identity', 'relu', 'sigmoid', 'tanh'\], got 'swish'"),
    ({"activation": [1]}, r"activation\[0\] must be one of"),
    ({"activation": "relu"}, "activation must be a list of names, one per hidden layer"),
    ({"activation": None}, "activation must be a list"),
    ({"activation": ["relu", "relu"]}, r"one entry per hidden layer \(1\), got 2"),
    ({"activation": []}, r"one entry per hidden layer \(1\), got 0"),
    ({"output": "softplus"}, "output is invalid: output must be one of "
     r"\['exp', 'identity', 'sigmoid', 'softmax'\], got 'softplus'"),
    ({"output": "relu"}, "output is invalid"),
    ({"output": None}, "output is invalid"),
    ({"output": ["softmax"]}, "output is invalid"),
])
def test_invalid_activations_in_a_file(tmp_path, net, changes, match):
    path = write_npz(tmp_path / "a.npz", header_for(net, **changes), net.params)
    expect_error(path, "the header's .*" + match)
    with pytest.raises(ModelFileError, match=match):
        mio.read_header(path)


def adam_file(path, net, t=7, m=None, v=None, **changes):
    n = net.params.size
    m = np.linspace(-1, 1, n) if m is None else m
    v = np.linspace(0, 1, n) if v is None else v
    header = header_for(net, optimizer_state={"kind": "adam", "t": t}, **changes)
    return write_npz(path, header, net.params, adam_m=m, adam_v=v)


def test_a_hand_written_adam_file_loads(tmp_path, net):
    n = net.params.size
    path = adam_file(tmp_path / "a.npz", net, t=12, m=np.full(n, 0.5).astype(">f8"))
    state = mio.load(path).optimizer_state
    assert state["t"] == 12 and (state["m"] == 0.5).all()
    assert state["v"].tobytes() == np.linspace(0, 1, n).tobytes()
    assert np.signbit(mio.load(adam_file(path, net, v=np.full(n, -0.0))
                              ).optimizer_state["v"]).all()  # -0.0 is not negative


@pytest.mark.parametrize("state, match", [
    ({"kind": "adam", "t": -1}, "t .*must be an integer from 0 to 2\\*\\*63 - 1, got -1"),
    ({"kind": "adam", "t": 1.5}, "t .*must be an integer .*got 1.5"),
    ({"kind": "adam", "t": 2.0}, "t .*must be an integer .*got 2.0"),
    ({"kind": "adam", "t": True}, "t .*must be an integer .*got True"),
    ({"kind": "adam", "t": "3"}, "t .*must be an integer .*got '3'"),
    ({"kind": "adam", "t": None}, "t .*must be an integer .*got None"),
    ({"kind": "adam", "t": 2**63}, "t .*must be an integer .*got 9223372036854775808"),
    ({"kind": "adam"}, "optimizer_state of kind 'adam' must have exactly the keys 'kind', "
     "'t', got 'kind'"),
    ({"kind": "adam", "t": 1, "lr": 0.1}, "exactly the keys 'kind', 't', got 'kind', 'lr'"),
    ({"kind": "rmsprop", "t": 1}, "optimizer_state kind must be 'momentum' or 'adam', got "
     "'rmsprop'"),
    ({"t": 1}, "optimizer_state kind must be 'momentum' or 'adam', got None"),
    ("adam", "optimizer_state must be null or an object"),
    ([], "optimizer_state must be null or an object"),
])
def test_invalid_optimizer_state_in_the_header(tmp_path, net, state, match):
    n = net.params.size
    header = header_for(net, optimizer_state=state)
    path = write_npz(tmp_path / "s.npz", header, net.params, adam_m=np.zeros(n),
                     adam_v=np.zeros(n))
    expect_error(path, "the header's optimizer_state .*" + match.removeprefix(
        "optimizer_state "))


def test_adam_t_of_zero_and_of_the_largest_step_count_load(tmp_path, net):
    for t in (0, 2**63 - 1):
        assert mio.load(adam_file(tmp_path / "a.npz", net, t=t)).optimizer_state["t"] == t


@pytest.mark.parametrize("arrays, state, match", [
    ({"adam_m": 1}, {"kind": "adam", "t": 1}, "the adam_m array has no partner adam_v"),
    ({"adam_v": 1}, {"kind": "adam", "t": 1}, "the adam_v array has no partner adam_m"),
    ({"adam_m": 1}, None, "the adam_m array has no partner adam_v"),
    ({"velocity": 1, "adam_m": 1, "adam_v": 1}, {"kind": "adam", "t": 1},
     "both momentum's velocity and Adam's moments"),
    ({}, {"kind": "adam", "t": 1}, "optimizer_state is 'adam', which is stored as "
     "'adam_m' and 'adam_v', but the file has no optimizer state array"),
    ({}, {"kind": "momentum"}, "optimizer_state is 'momentum', which is stored as "
     "'velocity', but the file has no optimizer state array"),
    ({"adam_m": 1, "adam_v": 1}, {"kind": "momentum"}, "optimizer_state is 'momentum'.* "
     "but the file has 'adam_m' and 'adam_v'"),
    ({"velocity": 1}, {"kind": "adam", "t": 1}, "optimizer_state is 'adam'.* but the file "
     "has 'velocity'"),
    ({"velocity": 1}, None, "the file has the optimizer state array 'velocity' but the "
     "header's optimizer_state is null"),
    ({"adam_m": 1, "adam_v": 1}, None, "array 'adam_m' and 'adam_v' but the header's "
     "optimizer_state is null"),
])
def test_state_arrays_that_disagree_with_the_header(tmp_path, net, arrays, state, match):
    n = net.params.size
    extra = {key: np.zeros(n) for key in arrays}
    path = write_npz(tmp_path / "s.npz", header_for(net, optimizer_state=state),
                     net.params, **extra)
    expect_error(path, match)
    with pytest.raises(ModelFileError, match=match):
        mio.read_header(path)


@pytest.mark.parametrize("key", ["velocity", "adam_m", "adam_v"])
def test_state_arrays_of_the_wrong_length_dtype_or_shape(tmp_path, net, key):
    n = net.params.size
    kind = "momentum" if key == "velocity" else "adam"
    state = {"kind": "momentum"} if kind == "momentum" else {"kind": "adam", "t": 3}
    names = ("velocity",) if kind == "momentum" else ("adam_m", "adam_v")

    def write(bad):
        arrays = {name: bad if name == key else np.zeros(n) for name in names}
        return write_npz(tmp_path / "s.npz", header_for(net, optimizer_state=state),
                         net.params, **arrays)

    expect_error(write(np.zeros(n - 1)),
                 f"the {key} array has 25 values but the header's sizes need 26")
    expect_error(write(np.zeros(n + 1)), f"the {key} array has 27 values")
    expect_error(write(np.zeros(n, np.float32)),
                 f"the {key} array has dtype float32, expected float64")
    expect_error(write(np.zeros((2, 13))), f"the {key} array must be 1-D")
    with pytest.raises(ModelFileError, match="25 values"):
        mio.read_header(write(np.zeros(n - 1)))
    bad = np.zeros(n)
    bad[9] = np.nan
    path = write(bad)
    mio.read_header(path)  # the header alone does not read the values
    expect_error(path, rf"the optimizer state contains NaN or infinity \(first at "
                 rf"{key}\[9\]\)")
    bad[9] = -np.inf
    expect_error(write(bad), "NaN or infinity")


def test_negative_second_moments_are_refused(tmp_path, net):
    v = np.linspace(0, 1, net.params.size)
    v[5] = -1e-300
    expect_error(adam_file(tmp_path / "a.npz", net, v=v),
                 r"adam_v\[5\] is -1e-300: Adam's second moments are means of squares")


def test_a_state_array_appearing_twice_is_refused(tmp_path, net):
    header = npy_bytes(np.frombuffer(json.dumps(header_for(
        net, optimizer_state={"kind": "momentum"})).encode(), np.uint8))
    params, velocity = npy_bytes(net.params), npy_bytes(np.zeros(net.params.size))
    path = tmp_path / "twice.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as z:
            for name, data in (("header.npy", header), ("params.npy", params),
                               ("velocity.npy", velocity), ("velocity.npy", velocity)):
                z.writestr(name, data)
    expect_error(path, "the array 'velocity' appears twice")


def test_unknown_arrays_beside_a_state_are_refused(tmp_path, net):
    header = header_for(net, optimizer_state={"kind": "momentum"})
    path = write_npz(tmp_path / "m.npz", header, net.params,
                     velocity=np.zeros(net.params.size), moments=np.zeros(3))
    expect_error(path, "unexpected array 'moments': found 'header', 'moments', 'params', "
                 "'velocity'")


@pytest.mark.parametrize("key", ["velocity", "adam_v"])
def test_oversized_state_is_refused_before_it_is_decompressed(
        tmp_path, net, monkeypatch, key):
    n = net.params.size
    padded = np.zeros(n + 200_000)
    if key == "velocity":
        state, arrays = {"kind": "momentum"}, {"velocity": padded}
    else:
        state = {"kind": "adam", "t": 1}
        arrays = {"adam_m": np.zeros(n), "adam_v": padded}
    path = write_npz(tmp_path / "bomb.npz", header_for(net, optimizer_state=state),
                     net.params, compressed=True, **arrays)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    expect_error(path, f"{key} array takes 1,600,336 bytes, more than the 4,304")
    assert not {f"{key}.npy", "params.npy"} & set(opened)  # nothing decompressed


def test_pickled_objects_in_a_state_array_are_never_loaded(tmp_path):
    marker = tmp_path / "pwned"
    tiny = mlp.MLP([1, 1], seed=0)  # two parameters
    evil = np.array([_Marker(marker), 1.0], dtype=object)
    path = write_npz(tmp_path / "evil.npz", header_for(tiny, optimizer_state={
        "kind": "momentum"}), tiny.params, velocity=evil)
    expect_error(path, "the velocity array holds pickled Python objects")
    with pytest.raises(ModelFileError):
        mio.read_header(path)
    assert not marker.exists()


def test_every_single_byte_corruption_of_a_file_with_adam_state_is_caught(tmp_path):
    net, _, _ = trained((2, 2, 1), activation="relu", output="identity", state="adam")
    good = tmp_path / "good.npz"
    mio.save(net, good)
    data = good.read_bytes()
    path = tmp_path / "bad.npz"
    rejected = 0
    for i in range(len(data)):
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x41]) + data[i + 1:])
        try:
            loaded = mio.load(path)
        except ModelFileError:
            rejected += 1
        else:
            assert same_bits(loaded, net) and same_state(loaded, net), f"byte {i}"
            assert loaded.activation == net.activation and loaded.output == net.output
    assert rejected > len(data) // 2
