"""The LaTeX and Beamer a teacher pastes: real mathematics, and documents that compile.

Every rendering is checked in pure Python (balanced braces and environments, only known
commands); where a TeX engine is installed (CI installs Debian's texlive) the standalone
documents are compiled with pdflatex as well."""

import os
import shutil
import subprocess

import pytest

from descent.teach.examples import build_example
from descent.teach.exercise import make_exercise
from descent.teach.explain import network_from_spec, trace_report
from tests.helpers import check_tex

ADAM_BATCH = {"layers": [2, 2, 2], "activations": ["tanh", "softmax"],
              "weights": [[[0.1, -0.2], [0.3, 0.4]], [[0.5, -0.6], [0.7, 0.8]]],
              "biases": [[0.1, 0.0], [0.0, -0.1]], "loss": "cross_entropy",
              "learning_rate": 0.01, "input": [[1, 0.5], [-0.5, 2], [0, 1]],
              "target": [0, 1, 1], "optimizer": {"name": "adam", "betas": [0.9, 0.99]}}


def _reports():
    yield "student-grade", build_example("student-grade", round_as_notes=True)
    yield "ecs171", build_example("ecs171", round_as_notes=True)
    yield "graph", build_example("graph")
    yield "adam-batch", trace_report(network_from_spec(ADAM_BATCH).trace(2), digits=5)
    yield "exercise", make_exercise(3).question_report()


REPORTS = dict(_reports())


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("fmt", ["latex", "beamer"])
@pytest.mark.parametrize("standalone", [False, True])
def test_latex_is_balanced_and_uses_known_commands(name, fmt, standalone):
    check_tex(REPORTS[name].render(fmt, standalone=standalone))


def test_latex_writes_the_notes_symbols_as_mathematics():
    latex = REPORTS["student-grade"].render("latex")
    assert r"$w_{46}$" in latex and r"\frac{\partial E}{\partial z_{j}}" in latex
    assert r"w_{46} \leftarrow w_{46} - \eta \cdot \frac{\partial E}{\partial w_{46}}" in latex
    adam = REPORTS["adam-batch"].render("latex")
    assert r"\hat{m}_{w_{13}}" in adam and r"\sqrt{\hat{v}_{w_{13}}}" in adam


def test_markdown_has_no_negative_zero_and_fences_its_code():
    for report in REPORTS.values():
        assert "-0.0000" not in report.render("markdown")
    graph = REPORTS["graph"].render("markdown")
    assert "```dot\ndigraph" in graph


def _pdflatex(tmp_path, name, source):
    path = tmp_path / f"{name}.tex"
    path.write_text(source, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                             path.name], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert result.returncode == 0, log[-3000:]
    assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
    return log


ENGINE = shutil.which("pdflatex")


@pytest.mark.skipif(not ENGINE and not os.environ.get("CI"),
                    reason="no TeX engine here; CI installs Debian's texlive and compiles")
@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("fmt", ["latex", "beamer"])
def test_standalone_documents_compile(tmp_path, name, fmt):
    log = _pdflatex(tmp_path, f"{name}-{fmt}", REPORTS[name].render(fmt, standalone=True))
    assert "Undefined control sequence" not in log
