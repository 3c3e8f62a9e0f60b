"""The distribution name: "mlp" on PyPI is an unrelated project, so mlp is distributed as
mlp-backprop (imported as mlp), and every install command the project prints or documents
names that distribution, since `pip install "mlp[...]"` would install the other one. (The
ImportError hints themselves are checked where they are raised: test_sklearn.py,
test_dask.py, test_cli.py.)"""

import re
from importlib import metadata
from pathlib import Path

import pytest

import mlp

ROOT = Path(__file__).resolve().parent.parent
NAME = "mlp-backprop"
# Files that show or print install commands: the docs, the sources' ImportError hints,
# the examples and benchmarks.
SHOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *[path for folder in ("src/mlp", "examples", "benchmarks")
           for path in sorted((ROOT / folder).glob("*.py"))]]
# pip install NAME[extras] (quoted or not, in a Python string the quotes escaped or not)
EXTRAS_INSTALL = re.compile(r'pip install \\?"?([A-Za-z0-9._-]+)\[')


def project_name(pyproject):
    section = re.search(r"^\[project\]$(.*?)^\[", pyproject.read_text(), re.M | re.S)
    return re.search(r'^name = "([^"]+)"$', section.group(1), re.M).group(1)


def test_the_distribution_is_not_pypis_mlp():
    assert project_name(ROOT / "pyproject.toml") == NAME


@pytest.mark.parametrize("path", SHOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_install_commands_name_the_distribution(path):
    # ".[test]": this tree; "dask[array]": dask's own extra
    named = set(EXTRAS_INSTALL.findall(path.read_text())) - {".", "dask"}
    assert named <= {NAME}, f"{path.name}: pip install {named - {NAME}}[...] (not {NAME})"


def test_the_embedding_example_requires_it():
    text = (ROOT / "examples" / "embed" / "pyproject.toml").read_text()
    assert re.search(rf'^requires = \[.*"{NAME}"', text, re.M)
    assert re.search(rf'^dependencies = \[.*"{NAME}"', text, re.M)
    assert not re.search(r'"mlp"', text)


def test_the_installed_distribution_has_the_name_and_version():
    try:
        dist = metadata.distribution(NAME)
    except metadata.PackageNotFoundError:
        if Path(mlp.__file__).resolve().is_relative_to(ROOT / "src"):
            pytest.skip("mlp is imported from the source tree, not installed")
        raise
    assert dist.version == mlp.__version__
    assert (dist.read_text("top_level.txt") or "").split() == ["mlp"]
