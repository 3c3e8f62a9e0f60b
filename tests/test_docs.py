"""The README and the pages of docs/: the README stays a short newcomer's page with the two
set-up commands CI runs, and every relative link in them leads to a file that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# [text](target) and [text](target "title"); images too. Autolinks and reference-style
# links are not used in these files.
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(path):
    """The lines of a Markdown file outside fenced code blocks and HTML comments (such as
    a page's hidden doctest set-up), with inline code removed."""
    lines, fenced, comment = [], False, False
    for line in path.read_text().splitlines():
        if comment or (not fenced and line.lstrip().startswith("<!--")):
            comment = "-->" not in line
            continue
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "``", line))
    return lines


def links(path):
    """Every link target in a Markdown file, outside code."""
    return [m.group(1) for line in prose(path) for m in LINK.finditer(line)]


def relative(target):
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)


def test_there_are_pages():
    assert DOCS / "index.md" in PAGES and len(PAGES) > 5


def test_readme_is_at_most_150_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move the detail to docs/"


def test_readme_has_the_two_set_up_commands_verbatim():
    # .ci/run runs the second; both must stay exactly as a newcomer copies them.
    readme = README.read_text()
    for command in ['pip install . && python -m mlp', 'pip install ".[test]" && pytest']:
        assert re.search(rf"^{re.escape(command)}(\s|$)", readme, re.M), command


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_existing_files(path):
    targets = [t for t in links(path) if relative(t)]
    anchored = [t for t in targets if "#" in t]
    assert not anchored, f"{path.name}: links with anchors (a built site may rename them): {anchored}"
    missing = [t for t in targets if not (path.parent / t).resolve().is_file()]
    assert not missing, f"{path.name}: links to files that do not exist: {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_each_page_has_one_title(path):
    titles = [line for line in prose(path) if re.match(r"#\s", line)]
    assert len(titles) == 1, f"{path.name}: {len(titles)} '#' titles"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*\.md", path.name), path.name


def listed_pages(path):
    """The docs/ pages a Markdown file links to."""
    found = set()
    for target in links(path):
        if relative(target) and target.endswith(".md"):
            page = (path.parent / target).resolve()
            if page.parent == DOCS.resolve():
                found.add(page.name)
    return found


def test_index_lists_every_page():
    listed = listed_pages(DOCS / "index.md")
    assert listed == {p.name for p in PAGES} - {"index.md"}


def test_readme_links_every_page_the_index_lists():
    listed = listed_pages(DOCS / "index.md")
    assert listed, "docs/index.md lists no pages"
    assert not listed - listed_pages(README), (
        f"README.md does not link {sorted(listed - listed_pages(README))}")


# --- the site (docs/conf.py): what sphinx-build -W checks too, here without Sphinx -------

DIRECTIVE = re.compile(r"^```\{([\w-]+)\}[ \t]*(.*)\n((?:.*\n)*?)```", re.M)
EXAMPLES = ROOT / "examples"


def directives(path, name):
    """``(argument, options, body)`` of each ```{name} block of a page."""
    found = []
    for m in DIRECTIVE.finditer(path.read_text()):
        if m.group(1) == name:
            lines = m.group(3).splitlines()
            options = {}
            while lines and re.match(r":[\w-]+:", lines[0]):
                key, _, value = lines.pop(0)[1:].partition(":")
                options[key] = value.strip().strip("'\"")
            found.append((m.group(2).strip(), options, "\n".join(lines)))
    return found


def test_the_site_shows_every_page():
    """Each page is in the table of contents of the index or of a page the index lists
    (Sphinx warns about any other; the README is not part of the site)."""
    entries = set()
    for page in PAGES:
        for _, _, body in directives(page, "toctree"):
            entries |= {f"{line.strip()}.md" for line in body.splitlines() if line.strip()}
    assert entries == {p.name for p in PAGES} - {"index.md"}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_included_files_and_their_markers_exist(path):
    for name in ("include", "literalinclude"):
        for target, options, _ in directives(path, name):
            source = (path.parent / target).resolve()
            assert source.is_file(), f"{path.name}: {{{name}}} of a missing {target}"
            text = source.read_text()
            for key in ("start-at", "start-after", "end-at", "end-before"):
                if key in options:
                    assert options[key] in text, (
                        f"{path.name}: {target} has no {options[key]!r}")


@pytest.mark.parametrize("page, files", [
    ("cython.md", ["embed/setup.py", "embed/mlp_embed/_demo.pyx"]),
    ("c-api.md", ["c_api/setup.py", "c_api/mlp_c_demo.c", "cpp_api/mlp_cpp_demo.cpp"]),
])
def test_the_embedding_pages_include_the_tested_examples(page, files):
    """The files that tests/test_embed.py and tests/test_c_api.py build are on these pages
    whole, included from examples/, and no code block copies part of them."""
    path = DOCS / page
    whole = {(path.parent / target).resolve() for target, options, _ in
             directives(path, "literalinclude") if not options.keys() & {"start-at",
             "start-after", "end-at", "end-before", "lines", "pyobject"}}
    assert whole >= {(EXAMPLES / name).resolve() for name in files}
    sources = [p.read_text() for p in EXAMPLES.rglob("*") if p.is_file()]
    for block in re.findall(r"^```[a-z]+\n(.*?)^```", path.read_text(), re.M | re.S):
        if block.count("\n") > 1:
            assert not any(block.strip() in text for text in sources), block


