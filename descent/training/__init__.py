"""Training: the loop, stopping criteria, callbacks, history, checkpoints, validation,
metrics and diagnostics."""

from descent.training import callbacks, diagnostics, metrics, stopping
from descent.training.checkpoint import CheckpointError
from descent.training.history import History
from descent.training.loop import train
from descent.training.stopping import TrainingDiverged
from descent.training.validation import cross_validate

__all__ = [
    "CheckpointError", "History", "TrainingDiverged", "callbacks", "cross_validate",
    "diagnostics", "metrics", "stopping", "train",
]
