"""``descent train``, ``evaluate`` and ``predict`` on tables larger than ``--memory``:
read a block at a time, with the results of data read whole where the data fits, and
the same guarantees: errors that name the file and the row before anything is written,
outputs that never replace an input, predictions written atomically."""

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import descent
from descent import cli
from descent.tabular import fit_table, read_table

ROWS = 18_000  # 3.6 MB read whole (IN_MEMORY_BYTES_PER_VALUE): over a budget of 1.5 MB
TRAIN = ["train", "--epochs", "2", "--hidden", "8", "--batch-size", "64", "--no-progress"]


def _frame(rows, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    city = rng.choice(["Oslo", "Rome", "Lima"], rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1] * 10 + 3, "c": x[:, 2], "city": city,
                         "label": np.where(x[:, 0] + (city == "Rome") > 0.5, "yes", "no")})


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = _frame(ROWS)
    frame.to_csv("big.csv", index=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), "big.parquet",
                   row_group_size=2000)
    for index in range(3):
        part = frame.iloc[index * ROWS // 3:(index + 1) * ROWS // 3]
        (tmp_path / "parts").mkdir(exist_ok=True)
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       f"parts/part-{index}.parquet")
    return tmp_path


def _main(*args):
    out = io.StringIO()
    return cli.main(list(args), out=out), out.getvalue()


def _error(capsys, *args):
    code, _ = _main(*args)
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    return error


def test_data_that_fits_is_read_whole_with_the_results_it_always_had(folder):
    code, out = _main(*TRAIN, "big.csv", "--target", "label", "-o", "cli.descent")
    assert code == 0 and "read in blocks" not in out
    model, history = fit_table(read_table("big.csv"), "label", hidden=(8,), epochs=2,
                               batch_size=64, progress=False)
    written = descent.load("cli.descent")
    for ours, theirs in zip(written.parameters(), model.parameters()):
        assert np.array_equal(ours.data, theirs.data)
    assert written.metadata["training"]["final"] == model.metadata["training"]["final"]
    assert "memory_mb" not in written.metadata["training"]


@pytest.mark.parametrize("data", ["big.parquet", "big.csv", "parts", "parts/part-*.parquet"])
def test_a_table_larger_than_the_budget_is_read_in_blocks(folder, data):
    code, out = _main(*TRAIN, data, "--target", "label", "--memory", "1.5", "-o", "s.descent")
    assert code == 0, out
    assert f"{ROWS} rows" in out and "read in blocks within --memory 1.5 MB" in out
    model = descent.load("s.descent")
    training = model.metadata["training"]
    assert training["memory_mb"] == 1.5 and training["rows"] + training["validation_rows"] == ROWS
    assert training["final"]["val_accuracy"] > 0.7
    # the same table read whole by the model's own evaluation: the metrics agree
    whole = descent.tabular.evaluate_table(model, _frame(ROWS))
    code, report = _main("evaluate", "s.descent", "big.parquet", "--memory", "1.5",
                         "--format", "json")
    assert code == 0
    streamed = json.loads(report)
    assert streamed["rows"] == ROWS
    assert streamed["accuracy"] == pytest.approx(whole["accuracy"], abs=1e-12)
    assert streamed["confusion_matrix"] == whole["confusion_matrix"]


def test_predictions_are_written_block_by_block_and_equal_those_of_the_whole(folder):
    assert _main(*TRAIN, "big.parquet", "--target", "label", "-o", "m.descent")[0] == 0
    assert _main("predict", "m.descent", "big.parquet", "-o", "whole.csv", "--proba")[0] == 0
    assert _main("predict", "m.descent", "parts", "--memory", "1.5", "-o", "blocks.csv",
                 "--proba")[0] == 0
    whole, blocks = pd.read_csv("whole.csv"), pd.read_csv("blocks.csv")
    assert list(blocks.columns) == ["p(no)", "p(yes)"] and len(blocks) == ROWS
    np.testing.assert_allclose(blocks.to_numpy(), whole.to_numpy(), rtol=1e-5, atol=1e-7)
    code, text = _main("predict", "m.descent", "big.csv", "--memory", "1.5")
    assert code == 0 and text.count("\n") == ROWS + 1 and text.startswith("label\n")


