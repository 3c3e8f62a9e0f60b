"""The command line, run as a user would: subprocesses on small generated files."""

import io
import json
import os
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
    """The one line on stderr of a run that failed with ``status`` (bad arguments too: no
    usage block)."""
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlp: "), result.stderr
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
    assert "activation: sigmoid\noutput: sigmoid\n" in result.stdout
    assert "optimizer state: momentum (velocity)" in result.stdout


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
        (["--momentum", "1.5"], "momentum"),
        (["--early-stopping", "--test-fraction", "0"], "validation data"),
        (["nowhere.csv"], "nowhere.csv: no such file"),
        (["--epochs", "-1"], "epochs must be >= 0"),
        (["--activation", "swish"], "unknown activation 'swish'; choose from sigmoid, "
         "tanh, relu, identity"),
        (["--activation", "relu,Tanh"], "unknown activation 'Tanh'"),
        (["--activation", ""], "unknown activation ''"),
        (["--activation", "relu,tanh"], "--activation names 2 activations but --sizes "
         "64,30,10 has 1 hidden layer: give one name, or one per hidden layer"),
        (["--sizes", "64,30,20,10", "--activation", "relu,tanh,relu"],
         "names 3 activations but --sizes 64,30,20,10 has 2 hidden layers"),
        (["--output", "relu"], "argument --output: invalid choice: 'relu'"),
        (["--optimizer", "adamw"], "argument --optimizer: invalid choice: 'adamw'"),
        (["--output", "softmax", "--cost", "quadratic"],
         "cost 'quadratic' does not go with a softmax output"),
        (["--optimizer", "adam", "--momentum", "0.9"], "momentum and nesterov are options"),
        (["--beta1", "1"], "beta1"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate (see 'mlp train --help')"),
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
    assert 'pip install "mlp-backprop[plot]"' in one_clear_line(result)
    assert not (tmp_path / "c.png").exists()


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


# --- activations, outputs and optimizers ------------------------------------------------


def info_lines(model):
    result = run("info", str(model))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_relu_softmax_adam_on_the_digits(tmp_path):
    model, metrics = tmp_path / "m.npz", tmp_path / "m.json"
    result = run("--activation", "relu", "--output", "softmax", "--optimizer", "adam",
                 "--epochs", "8", "--out", str(model), "--json", str(metrics))
    assert result.returncode == 0, result.stderr
    assert "activation='relu', output='softmax'" in result.stdout.splitlines()[0]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy") and float(last.split()[2]) > 0.9, last
    report = json.loads(metrics.read_text())
    # the cost and eta left out are recorded as the ones used
    assert report["options"]["cost"] == "cross_entropy" and report["options"]["eta"] == 0.001
    assert report["options"]["optimizer"] == "adam" and report["test"]["accuracy"] > 0.9
    header = mlp.io.read_header(model)
    assert header["activation"] == ["relu"] and header["output"] == "softmax"
    steps = 8 * -(-1347 // 10)  # 8 epochs of the 1,347 training digits, 10 a mini-batch
    assert header["optimizer_state"] == {"kind": "adam", "t": steps}
    assert header["training"]["optimizer"] == "adam"
    net = mlp.io.load(model)
    assert net.activation == ("relu",) and net.output == "softmax"
    assert net.optimizer_state["t"] == steps

    lines = info_lines(model)
    assert "activation: relu" in lines and "output: softmax" in lines
    assert f"optimizer state: adam, t={steps}" in lines
    assert "training optimizer: adam" in lines and "training cost: cross_entropy" in lines

    # evaluate uses the stored cost; the digits as a CSV file
    X, y = mlp.datasets.load_digits()
    csv = tmp_path / "digits.csv"
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", fmt="%d")
    result = run("evaluate", str(model), str(csv))
    assert result.returncode == 0, result.stderr
    assert "1797 samples, cross_entropy cost" in result.stdout
    assert float(result.stdout.split("accuracy ")[1]) > 0.9


def test_one_activation_per_hidden_layer(tmp_path):
    model = tmp_path / "m.npz"
    result = run("--sizes", "64,30,20,10", "--activation", "relu,tanh", "--epochs", "3",
                 "--optimizer", "adam", "--eta", "0.01", "--quiet", "--out", str(model))
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split()[2]) > 0.9, result.stdout
    net = mlp.io.load(model)
    assert net.sizes == (64, 30, 20, 10) and net.activation == ("relu", "tanh")
    assert net.output == "sigmoid"
    lines = info_lines(model)
    assert "activation: relu,tanh" in lines and "output: sigmoid" in lines
    assert "optimizer state: adam, t=405" in lines  # 3 epochs of 135 mini-batches
    assert "training cost: quadratic" in lines and "training eta: 0.01" in lines
    # plain SGD leaves no optimizer state
    assert run("--epochs", "1", "--quiet", "--out", str(model)).returncode == 0
    assert "optimizer state: none" in info_lines(model)


def test_evaluate_falls_back_to_the_outputs_own_cost(tmp_path, blobs, capsys):
    folder, X, y = blobs
    net = mlp.MLP([4, 6, 3], activation="tanh", output="softmax", seed=0)
    scaling = {"method": "standard", "offset": X.mean(0), "scale": X.std(0)}
    for training in (None, {"cost": None}, {"cost": "quadratic"}, {"cost": 3}):
        mlp.io.save(net, tmp_path / "m.npz", scaling=scaling, training=training)
        assert cli.main(["evaluate", str(tmp_path / "m.npz"), str(folder / "blobs.npz")]) == 0
        assert "300 samples, cross_entropy cost" in capsys.readouterr().out


def write_version_1_model(path, net, training):
    """A model file in format version 1 (before activations and Adam), written by hand."""
    header = {"format": "mlp-model", "format_version": 1, "mlp_version": "0.1.0",
              "sizes": list(net.sizes), "n_params": int(net.params.size),
              "created": "2024-05-01T12:00:00+00:00", "training": training,
              "scaling": None, "metadata": {}}
    text = json.dumps(header).encode("utf-8")
    np.savez(path, header=np.frombuffer(text, dtype=np.uint8), params=net.params)


def test_version_1_models_still_work(tmp_path, blobs, capsys):
    folder, X, y = blobs
    net = mlp.MLP([4, 5, 3], seed=1)
    model = tmp_path / "v1.npz"
    write_version_1_model(model, net, {"cost": "cross_entropy", "epochs": 30})
    assert cli.main(["info", str(model)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "format version 1" in out[0]
    assert out[2:5] == ["activation: sigmoid", "output: sigmoid", "optimizer state: none"]
    assert cli.main(["evaluate", str(model), str(folder / "blobs.npz")]) == 0
    assert "cross_entropy cost" in capsys.readouterr().out
    assert cli.main(["predict", str(model), str(folder / "new.csv")]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(rows) == 5


def test_help_explains_the_options_left_to_the_output_and_the_optimizer(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text
    for flag in ("--activation NAME[,NAME...]", "--output {sigmoid,softmax,identity,exp}",
                 "--optimizer {sgd,adam}", "--beta1", "--beta2", "--epsilon"):
        assert flag in text
    assert "(default: 3.0 with --optimizer sgd, 0.001 with adam)" in text
    assert "(default: the output's: quadratic for sigmoid and identity, cross_entropy for " \
           "softmax, poisson for exp)" in text


@pytest.mark.parametrize("command", ["info", "predict"])
def test_a_closed_stdout_ends_quietly(tmp_path, blobs, command):
    """`mlp info m.npz | head -1`: once the reader has gone, mlp stops with the status a
    shell gives a program that SIGPIPE ended, and no error or traceback."""
    folder, _, _ = blobs
    model = tmp_path / "m.npz"
    net = mlp.MLP([4, 5, 3], seed=0)
    mlp.io.save(net, model)
    args = [str(model)] if command == "info" else [str(model), str(folder / "new.csv")]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before mlp writes its first line
    try:
        result = subprocess.run([sys.executable, "-m", "mlp", command, *args],
                                stdout=write_end, stderr=subprocess.PIPE, text=True,
                                timeout=300)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")
