"""The command line, run as a user would: subprocesses on small generated files."""

import io
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mlp
from mlp import cli
from mlp._progress import ProgressBar


def run(*args, cwd=None, code=None):
    command = [sys.executable, "-m", "mlp", *args] if code is None else \
        [sys.executable, "-c", code, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def one_clear_line(result, status=2):
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlp: ") or "usage:" in result.stderr, \
        result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """Three separable classes in 4 features: a CSV with a header, an .npz, and the
    arrays."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 10, 10], [10, 0, 0, 10], [0, 10, 10, 0]], dtype=float)
    y = rng.integers(0, 3, 300)
    X = centers[y] + rng.normal(0, 1.5, (300, 4)) + 50  # unscaled on purpose
    header = "f1,f2,f3,f4,label"
    body = "\n".join(",".join(f"{v:.4f}" for v in row) + f",{k}" for row, k in zip(X, y))
    (folder / "blobs.csv").write_text(header + "\n" + body + "\n")
    features_only = "\n".join(",".join(f"{v:.4f}" for v in row) for row in X[:5])
    (folder / "new.csv").write_text(features_only + "\n")
    np.savez(folder / "blobs.npz", X=X, y=y)
    return folder, X, y


def test_main_job_reaches_96_percent():
    result = run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("mlp ") and "UCI digits" in lines[0]
    assert sum(line.startswith("epoch ") for line in lines) == 30
    assert "test accuracy" in lines[1]
    accuracy = float(lines[-1].split()[2])
    assert lines[-1].startswith("test accuracy") and accuracy >= 0.96, result.stdout
    assert "\r" not in result.stdout + result.stderr  # no progress bar when not a terminal


def test_options_and_quiet(capsys):
    assert cli.main(["train", "--epochs", "2", "--sizes", "64,12,10", "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("test accuracy") and "2 epochs" in out[0]


def test_train_save_evaluate_predict_info(tmp_path, blobs):
    folder, X, y = blobs
    model, metrics, curve = tmp_path / "m.npz", tmp_path / "m.json", tmp_path / "c.png"
    result = run("train", str(folder / "blobs.csv"), "--epochs", "15", "--eta", "2",
                 "--cost", "cross_entropy", "--momentum", "0.5", "--scale", "standard",
                 "--out", str(model), "--json", str(metrics), "--plot", str(curve))
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1].split()[2]) > 0.95
    report = json.loads(metrics.read_text())
    assert report["sizes"] == [4, 30, 3] and len(report["history"]) == 15
    assert report["options"]["cost"] == "cross_entropy" and report["test"]["accuracy"] > 0.95
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = mlp.io.read_header(model)
    assert header["scaling"]["method"] == "standard" and header["training"]["momentum"] == 0.5

    # evaluate applies the stored scaling to raw data
    result = run("evaluate", str(model), str(folder / "blobs.csv"))
    assert result.returncode == 0, result.stderr
    assert "300 samples" in result.stdout and "cross_entropy cost" in result.stdout
    accuracy = float(result.stdout.strip().split("accuracy ")[1])
    assert accuracy > 0.95
    result = run("evaluate", str(model), str(folder / "blobs.npz"))
    assert result.returncode == 0 and f"accuracy {accuracy:.4f}" in result.stdout

    # predict: to a file, and to stdout (a file with the label column, one without)
    out = tmp_path / "p.csv"
    result = run("predict", str(model), str(folder / "blobs.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = out.read_text().strip().splitlines()
    assert rows[0] == "prediction,output_0,output_1,output_2" and len(rows) == 301
    predicted = np.array([int(r.split(",")[0]) for r in rows[1:]])
    assert np.mean(predicted == y) == pytest.approx(accuracy)
    result = run("predict", str(model), str(folder / "new.csv"))
    assert result.returncode == 0 and result.stdout.splitlines()[1:] == rows[1:6]

    result = run("info", str(model))
    assert result.returncode == 0
    assert "sizes: 4,30,3 (243 parameters)" in result.stdout
    assert "input scaling: standard" in result.stdout


def test_train_on_npz_and_idx(tmp_path, blobs):
    folder, X, y = blobs
    result = run("train", str(folder / "blobs.npz"), "--epochs", "3", "--quiet")
    assert result.returncode == 0 and result.stdout.startswith("test accuracy"), result.stderr
    images = (np.clip(X[:, None, :] * 3, 0, 255)).astype(np.uint8).reshape(300, 2, 2)
    for name, data in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte",
                                                             y.astype(np.uint8))):
        header = bytes([0, 0, 8, data.ndim]) + b"".join(
            int(d).to_bytes(4, "big") for d in data.shape)
        (tmp_path / name).write_bytes(header + data.tobytes())
    result = run("train", str(tmp_path), "--epochs", "3", "--quiet")
    assert result.returncode == 0 and result.stdout.startswith("test accuracy"), result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--eta", "0"], "eta must be a finite number > 0"),
        (["--sizes", "64,30,9"], "--sizes must start with 64"),
        (["--sizes", "64,x,10"], "comma-separated"),
        (["--test-fraction", "1.5"], "--test-fraction"),
        (["--momentum", "1"], "momentum"),
        (["--early-stopping", "--test-fraction", "0"], "validation data"),
        (["nowhere.csv"], "nowhere.csv: no such file"),
        (["--epochs", "-1"], "epochs must be >= 0"),
    ],
)
def test_bad_training_arguments_give_one_line(args, words):
    stderr = one_clear_line(run(*args))
    assert words in stderr


