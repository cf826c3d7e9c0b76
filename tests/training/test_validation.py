"""k-fold cross-validation reports per-fold and mean metrics and a best epoch."""

import numpy as np
import pytest

import descent
from descent import nn
from descent.data.datasets import blobs


def test_cross_validate_classification():
    X, y = blobs(120, centers=[[-2, 0], [2, 0], [0, 3]], std=0.5, seed=0)
    result = descent.cross_validate(lambda: nn.MLP([2, 16, 3], rng=0), X, y, k=4, seed=0,
                                    loss="cross_entropy", optimizer="adam", lr=0.05,
                                    epochs=20)
    assert len(result.fold_metrics) == 4 and len(result.histories) == 4
    assert result.mean_metrics["val_accuracy"] > 0.9
    assert result.mean_metrics["val_loss"] == pytest.approx(
        np.mean([m["val_loss"] for m in result.fold_metrics]))
    assert result.best_epoch == int(np.argmin(result.mean_val_loss)) + 1
    assert "4-fold" in str(result)


def test_cross_validate_needs_a_fresh_optimizer_per_fold():
    model = nn.Linear(2, 1)
    with pytest.raises(descent.DescentTypeError, match="by name"):
        descent.cross_validate(lambda: model, np.ones((10, 2)), np.ones(10),
                               optimizer=descent.optim.SGD(model.parameters(), lr=0.1))
