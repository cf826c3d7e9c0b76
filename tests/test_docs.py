"""The documentation stays true: every Python example on the site (README.md and
docs/**/*.md) runs, the README's links lead to files that exist, every public name has a
docstring and is documented in the API reference, the site builds with warnings as errors,
and CI runs the README's test command."""

import importlib
import inspect
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import descent

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs"
PAGES = [ROOT / "README.md",
         *sorted(path for path in SITE.rglob("*.md") if "_build" not in path.parts)]
API_PAGES = sorted((SITE / "api").glob("*.md"))


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


BLOCKS = [(str(path.relative_to(ROOT)), i, code)
          for path in PAGES for i, code in enumerate(_python_blocks(path))]


@pytest.mark.parametrize("name, index, code", BLOCKS, ids=[f"{n}-{i}" for n, i, _ in BLOCKS])
def test_documented_example_runs(name, index, code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files
    exec(compile(code, f"{name} example {index}", "exec"), {"__name__": "__docs__"})


# How-to guides whose shell examples need no file of the reader's: each ```json block is
# written to the file the text before it names, each command runs (descent's through
# its CLI, pdflatex where it is installed), and a ```text block after a command is
# what it prints.
SELF_CONTAINED = ["docs/howto/check-homework.md", "docs/howto/exam-sheet.md"]


@pytest.mark.parametrize("page", SELF_CONTAINED)
def test_a_how_to_guides_commands_run_and_print_what_it_shows(page, tmp_path, monkeypatch,
                                                              capsys):
    from descent.cli import main

    monkeypatch.chdir(tmp_path)
    text = (ROOT / page).read_text()
    blocks = list(re.finditer(r"```(json|sh|text)\n(.*?)```", text, flags=re.S))
    assert any(block.group(1) == "sh" for block in blocks)
    printed = ""
    for block in blocks:
        kind, body = block.group(1), textwrap.dedent(block.group(2))
        if kind == "json":
            name = re.findall(r"([\w-]+\.json)", text[:block.start()])[-1]
            Path(name).write_text(body)
        elif kind == "text":
            shown = [line.strip() for line in body.splitlines() if line.strip()]
            assert [line for line in shown if line not in printed] == []
        else:
            printed = ""
            for command in (c.strip() for line in body.splitlines() for c in line.split("&&")):
                words = shlex.split(command)
                if words[0] == "descent":
                    assert main(words[1:]) == 0, command
                    printed += capsys.readouterr().out
                elif words[0] == "pdflatex" and shutil.which("pdflatex"):
                    subprocess.run([*words[:1], "-interaction=nonstopmode", *words[1:]],
                                   check=True, capture_output=True)


def test_quick_start_has_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", quick_start, flags=re.S).group(1).splitlines()
    assert len(commands) == 2
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci_lines


def test_the_readme_links_to_files_that_exist():
    """The README links into the site's sources, so that the links work on GitHub too."""
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    assert links
    assert [link for link in links if not (ROOT / link).exists()] == []


# ------------------------------------------------------------------------ the public API
def _public_modules():
    """Every public module once, with the shortest name it is reached by: ``descent``,
    the faces, ``descent.compiled``, and every module named in a public ``__all__``."""
    found = {}
    queue = [("descent", descent), *((f"descent.{face}", importlib.import_module(
        f"descent.{face}")) for face in descent._FACES),
             ("descent.compiled", importlib.import_module("descent.compiled"))]
    while queue:
        name, module = queue.pop(0)
        if module in found.values():
            continue
        found[name] = module
        queue += [(f"{name}.{attr}", getattr(module, attr)) for attr in module.__all__
                  if isinstance(getattr(module, attr), types.ModuleType)]
    return found


PUBLIC_MODULES = _public_modules()
PUBLIC = [(f"{name}.{attr}", getattr(module, attr)) for name, module in PUBLIC_MODULES.items()
          for attr in module.__all__ if not isinstance(getattr(module, attr), types.ModuleType)]


def _resolve(dotted):
    """The object named ``dotted``, attribute by attribute (``descent.nn.summary`` is the
    function, not the module of that name), importing modules not yet imported."""
    parts = dotted.split(".")
    target = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        try:
            target = getattr(target, part)
        except AttributeError:
            target = importlib.import_module(".".join(parts[:i]))
    return target


def _api_reference():
    """``(documented names, modules shown)`` of the API pages: each autosummary entry and
    ``py:data`` directive, named in full by the current module; each automodule."""
    documented, shown = [], set()
    for page in API_PAGES:
        current, in_summary = None, False
        for line in page.read_text().splitlines():
            module = re.match(r"\.\. (current|auto)module:: (\S+)", line)
            if module:
                current = module.group(2)
                if module.group(1) == "auto":
                    shown.add(current)
            elif line.startswith(".. autosummary::"):
                in_summary = True
            elif in_summary and re.match(r"   [A-Za-z_][\w.]*$", line):
                documented.append(f"{current}.{line.strip()}")
            elif in_summary and not (line.startswith("   :") or not line.strip()):
                in_summary = False
            data = re.match(r"```\{py:data\} (\S+)", line)
            if data:
                documented.append(f"{current}.{data.group(1)}")
    return documented, shown


DOCUMENTED, SHOWN = _api_reference()


def test_every_public_module_is_shown_in_the_api_reference():
    assert {module.__name__ for module in PUBLIC_MODULES.values()} <= SHOWN


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_every_public_name_has_a_docstring_and_is_in_the_api_reference(name, obj):
    if inspect.isclass(obj) or inspect.isroutine(obj):
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"
        assert any(_resolve(entry) is obj for entry in DOCUMENTED), \
            f"{name} is not in the API reference (docs/api/*.md)"
    else:  # a constant: described by a py:data directive under one of its names
        attr = name.rsplit(".", 1)[1]
        assert any(entry.rsplit(".", 1)[1] == attr and _resolve(entry) is obj
                   for entry in DOCUMENTED), f"{name} is not in the API reference"


def test_the_api_reference_documents_public_names_only():
    public = [obj for _, obj in PUBLIC]
    assert [entry for entry in DOCUMENTED
            if not any(_resolve(entry) is obj for obj in public)] == []


CLASSES = sorted({obj for _, obj in PUBLIC if inspect.isclass(obj)}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", CLASSES, ids=[cls.__name__ for cls in CLASSES])
def test_every_public_method_of_a_public_class_has_a_docstring(cls):
    """What a class page lists: its own public methods and properties (a docstring may
    come from the method it overrides); members another library adds are left out."""
    missing = [name for name, member in vars(cls).items() if not name.startswith("_")
               and (inspect.isfunction(member)
                    or isinstance(member, (property, classmethod, staticmethod)))
               and not inspect.getdoc(getattr(cls, name))]
    assert missing == [], f"{cls.__module__}.{cls.__qualname__}: no docstring for {missing}"


# ------------------------------------------------------------------------ the site
def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """The build command of the README (about 15 s): broken cross-references, malformed
    docstrings, pages outside the contents and notebooks that do not render all fail."""
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(SITE), str(tmp_path / "html")],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "html" / "api" / "generated" / "descent.train.html").exists()
