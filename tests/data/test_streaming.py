"""Datasets read a block at a time: the statistics of one streaming pass equal those of
the whole table, every training row comes once per epoch, the shuffle follows the seed,
the validation rows are the same every time and never trained on, training equals
training on arrays when every row fits, bad input names the file and the row, and memory
stays within the budget however large the file."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import descent
from descent import nn
from descent.data.encoding import TableEncoder
from descent.data.streaming import (CSVDataset, NpyDataset, ParquetDataset, TableSource,
                                    held_out)
from descent.errors import DescentValueError


def _table(rows, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "big": rng.normal(size=rows) * 1e4 + 3e5,  # a large mean: a naive sum of squares loses digits
        "count": rng.integers(0, 7, rows),
        "city": rng.choice(["Oslo", "Rome", "Lima"], rows),
        "label": rng.choice(["no", "yes"], rows),
    })


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streaming")
    frame = _table(3000)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "t.parquet",
                   row_group_size=700)
    frame.to_csv(folder / "t.csv", index=False)
    return folder, frame


def _dataset(kind, folder, **options):
    options = {"validation": 0.25, "seed": 3, "block_rows": 512, **options}
    if kind == "parquet":
        return ParquetDataset(folder / "t.parquet", target="label", **options)
    return CSVDataset(folder / "t.csv", target="label", **options)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_the_statistics_equal_the_whole_tables_to_float_rounding(files, kind):
    folder, frame = files
    data = _dataset(kind, folder, drop=["id"])
    assert data._block_count > 3  # it did read block by block
    held = held_out(np.arange(len(frame)), 0.25, 3)
    features = ["big", "count", "city"]
    whole = TableEncoder().fit(frame[~held], features, categories_from=frame)
    for streamed, expected in zip(data.encoder.columns, whole.columns):
        assert streamed.keys() == expected.keys()
        for key, value in expected.items():
            if isinstance(value, float):
                assert streamed[key] == pytest.approx(value, rel=1e-13)
            else:
                assert streamed[key] == value
    assert data.classes.tolist() == ["no", "yes"] and data.task == "classification"
    assert (len(data), len(data.validation)) == (int((~held).sum()), int(held.sum()))


def test_a_regression_targets_mean_and_scale_are_the_training_rows(files):
    folder, frame = files
    data = ParquetDataset(folder / "t.parquet", target="big", features=["count", "city"],
                          validation=0.25, seed=3, block_rows=512, standardize_target=True)
    train = frame["big"][~held_out(np.arange(len(frame)), 0.25, 3)]
    assert data.task == "regression"
    assert data.target_mean == pytest.approx(train.mean(), rel=1e-13)
    assert data.target_scale == pytest.approx(train.std(ddof=0), rel=1e-12)


def _ids(batches):
    return np.concatenate([X[:, 0] for X, _ in batches]).astype(np.int64)


@pytest.fixture(scope="module")
def streamed():
    """20,000 rows whose first column is the row's number, a budget of 4 MB: the shuffle
    buffer holds fewer rows than there are."""
    rng = np.random.default_rng(1)
    X = np.column_stack([np.arange(20_000), rng.normal(size=(20_000, 30))])
    data = NpyDataset(X, (X[:, 1] > 0).astype(int), validation=0.2, seed=5, memory=4.1,
                      block_rows=1000)
    assert not data.in_memory and data._block_count == 20
    return data


def test_every_training_row_comes_once_an_epoch_and_no_validation_row(streamed):
    rng = np.random.default_rng(0)
    held = held_out(np.arange(20_000), 0.2, 5)
    for _ in range(2):
        batches = list(streamed.batches(64, True, rng, np.float64))
        ids = _ids(batches)
        assert np.array_equal(np.sort(ids), np.flatnonzero(~held))
        assert all(len(X) == 64 for X, _ in batches[:-1])  # only the last batch is short
    validation = np.concatenate([X[:, 0] for X, _ in streamed.validation.blocks(np.float64)])
    assert np.array_equal(validation, np.flatnonzero(held))


def test_the_shuffle_follows_the_seed(streamed):
    def order(seed, epochs=1):
        rng = np.random.default_rng(seed)
        return [_ids(streamed.batches(100, True, rng)) for _ in range(epochs)]

    first, again, other = order(0, 2), order(0, 2), order(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # each epoch its own order
    in_order = _ids(streamed.batches(100, shuffle=False))
    assert np.all(np.diff(in_order) > 0)
    # shuffled across blocks, not only within one: the first batch mixes several
    assert len(np.unique(first[0][:100] // 1000)) > 2


def test_the_validation_rows_are_the_same_every_time_and_held_out_by_the_seed(files):
    folder, frame = files
    one, two = (_dataset("parquet", folder) for _ in range(2))
    other = _dataset("parquet", folder, seed=4)

    def held_rows(data):
        return np.concatenate([y for _, y in data.validation.blocks()])

    assert np.array_equal(held_rows(one), held_rows(two))
    assert np.array_equal(held_rows(one), held_rows(one))  # epoch after epoch
    assert len(one.validation) == len(two.validation) != len(other.validation)
    fraction = held_out(np.arange(100_000), 0.3, seed=9).mean()
    assert fraction == pytest.approx(0.3, abs=0.01)


def _train(data, y=None, **options):
    model = nn.MLP([data.shape[1] if y is not None else data.n_features, 8, 2],
                   activation="tanh", rng=0)
    history = descent.train(model, data, y, loss="cross_entropy", optimizer="adam",
                            lr=0.01, batch_size=16, epochs=3, seed=2, progress=False,
                            engine="graph", **options)
    return model, history


def test_training_on_a_dataset_that_fits_equals_training_on_the_arrays():
    X, y = descent.datasets.moons(300, noise=0.2, seed=0)
    X_val, y_val = descent.datasets.moons(60, noise=0.2, seed=1)
    data = NpyDataset(X, y, block_rows=70)  # five blocks, read once and kept
    assert data.in_memory and data._block_count == 5
    arrays, history = _train(X, y, validation=(X_val, y_val))
    streamed, streamed_history = _train(data, validation=(X_val, y_val))
    for a, b in zip(arrays.parameters(), streamed.parameters()):
        assert np.array_equal(a.data, b.data)
    for record, other in zip(history.records, streamed_history.records):
        assert {k: v for k, v in record.items() if k != "time"} == \
            {k: v for k, v in other.items() if k != "time"}


def test_training_on_a_stream_learns_and_reports_its_validation():
    X, y = descent.datasets.blobs(150_000, centers=3, seed=0)
    data = NpyDataset(X, y, validation=0.1, memory=4.1, block_rows=2000)
    assert not data.in_memory and data.validation.in_memory
    model = nn.MLP([2, 8, 3], rng=0)
    history = descent.train(model, data, loss="cross_entropy", optimizer="adam", lr=0.01,
                            batch_size=256, epochs=2, seed=0, progress=False)
    assert history.last["val_accuracy"] > 0.9
    assert 0 <= history.last["dead_fraction"] <= 1


def test_options_that_do_not_go_with_a_dataset_are_refused(streamed):
    model = nn.MLP([streamed.n_features, 2], rng=0)
    for options, message in [({"validation": 0.2}, "give the fraction to the dataset"),
                             ({"sample_weight": np.ones(3)}, "sample_weight"),
                             ({"batch_size": None}, "batch gradient descent needs all")]:
        with pytest.raises(descent.DescentError, match=message):
            descent.train(model, streamed, loss="cross_entropy", progress=False,
                          **{"batch_size": 32, **options})
    with pytest.raises(descent.DescentError, match="without y"):
        descent.train(model, streamed, np.zeros(3))


def test_the_disk_cache_gives_the_same_epochs_and_goes_with_the_dataset(tmp_path):
    _table(20_000).to_csv(tmp_path / "t.csv", index=False)
    cached, direct = (CSVDataset(tmp_path / "t.csv", target="label", memory=0.5, cache=cache)
                      for cache in (True, False))
    assert not cached.in_memory and set(cached._caches) == {"training", "validation"}
    folder = cached._caches["training"].path.parent
    first, second = np.random.default_rng(0), np.random.default_rng(0)
    for _ in range(2):  # the first epoch reads the table and fills the cache; then the cache
        for (X, y), (X_read, y_read) in zip(cached.batches(128, True, first),
                                            direct.batches(128, True, second), strict=True):
            assert np.array_equal(X, X_read) and np.array_equal(y, y_read)
        assert cached._caches["training"].done.all()
    for (X, y), (X_read, y_read) in zip(cached.validation.blocks(), direct.validation.blocks()):
        assert np.array_equal(X, X_read) and np.array_equal(y, y_read)
    assert folder.exists()
    del cached
    assert not folder.exists()


def test_a_checkpointed_run_on_a_dataset_resumes_to_the_uninterrupted_result(streamed,
                                                                            tmp_path):
    def run(epochs, checkpoint=None):
        model = nn.MLP([streamed.n_features, 4, 2], rng=0)
        descent.train(model, streamed, loss="cross_entropy", optimizer="adam", lr=0.01,
                      batch_size=512, epochs=epochs, seed=0, progress=False,
                      checkpoint=checkpoint, resume=True, diagnostics=False)
        return [p.data for p in model.parameters()]

    whole = run(3)
    run(2, tmp_path / "run.ckpt")
    resumed = run(3, tmp_path / "run.ckpt")
    assert all(np.array_equal(a, b) for a, b in zip(whole, resumed))


def test_a_nan_in_a_late_block_names_the_file_and_the_row(tmp_path):
    frame = _table(2000)
    frame.loc[1733, "big"] = np.nan
    frame.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(DescentValueError, match=r"column 'big'.*data row 1733 \(counting "
                                                r"from 0\) of .*nan\.csv.*--dropna"):
        CSVDataset(tmp_path / "nan.csv", target="label", block_rows=256)
    data = CSVDataset(tmp_path / "nan.csv", target="label", block_rows=256, dropna=True)
    assert data.rows == 1999
    np.save(tmp_path / "X.npy", np.where(np.arange(3000)[:, None] == 2500, np.inf, 1.0))
    np.save(tmp_path / "y.npy", np.zeros(3000))
    with pytest.raises(DescentValueError, match=r"X .*X\.npy.* at row 2500"):
        NpyDataset(tmp_path / "X.npy", tmp_path / "y.npy", block_rows=256)


def test_the_files_of_a_glob_must_agree(tmp_path):
    frame = _table(300)
    for index in range(3):
        part = frame.iloc[index * 100:(index + 1) * 100]
        if index == 2:
            part = part.drop(columns="city")
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       tmp_path / f"part-{index}.parquet")
    with pytest.raises(DescentValueError, match=r"part-2\.parquet does not have the columns "
                                                r"of .*part-0\.parquet: it lacks \['city'\]"):
        TableSource(tmp_path / "part-*.parquet")
    retyped = frame.iloc[200:].assign(count=frame["count"].iloc[200:].astype(float))
    pq.write_table(pa.Table.from_pandas(retyped, preserve_index=False),
                   tmp_path / "part-2.parquet")
    with pytest.raises(DescentValueError, match=r"column 'count' is double in .*part-2"):
        TableSource(tmp_path)
    pq.write_table(pa.Table.from_pandas(frame.iloc[200:], preserve_index=False),
                   tmp_path / "part-2.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    data = ParquetDataset(tmp_path, target="label", validation=0)  # the folder
    assert data.rows == 300 and len(data.source.parts) == 3
    assert data.source.where(2, 5, 205)(1) == (f"data row 206 of the table (counting from "
                                               f"0), row 6 of {tmp_path / 'part-2.parquet'}")


def test_a_csv_block_boundary_never_splits_a_quoted_line_break(tmp_path):
    frame = pd.DataFrame({"note": ["a\nb", 'say "hi"', "plain"] * 700,
                          "x": np.arange(2100.0), "label": [0, 1, 1] * 700})
    frame.to_csv(tmp_path / "quoted.csv", index=False)
    data = CSVDataset(tmp_path / "quoted.csv", target="label", features=["x", "note"],
                      validation=0, block_rows=1024)
    assert data.rows == 2100 and data._block_count == 3
    assert data.encoder.columns[1]["categories"] == sorted({"a\nb", 'say "hi"', "plain"})


def test_a_budget_too_small_for_the_reader_is_refused(files):
    folder, _ = files
    with pytest.raises(DescentValueError, match="too small to read .*give at least"):
        ParquetDataset(folder / "t.parquet", target="label", memory=0.3)


# Trains on a small file first (the interpreter, the libraries and the code paths a run
# touches are then in memory), then measures the growth of the high-water mark over
# training on the large one.
CHILD = textwrap.dedent("""
    import json, os, sys
    import descent.cli

    def status(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field)) / 1024

    small, arguments = sys.argv[1], sys.argv[2:]
    quiet = open(os.devnull, "w")
    warm = descent.cli.main([*arguments[:1], small, *arguments[2:]], out=quiet)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark starts again from here
    before = status("VmRSS")
    code = descent.cli.main(arguments, out=quiet)
    print(json.dumps({"code": max(code, warm), "before": before, "peak": status("VmHWM")}))
