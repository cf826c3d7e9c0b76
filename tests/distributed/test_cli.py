"""`descent train DATA --workers N`: the command line on a local Dask cluster."""

import io

import numpy as np
import pandas as pd

import descent
from descent import cli


def test_train_on_a_local_cluster_writes_a_model_that_predicts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["y"] = np.where(X[:, 0] - X[:, 1] > 0, "up", "down")
    frame.to_parquet("data.parquet")
    out = io.StringIO()
    status = cli.main(["train", "data.parquet", "--target", "y", "--workers", "1",
                       "--epochs", "5", "--no-progress", "-o", "m.descent"], out=out)
    assert status == 0, out.getvalue()
    model = descent.load("m.descent")
    assert model.metadata["target"]["classes"] == ["down", "up"]
    assert model.metadata["training"]["final"]["val_accuracy"] > 0.8
    assert "Model written to m.descent" in out.getvalue()
