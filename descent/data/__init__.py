"""Data: checks and standardisation of features, label encoding, splits, k-fold, batches,
the encoding of tables, and small built-in data sets (``descent.data.datasets``)."""

from descent.data import datasets
from descent.data.preprocessing import (
    KFold,
    Standardizer,
    as_features,
    batches,
    encode_labels,
    one_hot,
    split_indices,
    train_test_split,
)

__all__ = [
    "KFold", "Standardizer", "as_features", "batches", "datasets", "encode_labels",
    "one_hot", "split_indices", "train_test_split",
]
