"""Data: checks and standardisation of features, label encoding, splits, k-fold, batches,
the encoding of tables, small built-in data sets (``descent.data.datasets``), and
datasets read a block at a time (``descent.data.streaming``: Parquet, CSV, .npy)."""

from descent.data import datasets
from descent.data.streaming import (CSVDataset, Dataset, NpyDataset, ParquetDataset,
                                    TableDataset, held_out)
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
    "CSVDataset", "Dataset", "KFold", "NpyDataset", "ParquetDataset", "Standardizer",
    "TableDataset", "as_features", "batches", "datasets", "encode_labels", "held_out",
    "one_hot", "split_indices", "train_test_split",
]
