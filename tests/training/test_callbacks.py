"""The progress bar: tqdm's text bar in a terminal, and in a Jupyter kernel without
ipywidgets (where ``tqdm.auto`` would warn); tests/test_notebooks.py runs it in a real kernel."""

import io
import sys
import types

import pytest
import tqdm.std

import descent
from descent.training.callbacks import ProgressBar, in_jupyter_kernel, progress_bar_class


def _fake_ipython(monkeypatch, shell):
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", module)


@pytest.fixture
def kernel_without_ipywidgets(monkeypatch):
    _fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))  # as ipykernel's shell
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets fails


def test_outside_jupyter_the_bar_is_tqdm_text_bar():
    assert not in_jupyter_kernel()
    assert progress_bar_class() is tqdm.std.tqdm


def test_plain_ipython_is_not_a_kernel(monkeypatch):
    _fake_ipython(monkeypatch, types.SimpleNamespace())  # a terminal shell has no kernel
    assert not in_jupyter_kernel()
    _fake_ipython(monkeypatch, None)  # IPython imported, no shell running
    assert not in_jupyter_kernel()


def test_in_a_kernel_without_ipywidgets_the_text_bar_is_used(kernel_without_ipywidgets):
    assert in_jupyter_kernel()
    assert progress_bar_class() is tqdm.std.tqdm


def test_progress_bar_shows_epochs_and_losses(kernel_without_ipywidgets):
    X, y = descent.datasets.truth_table("xor")
    model = descent.nn.MLP([2, 3, 1], activation="tanh", rng=0)
    out = io.StringIO()
    history = descent.train(model, X, y, epochs=4, progress=False,
                            callbacks=[ProgressBar(4, file=out)])
    text = out.getvalue()
    assert "4/4" in text
    assert f"loss={history.last['loss']:.4g}" in text