def test_a_late_bad_value_is_an_error_naming_the_file_and_row_and_nothing_is_written(
        folder, capsys):
    frame = _frame(ROWS)
    frame.loc[15321, "b"] = np.nan
    frame.to_csv("nan.csv", index=False)
    error = _error(capsys, *TRAIN, "nan.csv", "--target", "label", "--memory", "1.5",
                   "-o", "nan.descent")
    assert "column 'b'" in error and "data row 15321 (counting from 0) of nan.csv" in error
    assert not (folder / "nan.descent").exists()
    # an unseen category in the last block: the predictions file is left as it was
    assert _main(*TRAIN, "big.csv", "--target", "label", "-o", "m.descent")[0] == 0
    frame = _frame(ROWS)
    frame.loc[ROWS - 1, "city"] = "Paris"
    frame.to_csv("paris.csv", index=False)
    (folder / "out.csv").write_text("old\n")
    error = _error(capsys, "predict", "m.descent", "paris.csv", "--memory", "1.5",
                   "-o", "out.csv")
    assert "'Paris' was not seen in training" in error and f"data row {ROWS - 1}" in error
    assert (folder / "out.csv").read_text() == "old\n"
    assert not [p for p in folder.iterdir() if p.name.endswith(".descent-tmp")]


def test_files_of_a_glob_that_disagree_are_refused_naming_the_file(folder, capsys):
    frame = _frame(100)
    pq.write_table(pa.Table.from_pandas(frame.drop(columns="c"), preserve_index=False),
                   "parts/part-3.parquet")
    error = _error(capsys, *TRAIN, "parts/part-*.parquet", "--target", "label",
                   "-o", "m.descent")
    assert "part-3.parquet does not have the columns of" in error and "['c']" in error
    error = _error(capsys, *TRAIN, "nothing-*.parquet", "--target", "label")
    assert "no file matches nothing-*.parquet" in error


def test_an_output_among_the_files_of_a_folder_is_refused(folder, capsys):
    error = _error(capsys, *TRAIN, "parts", "--target", "label", "-o",
                   "parts/part-1.parquet")
    assert "would destroy the data file" in error
    assert pq.read_table("parts/part-1.parquet").num_rows == ROWS // 3


def test_options_the_budget_cannot_meet_are_refused_before_training(folder, capsys):
    error = _error(capsys, *TRAIN[:-3], "--batch-size", "0", "--no-progress", "big.csv",
                   "--target", "label", "--memory", "0.3", "-o", "m.descent")
    assert "batch gradient descent (--batch-size 0) needs all" in error
    big = _frame(40_000)
    pq.write_table(pa.Table.from_pandas(big, preserve_index=False), "wide.parquet")
    error = _error(capsys, *TRAIN, "wide.parquet", "--target", "label", "--memory", "2")
    assert "too small to read wide.parquet a block at a time" in error
    assert not (folder / "m.descent").exists()


def test_the_help_names_the_budget(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--memory MB" in capsys.readouterr().out


def test_the_scale_benchmark_runs_and_prints_its_table(tmp_path, capsys):
    from bench import scale

    payload = scale.main(["--rows", "6000", "--factors", "1", "--formats", "csv",
                          "--memory", "0.6", "--epochs", "1", "--json",
                          str(tmp_path / "scale.json")])
    printed = capsys.readouterr().out
    modes = [(run["mode"], run["streamed"]) for run in payload["runs"]]
    assert modes == [("streamed", True), ("whole", False)]
    assert all(run["peak_mib"] > 0 and run["rows_per_s"] > 0 for run in payload["runs"])
    assert "| csv    | 1×   |" in printed and "streamed, --memory 0.6" in printed
