"""Sphinx configuration of descent's documentation site.

Build it with every warning an error (broken references too):
``sphinx-build -W --keep-going -n -b html docs docs/_build/html``.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import descent  # the checkout's, not an installed copy

project = "descent"
author = "the descent authors"
copyright = "descent's authors"
release = version = descent.__version__

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# Markdown pages and notebooks (MyST): $...$ mathematics, and anchors for the headings
# that pages link to (performance.md#what-made-it-fast).
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
# MathJax typesets the MyST mathematics and, in the notebooks, the HTML that descent's
# reports display (their formulas are \( ... \)).
myst_mathjax_classes = "tex2jax_process|mathjax_process|math|output_area|text_html"
# The notebooks are shown with the outputs they are stored with: tests/test_notebooks.py
# runs each one, and checks that its stored outputs are complete, without errors, and
# show the notes' numbers.
nb_execution_mode = "off"

# The API reference: one page per public name (api/*.md lists them), docstrings in the
# numpydoc convention; class pages list their own documented members.
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
numpydoc_show_class_members = False

html_theme = "pydata_sphinx_theme"
html_title = f"descent {release}"
html_static_path = ["_static"]
html_css_files = ["descent.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting-started": [], "design": []}  # pages without subpages


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out the members a class gets from another library (scikit-learn's metadata
    routing methods on the estimators): their docstrings are that library's."""
    module = getattr(obj, "__module__", None)
    if what in ("class", "exception") and module and not module.startswith("descent"):
        return True
    return None


def _remove_old_stubs(app):
    """Start the API pages afresh: a stub left from a name no longer public would be a
    page outside the contents, an error."""
    shutil.rmtree(Path(app.srcdir, "api", "generated"), ignore_errors=True)


def setup(app):
    app.connect("builder-inited", _remove_old_stubs, priority=400)  # before autosummary
    app.connect("autodoc-skip-member", _skip_foreign_members)