PUBLIC_NOT_IN_THE_REFERENCE = {
    "mlp.cli": "the command line, documented on command-line.md",
    "mlp.network": "its public names are mlp's own (mlp.MLP, mlp.sigmoid)",
}


def test_the_reference_has_every_public_module():
    import pkgutil

    import mlp

    public = {f"mlp.{m.name}" for m in pkgutil.iter_modules(mlp.__path__)
              if not m.name.startswith("_")}
    (_, _, body), = directives(DOCS / "reference.md", "eval-rst")
    listed = set(re.findall(r"^\s+(mlp(?:\.\w+)*)\s*$", body, re.M))
    assert listed == public - PUBLIC_NOT_IN_THE_REFERENCE.keys() | {"mlp"}


def plots():
    """``(page, filename prefix, code)`` of each plot the pages draw."""
    found = []
    for page in PAGES:
        for _, _, body in directives(page, "eval-rst"):
            for m in re.finditer(r"^\.\. plot::\n((?:   .*\n|\n)*)", body + "\n", re.M):
                options = dict(re.findall(r"^   :([\w-]+):\s*(.*)$", m.group(1), re.M))
                code = "\n".join(line[3:] for line in m.group(1).splitlines()
                                 if line.startswith("   ") and not line.startswith("   :"))
                found.append((page.name, options.get("filename-prefix"), code))
    return found


def test_each_plot_reads_reports_that_exist_and_has_its_own_file_name():
    found = plots()
    assert found, "the performance page draws no plot"
    prefixes = [prefix for _, prefix, _ in found]
    # without a prefix, every plot of a page would be written to the same file
    assert None not in prefixes and len(set(prefixes)) == len(prefixes), prefixes
    for page, _, code in found:
        for report in re.findall(r'"([^"]+\.md)"', code):
            assert (ROOT / "benchmarks" / "results" / report).is_file(), f"{page}: {report}"


@pytest.mark.parametrize("page, prefix, code", plots(), ids=lambda v: str(v)[:40])
def test_each_plot_draws(page, prefix, code, monkeypatch):
    """The plot's code runs against the reports as they are (the site is built with
    warnings as errors, so a report whose tables changed shape would fail the build)."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.syspath_prepend(str(DOCS))
    try:
        exec(compile(code, f"{page} ({prefix})", "exec"), {})
        figure = plt.gcf()
        assert figure.axes and all(ax.has_data() for ax in figure.axes)
    finally:
        plt.close("all")


def test_the_readme_says_how_to_build_the_site():
    readme = README.read_text()
    assert 'pip install ".[docs]" && sphinx-build docs docs/_build/html' in readme
    assert re.search(r"^docs/_build/$", (ROOT / ".gitignore").read_text(), re.M)


def test_the_code_the_math_page_names_exists():
    """Each kernel, loop and helper that docs/math.md says computes a formula (an inline
    code name such as `_backprop` or `mlpk_times_derivative`) is defined or called in
    src/mlp, and each file it names exists."""
    src = ROOT / "src" / "mlp"
    code = "\n".join(p.read_text() for p in sorted(src.iterdir())
                     if p.suffix in (".pyx", ".pxd", ".h", ".py"))
    spans = set(re.findall(r"`([^`\n]+)`", (DOCS / "math.md").read_text()))
    names = {s.rsplit(".", 1)[-1] for s in spans
             if re.fullmatch(r"(?:MLP\.)?(?:_\w+|mlpk?_\w+)", s)}
    assert {"_forward", "_backprop", "_output_delta", "_step", "mlpk_sig"} <= names
    missing = [n for n in sorted(names) if not re.search(rf"\b{n}\s*[(,]", code)]
    assert not missing, f"docs/math.md names code that src/mlp does not have: {missing}"
    files = {s for s in spans if s.startswith("src/")}
    assert files and all((ROOT / f).is_file() for f in files), files


def table_rows(path, heading):
    """{first cell: the row's cells} of the first table under the ``## heading`` of path."""
    text = path.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1]
    rows = {}
    for line in text.split("\n## ", 1)[0].splitlines():
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows.setdefault(cells[0].split()[0].strip("`\""), cells)
        elif rows:
            break
    return rows


def test_the_activations_page_lists_every_unit_and_its_costs():
    from mlp.activations import COSTS_OF, HIDDEN, OUTPUTS
    page = DOCS / "activations.md"
    hidden = table_rows(page, "Hidden activations")
    assert set(hidden) - {"name"} == set(HIDDEN)
    outputs = table_rows(page, "Outputs and costs")
    assert set(outputs) - {"output"} == set(OUTPUTS)
    for output, costs in COSTS_OF.items():
        named = set(re.findall(r'`"(\w+)"`', outputs[output][2]))
        assert named == set(costs), output
        assert outputs[output][3].replace("-", "_").lower() == costs[0], output