""")


def _peak_growth(small, arguments, cwd):
    result = subprocess.run([sys.executable, "-c", CHILD, small, *arguments], cwd=cwd,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1",
                                 "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return report["peak"] - report["before"]


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
@pytest.mark.parametrize("suffix, budget", [(".csv", 24), (".parquet", 40)])
def test_memory_stays_within_the_budget_on_a_file_many_times_larger(tmp_path, suffix,
                                                                    budget):
    rng = np.random.default_rng(0)
    rows = 250_000
    frame = pd.DataFrame(rng.normal(size=(rows, 10)).astype(np.float32),
                         columns=[f"x{i}" for i in range(10)])
    frame["y"] = frame["x0"] + frame["x1"]
    path, small = tmp_path / f"big{suffix}", tmp_path / f"small{suffix}"
    for table, name in ((frame, path), (frame.iloc[:5000], small)):
        table.to_csv(name, index=False) if suffix == ".csv" else table.to_parquet(name)
    whole = TableSource(path).estimated_memory() / 2 ** 20
    assert whole > 2.5 * budget  # read whole, it would take several budgets
    growth = _peak_growth(str(small), [
        "train", str(path), "--target", "y", "--memory", str(budget), "--epochs", "1",
        "--hidden", "4", "--batch-size", "2048", "--no-progress", "-o", "model.descent"],
        tmp_path)
    assert growth < budget + 8
    assert descent.load(tmp_path / "model.descent").metadata["training"]["memory_mb"] == budget
