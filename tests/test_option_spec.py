"""The one specification of the training options (mlp.options): MLP.fit and partial_fit,
the command line, mlp.dask and the docs all say what it says, and every option's check
names the option. (What each option does to training is test_options.py's concern; the
estimators of mlp.sklearn take scikit-learn's parameters, not these: test_sklearn.py.)"""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import mlp
from mlp import cli, options
from mlp.options import FIT, OPTIONS, PARTIAL_FIT, STEP, check_options

ROOT = Path(__file__).resolve().parents[1]

# A value each option refuses, and the error it raises.
BAD = {
    "epochs": (-1, ValueError),
    "batch_size": (0, ValueError),
    "eta": (float("nan"), ValueError),
    "cost": ("hinge", ValueError),
    "optimizer": ("rmsprop", ValueError),
    "beta1": (1.0, ValueError),
    "beta2": (-0.1, ValueError),
    "epsilon": (0.0, ValueError),
    "l2": (-1.0, ValueError),
    "alpha": (-1.0, ValueError),
    "momentum": (1.5, ValueError),
    "nesterov": (1, TypeError),
    "schedule": ("cosine", ValueError),
    "validation_data": ([1, 2, 3], TypeError),
    "validation_split": (1.5, ValueError),
    "early_stopping": ("yes", TypeError),
    "patience": (0, ValueError),
    "callbacks": ([print, 3], TypeError),
    "shuffle": (None, TypeError),
    "seed": (-3, TypeError),
    "verbose": ("loud", TypeError),
    "progress": (5, TypeError),
}


# Keyword arguments that are data, not training options.
DATA = ("order", "sample_weight")


def keyword_defaults(function):
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.kind is p.KEYWORD_ONLY and name not in DATA}


def test_every_option_has_a_refused_value_here():
    assert set(BAD) == set(OPTIONS)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_each_check_names_its_option(name):
    value, error = BAD[name]
    with pytest.raises(error, match=name):
        check_options(FIT, {name: value}, "fit")
    option = OPTIONS[name]
    assert option.check(option.default, name) == option.default or name == "callbacks"


def test_combinations_are_checked_against_the_network():
    net = mlp.MLP([2, 3, 2], output="softmax", seed=0)
    X, y = [[0.0, 1.0], [1.0, 0.0]], [0, 1]
    with pytest.raises(ValueError, match="quadratic.*softmax output.*pairs that work"):
        net.fit(X, y, cost="quadratic")
    with pytest.raises(ValueError, match="momentum and nesterov are options of"):
        net.fit(X, y, optimizer="adam", momentum=0.9)
    with pytest.raises(ValueError, match="momentum and nesterov are options of"):
        net.partial_fit(X, y, optimizer="adam", nesterov=True)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_fit_refuses_each_bad_value_before_training(name):
    net = mlp.MLP([2, 3, 2], seed=0)
    before = net.params.copy()
    value, error = BAD[name]
    with pytest.raises(error, match=name):
        net.fit([[0.0, 1.0], [1.0, 0.0]], [0, 1], **{name: value})
    np.testing.assert_array_equal(net.params, before)


def test_unknown_options_are_named():
    with pytest.raises(TypeError, match=r"unexpected options \['lr'\].*batch_size, eta"):
        check_options(STEP, {"lr": 0.1}, "somewhere")
    with pytest.raises(TypeError, match="lr"):
        mlp.MLP([2, 1]).fit([[0.0, 1.0]], [1.0], lr=0.1)


def test_fit_and_partial_fit_take_the_specified_options_with_their_defaults():
    assert keyword_defaults(mlp.MLP.fit) == options.defaults(FIT)
    assert list(keyword_defaults(mlp.MLP.fit)) == list(FIT)
    assert keyword_defaults(mlp.MLP.partial_fit) == options.defaults(PARTIAL_FIT)
    assert list(keyword_defaults(mlp.MLP.partial_fit)) == list(PARTIAL_FIT)


@pytest.mark.parametrize("method, names", [("fit", FIT), ("partial_fit", PARTIAL_FIT)])
def test_docstrings_document_every_option_from_the_specification(method, names):
    doc = getattr(mlp.MLP, method).__doc__
    assert "{options}" not in doc
    flat = " ".join(doc.split())
    for name in names:
        assert re.search(rf"^\s+{name} : ", doc, re.M), name
        assert " ".join(OPTIONS[name].doc.split()) in flat, name
    for name in set(FIT) - set(names):
        assert not re.search(rf"^\s+{name} : ", doc, re.M), name


def test_command_line_flags_come_from_the_specification():
    parser = cli._parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest: a for a in train._actions}
    for name in cli.TRAIN_OPTIONS:
        option = OPTIONS[name]
        assert option.flag in flags[name].option_strings
        expected = False if option.cli is bool else option.command_line_default
        assert flags[name].default == expected, name
    assert set(cli.TRAIN_OPTIONS) == {n for n, o in OPTIONS.items() if o.cli is not None}
    args = parser.parse_args(["train", "--batch-size", "7", "--nesterov", "--cost",
                              "cross_entropy"])
    assert (args.batch_size, args.nesterov, args.cost) == (7, True, "cross_entropy")


def test_dask_takes_the_step_options_with_their_defaults():
    pytest.importorskip("dask.array")
    import dask.array as da

    import mlp.dask

    net = mlp.MLP([2, 2], seed=0)
    X = da.from_array(np.eye(2), chunks=(2, 2))
    with pytest.raises(TypeError, match=r"mlp.dask.partial_fit got unexpected.*'lr'"):
        mlp.dask.partial_fit(net, X, [0, 1], lr=1.0)
    for name in STEP:
        value, error = BAD[name]
        with pytest.raises(error, match=name):
            mlp.dask.partial_fit(net, X, [0, 1], **{name: value})
    twin = net.copy()
    mlp.dask.partial_fit(net, X, [0, 1])
    twin.partial_fit(np.eye(2), [0, 1], shuffle=False)
    np.testing.assert_array_equal(net.params, twin.params)


def test_docs_table_is_the_specification():
    text = (ROOT / "docs" / "training-options.md").read_text()
    begin, end = "<!-- options:begin -->\n", "<!-- options:end -->"
    table = text[text.index(begin) + len(begin) : text.index(end)].strip()
    assert table == options.markdown_table(FIT), (
        "docs/training-options.md's table differs from mlp.options: regenerate it with "
        "python -c \"import mlp.options as o; print(o.markdown_table())\"")


def test_command_line_help_is_ascii():
    parser = cli._parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    assert train.format_help().isascii()
