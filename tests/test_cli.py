"""python -m mlp: the main job on the bundled digits."""

import subprocess
import sys

from mlp import cli


def run(*args):
    return subprocess.run([sys.executable, "-m", "mlp", *args], capture_output=True,
                          text=True, timeout=120)


def test_main_job_reaches_96_percent():
    result = run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("mlp ") and "UCI digits" in lines[0]
    assert sum(line.startswith("epoch ") for line in lines) == 30
    accuracy = float(lines[-1].split()[2])
    assert accuracy >= 0.96, result.stdout


def test_options_and_quiet(capsys):
    assert cli.main(["train", "--epochs", "2", "--sizes", "64,12,10", "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("test accuracy") and "2 epochs" in out[0]


def test_bad_arguments_give_one_line_and_exit_2():
    for args, words in [
        (["--eta", "0"], "eta must be a finite number > 0"),
        (["--sizes", "64,30,9"], "--sizes must start with 64"),
        (["--sizes", "64,x,10"], "comma-separated"),
        (["--test-fraction", "1.5"], "--test-fraction"),
    ]:
        result = run(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr
