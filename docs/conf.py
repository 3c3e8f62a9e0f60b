"""Sphinx configuration of mlp's documentation site.

The pages are the Markdown files of this folder (MyST), the API reference is generated from
the numpydoc docstrings, and the performance page's plots are drawn from
``benchmarks/results/`` at build time (``_plots.py``). Build it with::

    pip install ".[docs]" && sphinx-build docs docs/_build/html

CI adds ``-W --keep-going``: every warning is an error. MathJax comes from its CDN; to read
the built math offline, set ``MLP_DOCS_MATHJAX`` to a local copy's ``tex-chtml.js`` (a URL,
or a path relative to the built site) when building.
"""

import os
import re
import sys
import textwrap
from pathlib import Path

from docutils import nodes

import mlp

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))  # _plots, which the plot directive imports

project = "mlp"
author = "the mlp developers"
copyright = "the mlp developers, BSD-3-Clause"
release = version = mlp.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "matplotlib.sphinxext.plot_directive",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# --- the Markdown pages -------------------------------------------------------------------
# $...$ and $$...$$ math (docs/math.md), and LaTeX environments such as align.
myst_enable_extensions = ["dollarmath", "amsmath"]

# --- the API reference --------------------------------------------------------------------
autosummary_generate = True          # docs/generated/, one page per module (gitignored)
autosummary_ignore_module_all = False  # a module's __all__ is its public surface
autodoc_typehints = "none"           # the numpydoc sections give the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# module data shown without its value, which would fill the page (a table of Option objects)
autosummary_context = {"without_value": ["mlp.options.OPTIONS"]}

# --- the performance page's plots (matplotlib's plot directive) ---------------------------
plot_formats = [("png", 110)]
plot_html_show_formats = False
plot_html_show_source_link = False
plot_include_source = False
plot_rcparams = {"figure.figsize": (7.5, 3.6), "font.size": 9}

# --- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mlp {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# the top-level pages without sub-pages need no section navigation
html_sidebars = {page: [] for page in ("index", "getting-started", "math", "building")}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["mlp.css"]
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
if os.environ.get("MLP_DOCS_MATHJAX"):
    mathjax_path = os.environ["MLP_DOCS_MATHJAX"]


# --- scikit-learn's docstrings ------------------------------------------------------------
# mlp.sklearn's estimators carry scikit-learn's own docstrings, which use roles of
# scikit-learn's site (its glossary, its examples, :arxiv:); here they link to that site.
SKLEARN = "https://scikit-learn.org/stable/"
SKLEARN_ROLE = re.compile(r":(term|ref|arxiv):`([^`]*?)(?:\s*<([^`<>]*)>)?`", re.S)


def _sklearn_link(match):
    role, text, target = match.group(1), " ".join(match.group(2).split()), match.group(3)
    target = target or text
    if role == "term":
        url = f"{SKLEARN}glossary.html#term-{target}"
    elif role == "arxiv":
        url = f"https://arxiv.org/abs/{target}"
    elif target.startswith("sphx_glr_auto_examples_neural_networks_"):
        page = target.removeprefix("sphx_glr_auto_examples_neural_networks_")
        page = page.removesuffix(".py")
        url, text = f"{SKLEARN}auto_examples/neural_networks/{page}.html", f"{page}.py"
    else:
        url = f"{SKLEARN}{target}.html"
    return f"`{text} <{url}>`__"


def sklearn_docstrings(app, what, name, obj, options, lines):
    """Before numpydoc reads them: scikit-learn's roles as links to its site, and its
    docstring's own indentation (it follows mlp's unindented lines) removed."""
    if name.startswith("mlp.sklearn."):
        text = "\n".join(lines)
        head, marker, rest = text.partition("scikit-learn's documentation follows.\n\n")
        if marker:
            summary, _, body = rest.partition("\n")  # its first line is not indented
            text = head + marker + summary + "\n" + textwrap.dedent(body)
        lines[:] = SKLEARN_ROLE.sub(_sklearn_link, text).split("\n")


# --- tables -------------------------------------------------------------------------------
def nowrap_short_cells(app, doctree, docname):
    """Mark the table cells that hold one short word, such as 784-512-512-10 or 575,699,
    so that the style sheet keeps them on one line (a narrow column would break them at
    their hyphens)."""
    for entry in doctree.findall(nodes.entry):
        text = entry.astext().strip()
        if text and len(text) <= 16 and " " not in text:
            entry["classes"].append("mlp-nowrap")


def setup(app):
    # before numpydoc's handler, which has the default priority, 500
    app.connect("autodoc-process-docstring", sklearn_docstrings, priority=400)
    app.connect("doctree-resolved", nowrap_short_cells)
