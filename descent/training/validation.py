"""k-fold cross-validation: train a fresh model on k − 1 folds, validate on the last,
k times (seed 004: "cross-validation procedure to determine when to stop training")."""

from dataclasses import dataclass, field

import numpy as np

from descent.autograd.backend import as_rng
from descent.data.preprocessing import KFold, as_features
from descent.errors import DescentTypeError, ShapeError
from descent.optim.optimizers import Optimizer
from descent.training.loop import infer_task, train
from descent import losses as losses_module


@dataclass
class CrossValidation:
    """Per-fold histories and final validation metrics, their means, and the epoch at
    which the mean validation loss over the folds was lowest."""

    histories: list
    fold_metrics: list
    mean_metrics: dict = field(default_factory=dict)
    mean_val_loss: list = field(default_factory=list)
    best_epoch: int = None

    def __str__(self):
        lines = [f"{len(self.histories)}-fold cross-validation"]
        for i, metrics in enumerate(self.fold_metrics, 1):
            shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            lines.append(f"  fold {i}: {shown}")
        lines.append("  mean:   " + ", ".join(f"{k} {v:.4g}"
                                              for k, v in self.mean_metrics.items()))
        lines.append(f"  mean validation loss is lowest after epoch {self.best_epoch}")
        return "\n".join(lines)


def cross_validate(build_model, X, y, *, k=5, seed=None, shuffle=True, **train_options):
    """Run k-fold cross-validation of ``train(build_model(), ...)``.

    Parameters
    ----------
    build_model : callable
        Returns a fresh, untrained model for each fold.
    k : int
        The number of folds (stratified for classification losses).
    **train_options
        Passed to ``train`` (loss, optimizer *by name*, lr, batch_size, epochs, stop…).

    Returns
    -------
    CrossValidation
    """
    if not callable(build_model):
        raise DescentTypeError("build_model must be a function returning a fresh model")
    if isinstance(train_options.get("optimizer"), Optimizer):
        raise DescentTypeError(
            "pass the optimizer by name (e.g. optimizer='adam', lr=0.01) so that every fold "
            "starts with a fresh one"
        )
    X = as_features(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ShapeError(f"X has {len(X)} rows but y has {len(y)}")
    task = infer_task(losses_module.get_loss(train_options.get("loss", "mse")))
    folds = KFold(k, shuffle=shuffle, stratified=task != "regression", seed=seed)
    # one independent shuffling generator per fold, all derived from ``seed``
    fold_seeds = as_rng(seed).spawn(k) if seed is not None else [None] * k
    histories, fold_metrics = [], []
    for fold, (train_index, val_index) in enumerate(folds.split(X, y)):
        history = train(build_model(), X[train_index], y[train_index],
                        validation=(X[val_index], y[val_index]),
                        seed=fold_seeds[fold], **train_options)
        histories.append(history)
        fold_metrics.append({key: value for key, value in history.last.items()
                             if key.startswith("val_")})
    mean_metrics = {key: float(np.mean([m[key] for m in fold_metrics]))
                    for key in fold_metrics[0]}
    shortest = min(len(h) for h in histories)
    mean_curve = np.mean([h["val_loss"][:shortest] for h in histories], axis=0)
    return CrossValidation(histories, fold_metrics, mean_metrics, mean_curve.tolist(),
                           int(np.argmin(mean_curve)) + 1)
