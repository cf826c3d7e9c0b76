"""The example notebooks in docs/notebooks run from top to bottom in a Jupyter kernel, print
the lecture notes' numbers, show their pictures (descent.draw's SVG, matplotlib's PNG
figures), and are stored with their outputs; the progress bar works in a kernel without
ipywidgets."""

import base64
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))

# Numbers each notebook must show, as the notes print them.
EXPECTED = {
    "01-gradient-descent.ipynb": ["13.040000", "-10.960000", "1.8700", "f = -5.1406",
                                  "converged: True, x = 0.375000"],
    "02-computational-graph.ipynb": ["df/dz = 4.0  df/dd = 5.0  df/db = 4.0  df/dc = 4.0",
                                     "gradcheck passed", "after two: 12.0"],
    "03-student-grade.ipynb": ["o4 = 0.332", "o5 = 0.525", "o6 = 0.474", "= -0.261",
                               "total parameters: 11",
                               # build_example(..., round_as_notes=True) works from the
                               # rounded values as the notes do: e6 from o6 = 0.474
                               "= 0.0065", "-0.261", "0.474 = -0.1311", "(-0.0435) = -0.261",
                               "-0.131169",  # ... and digits=6 the engine's e6
                               "Update by adam", "0.2 - 0.1",  # one Adam step: w14 moves by lr
                               "Exercise 1: one step of backpropagation by hand",
                               "Solution to exercise 1"],
    "04-mlp-xor.ipynb": ["XOR: converged False", "d step(z)/dz = [0. 0. 0.]",
                         "final accuracy: 1.0"],
    "05-batch-sizes.ipynb": ["stochastic            1     4500", "mini-batch           16      300",
                             "<polyline",
                             # explain on a batch of three: each example's gradient, the mean
                             "   w46     -0.0435     0.0437    -0.0566   -0.0188",
                             "(the mean over 3 examples)",
                             "w46 after one epoch of batch gradient descent: -0.2831"],
    "06-vanishing-gradients.ipynb": ["sigma'(z) = 0.2500", "after epoch 20: 50%",
                                     "first / last = 6.5e-07", "dead ReLU units"],
}

# Pictures each notebook must show: MIME type -> texts that some picture of that type holds
# (descent.draw's SVG; matplotlib's PNG figures are only checked to be PNG images).
PICTURES = {
    "01-gradient-descent.ipynb": {},
    "02-computational-graph.ipynb": {"image/svg+xml": ["value = 20", "df/df = 1", "df/dz = 4",
                                                       "df/d(0.weight)"]},
    "03-student-grade.ipynb": {"image/svg+xml": ["w46 = -0.3", "o4 = 0.332", "e6 = -0.131"]},
    "04-mlp-xor.ipynb": {"image/svg+xml": ["output (sigmoid)", "binary_cross_entropy"],
                         "image/png": []},
    "05-batch-sizes.ipynb": {"image/png": []},
    "06-vanishing-gradients.ipynb": {"image/png": []},
}


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec that runs this interpreter with this checkout first on its path.

    The spec is written to a fresh folder put first on JUPYTER_PATH, under a name of its
    own, so no ``python3`` spec elsewhere on the machine (another interpreter) is used.
    """
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "descent-tests"
    spec.mkdir(parents=True)
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "descent tests", "language": "python",
        "env": {"PYTHONPATH": python_path}}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(folder))
        yield "descent-tests"


def _execute(nb, kernel_name, tmp_path):
    NotebookClient(nb, kernel_name=kernel_name, timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _outputs(nb, stream=None):
    """The text of every output: streams, and each rich display's text forms."""
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                if stream in (None, output["name"]):
                    texts.append(output["text"])
            elif stream is None:
                texts += [value for mime, value in output.get("data", {}).items()
                          if mime.startswith("text/")]
    return "\n".join(texts)


def _pictures(nb):
    """Every rich output's pictures: {MIME type: [the picture's text (SVG) or bytes (PNG)]}."""
    pictures = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime, value in output.get("data", {}).items():
                if mime.startswith("image/"):
                    value = base64.b64decode(value) if mime == "image/png" else value
                    pictures.setdefault(mime, []).append(value)
    return pictures


def _check_pictures(nb, name):
    pictures = _pictures(nb)
    for mime, texts in PICTURES[name].items():
        assert pictures.get(mime), f"{name} shows no {mime} picture"
        if mime == "image/png":
            assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pictures[mime])
        for text in texts:
            assert any(text in svg for svg in pictures[mime]), \
                f"no {mime} picture in {name} shows {text!r}"


def test_there_is_a_notebook_for_every_lecture_topic():
    assert [path.name for path in NOTEBOOKS] == sorted(EXPECTED) == sorted(PICTURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_and_shows_the_notes_numbers(path, kernel_name, tmp_path):
    nb = _execute(nbformat.read(path, as_version=4), kernel_name, tmp_path)
    assert _outputs(nb, "stderr") == ""  # no warning, no progress bar
    shown = _outputs(nb)
    for text in EXPECTED[path.name]:
        assert text in shown, f"{path.name} does not show {text!r}"
    _check_pictures(nb, path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stored_with_its_outputs(path):
    """The docs site shows the stored outputs: every code cell has run, in order."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    assert all(cell["outputs"] for cell in code)
    assert not any(output["output_type"] == "error" for cell in code
                   for output in cell["outputs"])
    shown = _outputs(nb)
    for text in EXPECTED[path.name]:
        assert text in shown, f"the stored {path.name} does not show {text!r}"
    _check_pictures(nb, path.name)


def test_progress_bar_in_a_kernel_without_ipywidgets(kernel_name, tmp_path):
    """tqdm.auto would warn "IProgress not found" here; descent uses tqdm's text bar."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys\n"
        "sys.modules['ipywidgets'] = None  # as on a machine without it\n"
        "import descent\n"
        "X, y = descent.datasets.truth_table('xor')\n"
        "model = descent.nn.MLP([2, 3, 1], activation='tanh', rng=0)\n"
        "history = descent.train(model, X, y, epochs=3, progress=True)"))
    stderr = _outputs(_execute(nb, kernel_name, tmp_path), "stderr")
    assert "3/3" in stderr and "loss=" in stderr
    assert "Warning" not in stderr and "IProgress" not in stderr
