"""The packages are layers: an import inside descent only ever goes down (or sideways,
within one package). The order is the "How the code is organised" table of docs/design.md."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "descent"
LAYERS = [
    ("errors", "_version"),
    ("autograd",),
    ("nn",),
    ("losses",),
    ("optim",),
    ("data",),
    ("files",),
    ("compiled",),
    ("training",),
    ("teach",),
    ("tabular", "plot", "sklearn", "interop", "playground", "distributed", "cli"),
]
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}
MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"
                 or path.parent != PACKAGE)


def _part(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    return relative.parts[0]


def _imported_names(path):
    """The dotted names of everything ``path`` imports from descent, anywhere in it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        yield from (name for name in names if name.startswith("descent."))


def _imported_parts(path):
    return {name.split(".")[1] for name in _imported_names(path)}


def _module_name(path):
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)


def test_no_module_imports_itself_through_others():
    """No circle of imports between modules (a package's __init__ only gathers names)."""
    modules = {_module_name(path): path for path in MODULES if path.name != "__init__.py"}

    def targets(name):
        for imported in _imported_names(modules[name]):
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                yield imported

    edges = {name: set(targets(name)) for name in modules}
    done, on_path = set(), []

    def visit(name):
        if name in on_path:
            raise AssertionError("import circle: " + " -> ".join(on_path[on_path.index(name):]
                                                                 + [name]))
        if name in done:
            return
        on_path.append(name)
        for target in sorted(edges[name]):
            visit(target)
        on_path.pop()
        done.add(name)

    for name in sorted(modules):
        visit(name)


def test_every_module_belongs_to_a_layer():
    assert {_part(path) for path in MODULES} == set(LEVEL)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path):
    here = LEVEL[_part(path)]
    upward = sorted({part for part in _imported_parts(path) if LEVEL[part] > here})
    assert not upward, f"{path.relative_to(PACKAGE)} imports the higher layer(s) {upward}"




def test_the_design_page_table_names_every_layer():
    design = (PACKAGE.parent / "docs" / "design.md").read_text(encoding="utf-8")
    section = design.split("## How the code is organised", 1)[1].split("\n## ", 1)[0]
    first_cells = " ".join(re.findall(r"^\| ([^|]+) \|", section, flags=re.M))
    named = set(re.findall(r"`(?:descent/)?(\w+)(?:/|\.py)`", first_cells))
    assert named == set(LEVEL) - {"_version"}
