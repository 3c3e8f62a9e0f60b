"""Every example of the README, the pages of docs/ and the docstrings runs, and prints what
it says it prints.

In the Markdown files, the fenced blocks of each page run in order, in a temporary folder,
sharing one namespace:

- a ```python block with ``>>>`` prompts is a doctest: each output must match;
- a ```python block without prompts must run; one that guards itself with
  ``if __name__ == "__main__":`` is a script, and runs as one, in a process of its own;
- a ```console block is a shell session: each ``$ COMMAND`` line runs in bash (``mlp`` and
  ``python`` are this environment's) and must exit 0 and print the lines below it.

Outputs are compared as doctest does with ELLIPSIS and NORMALIZE_WHITESPACE, and numbers to
the precision written (``0.971`` matches 0.97111; pytest's NUMBER); in sessions, durations
(``0.02 s``), dates and mlp's version are normalised first. ```sh blocks (install commands,
paths of the reader's machine) are shown, not run. An HTML comment ``<!-- doctest: setup``
... ``-->`` holds a page's set-up code, run first and unseen by readers: data files that a
session reads, as the reader would have their own. A page whose examples import an optional
package skips when it is missing; the test extra installs them all.
"""

import doctest
import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import mlp

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\{[\w-]+\}|[^\s`]*)\s*(\S*)")
SETUP = re.compile(r"<!--\s*doctest:\s*setup\s*\n(.*?)-->", re.S)
IMPORT = re.compile(r"^\s*(?:>>> |\.\.\. )?(?:import|from)\s+([\w.]+)", re.M)
# what an example needs -> the module that must import for it to run
OPTIONAL = {"sklearn": "sklearn", "mlp.sklearn": "sklearn", "dask": "dask",
            "distributed": "distributed", "mlp.dask": "distributed", "onnx": "onnx",
            "mlp.onnx": "onnx", "onnxruntime": "onnxruntime", "matplotlib": "matplotlib",
            "mlp.plot": "matplotlib"}
COMMAND_NEEDS = {r"\bmlp export\b": "onnx", r"--plot\b": "matplotlib"}


@dataclass
class Block:
    path: Path
    lang: str
    text: str
    line: int  # of the block's first line of code, 1-based


def blocks(path, lines=None, first=0):
    """The fenced code blocks of a Markdown file (or of its ``lines`` from index ``first``
    on), with those of the files it includes (MyST's ``{include}``, as the site shows
    them) in their place."""
    found = []
    lines = path.read_text().splitlines() if lines is None else lines
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info, argument = m.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[i + 1 : end]]
        if info == "{include}":
            found += included(path, argument, body)
        else:
            found.append(Block(path, info, "\n".join(body) + "\n", first + i + 2))
        i = end + 1
    return found


def included(path, target, options):
    """The blocks of the part of ``target`` that an ``{include}`` with ``options`` shows."""
    target = (path.parent / target).resolve()
    options = dict(re.findall(r"^:([\w-]+):\s*(.*?)\s*$", "\n".join(options), re.M))
    lines = target.read_text().splitlines()
    lo, hi = 0, len(lines)
    if "start-after" in options:
        lo = next(k for k, line in enumerate(lines) if options["start-after"] in line) + 1
    if "end-before" in options:
        hi = next(k for k, line in enumerate(lines) if k >= lo
                  and options["end-before"] in line)
    return blocks(target, lines[lo:hi], lo)


def runnable(path):
    return [b for b in blocks(path) if b.lang in ("python", "console")]


# --- comparing outputs -----------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms|µs)\b")
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")
VERSION = re.compile(r"\bmlp \d+\.\d+\.\d+\S*?(?=[\s:,)]|$)")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def session_text(text):
    """A session's output with what changes from run to run replaced."""
    text = DATE.sub("<date>", text)
    text = VERSION.sub("mlp <version>", text)
    return DURATION.sub("<t> s", text)


class Checker(doctest.OutputChecker):
    """doctest's comparison, then once more with each number of ``got`` that equals the
    expected one to the precision written replaced by it (pytest's NUMBER option), and
    numpy's padding inside brackets ignored."""

    def __init__(self, normalise=lambda text: text):
        self.normalise = normalise

    def check_output(self, want, got, optionflags):
        want, got = self.normalise(want), self.normalise(got)
        if super().check_output(want, got, optionflags):
            return True
        # numpy pads the numbers of an array to one width: "[  28.9779129 , -290.75]"
        unpadded = [re.sub(r"(?<=[\[(])\s+|\s+(?=[,\])])", "", text)
                    for text in (want, self.rounded(want, got))]
        return super().check_output(*unpadded, optionflags)

    def output_difference(self, example, got, optionflags):
        example = doctest.Example(example.source, self.normalise(example.want))
        return super().output_difference(example, self.normalise(got), optionflags)

    @staticmethod
    def rounded(want, got):
        wants, gots = list(NUMBER.finditer(want)), list(NUMBER.finditer(got))
        if len(wants) != len(gots):
            return got
        for w, g in reversed(list(zip(wants, gots))):
            written, printed = w.group().lower(), g.group().lower()
            if not re.search(r"[.e]", printed):
                continue  # an integer printed: it must be the one written
            mantissa, _, exponent = written.partition("e")
            digits = len(mantissa.partition(".")[2]) - int(exponent or 0)
            if abs(float(written) - float(printed)) <= 10.0 ** -digits * (1 + 1e-9):
                got = got[: g.start()] + w.group() + got[g.end() :]
        return got


def run_doctest(test, checker):
    report = []
    runner = doctest.DocTestRunner(checker=checker, optionflags=FLAGS)
    result = runner.run(test, out=report.append, clear_globs=False)
    return result, "".join(report)


# --- running a page ----------------------------------------------------------------------

def needs(path):
    """The optional modules a page's examples import or its sessions run."""
    text = path.read_text()
    code = "".join(b.text for b in runnable(path) if b.lang == "python")
    code += "".join(SETUP.findall(text))
    wanted = {OPTIONAL[n] for name in IMPORT.findall(code)
              for n in (name, name.split(".")[0]) if n in OPTIONAL}
    sessions = "".join(b.text for b in runnable(path) if b.lang == "console")
    wanted |= {module for pattern, module in COMMAND_NEEDS.items()
               if re.search(pattern, sessions)}
    return sorted(wanted)


def commands(block):
    """``(command, expected output)`` for each ``$`` line of a session; a line ending in
    a backslash continues on the next."""
    found, lines, i = [], block.text.splitlines(), 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise AssertionError(
                f"line {block.line + i}: {lines[i]!r} is not a '$ ' command")
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        i += 1
        start = i
        while i < len(lines) and not lines[i].startswith("$ "):
            i += 1
        found.append((block.line + start - 1, command, "\n".join(lines[start:i])))
    return found


def shell_env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "100"
    return env


def shown(path):
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def run_session(block, folder):
    if shutil.which("bash") is None:  # an arm64 tree under emulation has no shell
        pytest.skip("console sessions run in bash, which this machine lacks")
    failures = []
    for line, command, want in commands(block):
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=shell_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        want = want + "\n" if want else ""
        where = f"{shown(block.path)}:{line}: $ {command}\n"
        checker = Checker(session_text)
        if done.returncode != 0:
            failures.append(f"{where}exit status {done.returncode}:\n{done.stdout}")
        elif not checker.check_output(want, done.stdout, FLAGS):
            example = doctest.Example(command, want)
            failures.append(where + checker.output_difference(example, done.stdout, FLAGS))
    return failures


def run_page(path, folder):
    """Run a page's examples in ``folder``; returns the failures' reports."""
    namespace = {"__name__": "__doc_example__"}
    for setup in SETUP.findall(path.read_text()):
        exec(compile(textwrap.dedent(setup), f"{shown(path)} (set-up)", "exec"), namespace)
    failures = []
    for block in runnable(path):
        where = f"{shown(block.path)}:{block.line}"
        if block.lang == "console":
            failures += run_session(block, folder)
        elif re.search(r"^\s*>>> ", block.text, re.M):
            test = doctest.DocTestParser().get_doctest(block.text, namespace, where,
                                                        str(block.path), block.line - 1)
            result, report = run_doctest(test, Checker())
            namespace.update(test.globs)  # a DocTest runs in a copy of the namespace
            if result.failed:
                failures.append(report)
        elif re.search(r"^if __name__ == .__main__.:", block.text, re.M):
            done = subprocess.run([sys.executable, "-c", block.text], cwd=folder,
                                  env=shell_env(), capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0:
                failures.append(f"{where}: the script exited {done.returncode}:\n"
                                f"{done.stdout}{done.stderr}")
        else:
            # padded so that a traceback names the page's own line numbers
            code = "\n" * (block.line - 1) + block.text
            exec(compile(code, str(block.path), "exec"), namespace)
    return failures


@pytest.mark.parametrize("path", [p for p in PAGES if runnable(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_examples_run(path, tmp_path, monkeypatch):
    for module in needs(path):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{path.name}'s examples need {module}")
    monkeypatch.chdir(tmp_path)
    failures = run_page(path, tmp_path)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["README.md", "docs/training-options.md",
                                  "docs/command-line.md", "docs/model-files.md",
                                  "docs/sklearn.md", "docs/math.md", "docs/activations.md"])
def test_the_main_pages_have_checked_examples(name):
    """The quick start, the options, the command line, model files and the drop-in show
    doctests or sessions, whose outputs are checked, not only code that runs."""
    checked = [b for b in runnable(ROOT / name)
               if b.lang == "console" or re.search(r"^>>> ", b.text, re.M)]
    assert checked, f"{name} has no doctest or session"


def test_each_option_of_fit_is_shown_in_an_example():
    """Every training option of the specification appears in a checked example of the
    training options page."""
    from mlp.options import FIT

    code = "".join(b.text for b in runnable(ROOT / "docs" / "training-options.md"))
    missing = [name for name in FIT if not re.search(rf"\b{name}=", code)]
    assert not missing, f"docs/training-options.md has no example with {missing}"


# --- the runner itself -------------------------------------------------------------------

def test_numbers_match_to_the_precision_written():
    checker = Checker()
    assert checker.check_output("0.971\n", "0.9711111\n", FLAGS)
    assert checker.check_output("(3, 10) 0.5\n", "(3, 10) 0.4999\n", FLAGS)
    assert not checker.check_output("0.971\n", "0.969\n", FLAGS)
    assert not checker.check_output("0.97\n", "0.9811\n", FLAGS)
    assert checker.check_output("1.5e-03\n", "0.00151\n", FLAGS)
    assert checker.check_output("array([28.98, -291])\n", "array([  28.9779 , -290.75])\n",
                                FLAGS)
    assert not checker.check_output("(3, 10)\n", "(3, 11)\n", FLAGS)


def test_a_wrong_example_fails(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```python\n>>> 1 + 1\n3\n```\n\n"
                    "```console\n$ echo hi\nho\n```\n\n"
                    "```python\nraise ValueError('boom')\n```\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="boom"):
        run_page(page, tmp_path)
    page.write_text(page.read_text().rsplit("```python", 1)[0])
    failures = run_page(page, tmp_path)
    assert len(failures) == 2 and "Expected:\n    3" in failures[0] and "ho" in failures[1]


def test_sessions_normalise_what_changes_between_runs():
    assert session_text("epoch 1/2  cost 0.4  0.001 s\nin 0.07 s\n") == (
        "epoch 1/2  cost 0.4  <t> s\nin <t> s\n")
    assert session_text("written by mlp 0.1.0 on 2026-12-02T12:54:31+00:00") == (
        "written by mlp <version> on <date>")


# --- the docstrings ----------------------------------------------------------------------

MODULES = sorted(m.name for m in pkgutil.walk_packages(mlp.__path__, "mlp.")
                 if m.name != "mlp.__main__")  # importing __main__ runs the command line


@pytest.mark.parametrize("name", ["mlp", *MODULES])
def test_the_docstrings_examples_run(name, tmp_path, monkeypatch):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name in OPTIONAL.values() or (exc.name or "").split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs {exc.name}")
        raise
    monkeypatch.chdir(tmp_path)
    tests = [test for test in doctest.DocTestFinder().find(module, name) if test.examples]
    imported = {m.group(1) for test in tests for example in test.examples
                if (m := re.match(r"(?:import|from)\s+(\w+)", example.source))}
    missing = sorted(m for m in imported if importlib.util.find_spec(m) is None)
    if missing:  # onnxruntime, say, which mlp[onnx] does not install
        pytest.skip(f"{name}'s examples need {', '.join(missing)}")
    failures = []
    for test in tests:
        if test.examples:
            result, report = run_doctest(test, Checker())
            if result.failed:
                failures.append(report)
    assert not failures, "\n".join(failures)
