"""descent.distributed.cli_train: a table read, encoded and trained on by the workers, as
`descent train DATA --dask ADDRESS` runs it; its encoding is the streaming dataset's."""

import numpy as np
import pytest

from descent.data.streaming import CSVDataset, ParquetDataset
from descent.errors import DescentValueError
from descent.tabular import predict_table

pandas = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("dask.dataframe")

from descent.distributed import cli_train  # noqa: E402


def table(rows=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    city = rng.choice(["Oslo", "Rome", "Lima"], rows)
    label = np.where(x[:, 0] + (city == "Rome") > 0.3, "yes", "no")
    return pandas.DataFrame({"x1": x[:, 0], "x2": 10 * x[:, 1] + 3, "city": city,
                             "price": 2.0 * x[:, 0] - x[:, 1] + 100, "label": label})


def test_a_parquet_folder_trains_with_the_streaming_encoding(client, tmp_path):
    frame = table()
    folder = tmp_path / "data"
    folder.mkdir()
    for part, rows in enumerate((slice(0, 150), slice(150, 400))):
        frame.iloc[rows].drop(columns="price").to_parquet(folder / f"part-{part}.parquet")
    lines = []

    class Out:
        write = lines.append

    model, history = cli_train(str(folder), "label", address=client.scheduler.address,
                               hidden=(8,), epochs=10, lr=0.01, seed=3, validation=0.25,
                               progress=False, out=Out())
    streamed = ParquetDataset(str(folder), "label", validation=0.25, seed=3)
    assert model.metadata["preprocessing"] == streamed.encoder.to_dict()
    training = model.metadata["training"]
    assert training["validation_rows"] == len(streamed.validation)
    assert training["rows"] == len(streamed)
    assert model.metadata["target"]["classes"] == ["no", "yes"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= history.last.keys()
    assert history.last["val_accuracy"] > 0.8
    assert lines == [f"Training on {folder} (400 rows, 2 partitions) on the Dask cluster at "
                     f"{client.scheduler.address}; target column 'label'\n"]
    predicted = predict_table(model, frame.drop(columns=["price", "label"]))
    assert np.mean(predicted == frame["label"].to_numpy()) > 0.8


def test_a_csv_regression_on_a_local_cluster_reports_errors_in_target_units(tmp_path):
    path = tmp_path / "prices.csv"
    table(rows=300).drop(columns="label").to_csv(path, index=False)
    model, history = cli_train(str(path), "price", workers=1, hidden=(8,), epochs=3, seed=0,
                               lr=0.01, progress=False)
    streamed = CSVDataset(str(path), "price", validation=0.2, seed=0)
    target = model.metadata["target"]
    assert target["task"] == "regression"
    assert target["mean"] == pytest.approx(streamed.target_mean)
    assert target["scale"] == pytest.approx(streamed.target_scale)
    # loss on the standardised target; mse in the target's units (scale²)
    assert history.last["mse"] > history.last["loss"] * target["scale"] ** 2 / 2


def test_a_missing_value_is_named_in_the_whole_table(client, tmp_path):
    frame = table(rows=200)
    frame.loc[130, "x2"] = np.nan
    folder = tmp_path / "data"
    folder.mkdir()
    frame.iloc[:100].to_parquet(folder / "a.parquet")
    frame.iloc[100:].to_parquet(folder / "b.parquet")
    with pytest.raises(DescentValueError, match=r"'x2' .* data row 130 \(counting from 0; "
                                                r"row 30 of partition 1\)"):
        cli_train(str(folder), "label", address=client.scheduler.address, epochs=1,
                  progress=False)


def test_one_way_to_the_cluster(tmp_path):
    with pytest.raises(DescentValueError, match="one of them"):
        cli_train(str(tmp_path), "y", address="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(DescentValueError, match="one of them"):
        cli_train(str(tmp_path), "y")