def test_bad_data_and_models_give_one_line(tmp_path, blobs):
    folder, X, y = blobs
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,five,6\n")
    assert "row 2, column 2" in one_clear_line(run("train", str(bad)))
    assert "no column named 'kind'" in one_clear_line(
        run("train", str(folder / "blobs.csv"), "--label-column", "kind"))
    model = tmp_path / "m.npz"
    assert run("train", str(folder / "blobs.csv"), "--epochs", "1", "--quiet", "--out",
               str(model)).returncode == 0
    digits_csv = tmp_path / "digits.csv"
    Xd, yd = mlp.datasets.load_digits()
    np.savetxt(digits_csv, np.column_stack([Xd[:20], yd[:20]]), delimiter=",")
    assert "features per sample; the model takes 4" in one_clear_line(
        run("evaluate", str(model), str(digits_csv)))
    assert "features per sample" in one_clear_line(run("predict", str(model), str(digits_csv)))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    for command in (["info", str(junk)], ["evaluate", str(junk), str(folder / "blobs.csv")],
                    ["predict", str(tmp_path / "absent.npz"), str(folder / "blobs.csv")]):
        one_clear_line(run(*command))
    labels_out_of_range = tmp_path / "ten.csv"
    labels_out_of_range.write_text("1,2,3,4,7\n")
    assert "labels from 7 to 7" in one_clear_line(
        run("evaluate", str(model), str(labels_out_of_range)))


def test_ctrl_c_stops_cleanly_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", X=rng.uniform(0, 1, (20000, 100)),
             y=rng.integers(0, 10, 20000))
    model = tmp_path / "m.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "mlp", "train", str(tmp_path / "big.npz"), "--epochs",
         "100000", "--sizes", "100,200,10", "--out", str(model)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("mlp ")
        assert process.stdout.readline().startswith("epoch ")  # training is under way
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "saved to" in stderr and "Traceback" not in stderr
    net = mlp.io.load(model)
    assert net.sizes == (100, 200, 10) and np.isfinite(net.params).all()
    assert mlp.io.read_header(model)["metadata"]["interrupted"] is True


def test_plot_without_matplotlib_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from mlp.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = run("train", "--epochs", "1", "--plot", str(tmp_path / "c.png"), code=code)
    assert "pip install" in one_clear_line(result) and not (tmp_path / "c.png").exists()


def test_progress_bar_draws_on_a_terminal_only():
    stream = io.StringIO()
    bar = ProgressBar(3, stream=stream, enabled=True)
    bar.update(1, 50, 100, 0.25)
    bar.update(1, 100, 100, 0.2)
    text = stream.getvalue()
    assert text.startswith("\repoch 1/3 [") and "ETA" in text and "cost 0.2000" in text
    bar.clear()
    assert stream.getvalue().endswith("\r")
    quiet = io.StringIO()
    ProgressBar(3, stream=quiet).update(1, 100, 100, 0.2)  # StringIO is not a terminal
    assert quiet.getvalue() == ""


def test_idx_folders_train_on_train_files_and_evaluate_on_test_files(tmp_path):
    rng = np.random.default_rng(5)
    for prefix, n in (("train", 200), ("t10k", 50)):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        images = (labels[:, None, None] * 200 + rng.integers(0, 50, (n, 3, 3))).astype(np.uint8)
        for what, data in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, data.ndim]) + b"".join(
                int(d).to_bytes(4, "big") for d in data.shape)
            (tmp_path / f"{prefix}-{what}-ubyte").write_bytes(header + data.tobytes())
    model = tmp_path / "m.npz"
    result = run("train", str(tmp_path), "--epochs", "5", "--quiet", "--out", str(model))
    assert result.returncode == 0, result.stderr
    result = run("evaluate", str(model), str(tmp_path))
    assert result.returncode == 0 and "50 samples" in result.stdout, result.stderr
    result = run("evaluate", str(model), str(tmp_path), "--kind", "train")
    assert result.returncode == 0 and "200 samples" in result.stdout
