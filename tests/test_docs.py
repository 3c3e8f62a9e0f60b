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
    """The lines of a Markdown file outside fenced code blocks, with inline code removed."""
    lines, fenced = [], False
    for line in path.read_text().splitlines():
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
