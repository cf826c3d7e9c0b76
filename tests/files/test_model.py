"""Model files: save/load round trips, atomic writes, and loading damaged, tampered or
hostile files (always ``ModelFileError``, never pickle, never a huge allocation)."""

import io
import json
import os
import pickle
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import descent
from descent import nn
from descent.files.model import ModelFileError, architecture
from descent.nn.activations import ACTIVATION_MODULES


def _inputs(n_features, dtype="float64", seed=0):
    return np.random.default_rng(seed).normal(size=(16, n_features)).astype(dtype)


def _predict(model, X):
    model.eval()
    with descent.no_grad():
        return model(X).data.copy()


def _assert_same_model(original, loaded, X):
    assert type(loaded) is (nn.Sequential if isinstance(original, nn.Sequential)
                            else type(original))
    assert architecture(loaded) == architecture(original)
    ours = dict(original.named_parameters())
    theirs = dict(loaded.named_parameters())
    assert list(theirs) == list(ours)
    for name, parameter in ours.items():
        assert theirs[name].dtype == parameter.dtype, name
        assert theirs[name].shape == parameter.shape, name
        assert np.array_equal(theirs[name].data, parameter.data), name
        assert theirs[name].requires_grad
    expected = _predict(original, X)
    actual = _predict(loaded, X)
    assert actual.dtype == expected.dtype
    assert np.array_equal(actual, expected)


def _save_and_load(model, tmp_path, name="model.descent", **kwargs):
    path = tmp_path / name
    assert descent.save(model, path, **kwargs) is None
    return descent.load(path), path


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", sorted(ACTIVATION_MODULES))
def test_mlp_round_trip_for_every_activation(tmp_path, activation, dtype):
    model = nn.MLP([5, 7, 6, 3], activation=activation, output=activation, dtype=dtype,
                   rng=1)
    loaded, _ = _save_and_load(model, tmp_path)
    _assert_same_model(model, loaded, _inputs(5, dtype))
    assert [type(layer).__name__ for layer in loaded] == \
        [type(layer).__name__ for layer in model]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sequential_with_parameterised_layers_round_trips(tmp_path, dtype):
    model = nn.Sequential(
        nn.Linear(4, 8, dtype=dtype, rng=0), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(8, 6, bias=False, dtype=dtype, rng=1), nn.ELU(0.5),
        nn.Linear(6, 5, dtype=dtype, rng=2), nn.Tanh(), nn.Dropout(0.1),
        nn.Linear(5, 3, bias=False, dtype=dtype, rng=3), nn.Softmax(axis=1),
    )
    loaded, _ = _save_and_load(model, tmp_path)
    _assert_same_model(model, loaded, _inputs(4, dtype))
    assert loaded[1].negative_slope == 0.2
    assert loaded[2].p == 0.3 and loaded[7].p == 0.1
    assert loaded[3].bias is None and loaded[8].bias is None
    assert loaded[0].bias is not None
    assert loaded[4].alpha == 0.5
    assert loaded[9].axis == 1
    names = [name for name, _ in loaded.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "5.weight", "5.bias", "8.weight"]
    probabilities = _predict(loaded, _inputs(4, dtype))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_with_dropout_round_trips(tmp_path, dtype):
    model = nn.MLP([3, 10, 10, 2], activation=["relu", "sigmoid"], dropout=0.25,
                   dtype=dtype, rng=3)
    loaded, _ = _save_and_load(model, tmp_path)
    _assert_same_model(model, loaded, _inputs(3, dtype))
    assert sum(isinstance(layer, nn.Dropout) for layer in loaded) == 2


def test_single_layer_round_trips_as_that_layer(tmp_path):
    layer = nn.Linear(3, 2, bias=False, dtype="float64", rng=0)
    loaded, _ = _save_and_load(layer, tmp_path)
    assert isinstance(loaded, nn.Linear) and loaded.bias is None
    _assert_same_model(layer, loaded, _inputs(3))


def test_loaded_model_can_be_trained_further(tmp_path):
    X, y = descent.datasets.moons(60, seed=0)
    model = nn.MLP([2, 8, 2], rng=0)
    original = model[0].weight.data.copy()
    loaded, _ = _save_and_load(model, tmp_path)
    descent.train(loaded, X, y, loss="cross_entropy", epochs=2, progress=False, seed=0)
    assert not np.array_equal(original, loaded[0].weight.data)
    assert np.array_equal(original, model[0].weight.data)  # the copies are independent


def test_metadata_round_trips(tmp_path):
    metadata = {"target": {"name": "größe 🌟", "classes": ["a", "b", "c"]},
                "numbers": [0.1 + 0.2, 1e-300, -0.0, 2 ** 62, 3],
                "flags": {"yes": True, "no": False, "nothing": None},
                "nested": {"deep": [[1, 2], {"x": "y"}]}}
    model = nn.MLP([2, 3, 1], rng=0)
    loaded, _ = _save_and_load(model, tmp_path, metadata=metadata)
    assert loaded.metadata == metadata
    assert loaded.metadata["numbers"][0] == 0.1 + 0.2


def test_model_metadata_attribute_is_saved_and_argument_wins(tmp_path):
    model = nn.MLP([2, 3, 1], rng=0)
    model.metadata = {"from": "attribute", "pair": (1, 2), 7: "seven"}
    loaded, _ = _save_and_load(model, tmp_path)
    assert loaded.metadata == {"from": "attribute", "pair": [1, 2], "7": "seven"}
    loaded, _ = _save_and_load(model, tmp_path, "b.descent", metadata={"from": "argument"})
    assert loaded.metadata == {"from": "argument"}


def test_model_without_metadata_loads_with_empty_metadata(tmp_path):
    loaded, _ = _save_and_load(nn.MLP([2, 3, 1], rng=0), tmp_path)
    assert loaded.metadata == {}


@pytest.mark.parametrize("metadata", [{"x": object()}, {"x": np.int64(3)},
                                      {"x": float("nan")}, {"x": float("inf")}])
def test_metadata_that_is_not_json_is_refused_before_writing(tmp_path, metadata):
    with pytest.raises(descent.DescentTypeError, match="metadata"):
        descent.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.descent", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


def test_load_accepts_str_and_path(tmp_path):
    model = nn.MLP([2, 3, 1], rng=0)
    descent.save(model, str(tmp_path / "m.descent"))
    for path in (str(tmp_path / "m.descent"), tmp_path / "m.descent"):
        _assert_same_model(model, descent.load(path), _inputs(2, "float32"))


def test_file_is_a_zip_of_json_and_plain_npy(tmp_path):
    model = nn.MLP([3, 4, 2], rng=0)
    _, path = _save_and_load(model, tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        header = json.loads(archive.read("descent.json"))
        weight = np.load(io.BytesIO(archive.read("params/0.weight.npy")), allow_pickle=False)
    assert names == {"descent.json", "params/0.weight.npy", "params/0.bias.npy",
                     "params/2.weight.npy", "params/2.bias.npy"}
    assert header["format"] == "descent-model" and header["format_version"] == 1
    assert header["descent_version"] == descent.__version__
    assert np.array_equal(weight, model[0].weight.data)


def test_the_same_model_saved_twice_gives_byte_identical_files(tmp_path, monkeypatch):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.LeakyReLU(0.1), nn.Dropout(0.2),
                          nn.Linear(4, 2, rng=1), nn.Softmax())
    metadata = {"classes": ["a", "b"], "z": 1, "a": 2}
    descent.save(model, tmp_path / "first.descent", metadata=metadata)
    later = time.time() + 400 * 86_400  # the clock moved on by 400 days
    monkeypatch.setattr(time, "time", lambda: later)
    descent.save(model, tmp_path / "second.descent", metadata=metadata)
    monkeypatch.undo()
    first = (tmp_path / "first.descent").read_bytes()
    assert (tmp_path / "second.descent").read_bytes() == first
    with zipfile.ZipFile(tmp_path / "first.descent") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "descent.json", "params/0.weight.npy", "params/0.bias.npy", "params/3.weight.npy",
        "params/3.bias.npy"]
    assert {(info.date_time, info.create_system, info.external_attr >> 16,
             info.compress_type) for info in infos} == \
        {((1980, 1, 1, 0, 0, 0), 3, 0o100644, zipfile.ZIP_DEFLATED)}
    loaded = descent.load(tmp_path / "first.descent")
    descent.save(loaded, tmp_path / "again.descent")  # a load and save changes nothing
    assert (tmp_path / "again.descent").read_bytes() == first


@pytest.mark.parametrize("dtype, shape", [("float32", (4096, 4096)),
                                          ("float64", (4096, 2048))])
def test_loading_reads_each_weight_array_in_place(tmp_path, dtype, shape):
    """A 64 MiB weight matrix loads with a peak of about its own size: decompressed
    straight into the layer, not into bytes, then an array, then a copy (3x before)."""
    model = nn.Sequential(nn.Linear(*shape, dtype=dtype, init="zeros"))
    weight = model[0].weight.data
    weight[...] = (np.arange(weight.size) % 251).reshape(shape) - 125.5
    model[0].bias.data[...] = np.arange(shape[1]) / 7
    descent.save(model, tmp_path / "big.descent")
    size = weight.nbytes
    assert size == 64 * 2 ** 20
    tracemalloc.start()
    try:
        loaded = descent.load(tmp_path / "big.descent")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.3 * size, f"load peaked at {peak / size:.2f}x the weights' size"
    assert loaded[0].weight.dtype == dtype
    np.testing.assert_array_equal(loaded[0].weight.data, weight)
    np.testing.assert_array_equal(loaded[0].bias.data, model[0].bias.data)


# ------------------------------------------------------------------ atomic writes
def _existing_model_file(tmp_path):
    path = tmp_path / "model.descent"
    descent.save(nn.MLP([2, 3, 1], rng=0), path, metadata={"version": "old"})
    return path, path.read_bytes()


def test_save_replaces_an_existing_file(tmp_path):
    path, _ = _existing_model_file(tmp_path)
    descent.save(nn.MLP([4, 2], rng=5), path, metadata={"version": "new"})
    assert descent.load(path).metadata == {"version": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["model.descent"]


def test_failing_rename_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    path, before = _existing_model_file(tmp_path)

    def broken_replace(source, target):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        descent.save(nn.MLP([4, 8, 2], rng=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.descent"]
    assert descent.load(path).metadata == {"version": "old"}


def test_failure_midway_through_the_zip_leaves_old_file_and_no_temporaries(
        tmp_path, monkeypatch):
    path, before = _existing_model_file(tmp_path)
    original = zipfile.ZipFile.writestr
    calls = []

    def flaky_writestr(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise OSError("no space left on device")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", flaky_writestr)
    with pytest.raises(OSError, match="no space"):
        descent.save(nn.MLP([4, 8, 2], rng=1), path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.descent"]


def test_interrupt_while_writing_arrays_leaves_no_temporaries(tmp_path, monkeypatch):
    path, before = _existing_model_file(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        descent.save(nn.MLP([4, 8, 2], rng=1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.descent"]


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("nope")))
    with pytest.raises(OSError):
        descent.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.descent")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_raises_before_writing(tmp_path, monkeypatch):
    created = []
    original = os.open
    monkeypatch.setattr(os, "open", lambda path, flags, *args: created.append(path)
                        or original(path, flags, *args))
    with pytest.raises(ModelFileError, match="cannot write the model file .*: folder .* "
                                             "does not exist"):
        descent.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "missing" / "m.descent")
    assert created == []
    assert list(tmp_path.iterdir()) == []


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2, rng=0)

    def forward(self, x):
        return self.layer(x)


@pytest.mark.parametrize("model", [
    _Custom(),
    nn.Sequential(nn.Linear(2, 2, rng=0), _Custom()),
    nn.Sequential(nn.Sequential(nn.Linear(2, 2, rng=0))),
], ids=["custom-module", "custom-inside-sequential", "nested-sequential"])
def test_saving_an_unsupported_module_raises_type_error(tmp_path, model):
    with pytest.raises(descent.DescentTypeError, match="cannot save"):
        descent.save(model, tmp_path / "m.descent")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("thing", [[1, 2], np.zeros((2, 2)), "model", None])
def test_saving_a_non_module_raises_type_error(tmp_path, thing):
    with pytest.raises(descent.DescentTypeError, match="Module"):
        descent.save(thing, tmp_path / "m.descent")
    assert list(tmp_path.iterdir()) == []


def _mixed_dtypes():
    return nn.Sequential(nn.Linear(2, 3, dtype="float32", rng=0), nn.ReLU(),
                         nn.Linear(3, 1, dtype="float64", rng=1))


def _nan_weights():
    model = nn.MLP([2, 3, 1], rng=0)
    model[0].weight.data[0, 0] = np.nan
    return model


def _empty_sequential():
    return nn.Sequential()


def _infinite_leaky_slope():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.LeakyReLU(float("inf")))


def _zero_elu_alpha():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.ELU(0.0))


def _widths_that_do_not_chain():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(4, 1, rng=1))


def _numpy_scalar_settings():
    return nn.Sequential(nn.Linear(2, 3, rng=0), nn.LeakyReLU(np.float32(0.25)),
                         nn.Softmax(axis=np.int64(1)))


@pytest.mark.parametrize("build", [_mixed_dtypes, _nan_weights, _empty_sequential,
                                   _infinite_leaky_slope, _zero_elu_alpha,
                                   _widths_that_do_not_chain, _numpy_scalar_settings],
                         ids=["mixed-dtypes", "nan-weights", "empty-sequential",
                              "infinite-leaky-slope", "zero-elu-alpha", "widths",
                              "numpy-scalar-settings"])
def test_save_never_writes_a_file_that_load_rejects(tmp_path, build):
    """Either save refuses the model (a DescentError, nothing written) or load reads the
    file back; a file that save wrote must never be 'damaged or foreign'."""
    model = build()
    path = tmp_path / "m.descent"
    try:
        descent.save(model, path)
    except descent.DescentError:
        assert list(tmp_path.iterdir()) == []
        return
    loaded = descent.load(path)
    assert architecture(loaded) == architecture(model)
    for (name, ours), (_, theirs) in zip(model.named_parameters(),
                                         loaded.named_parameters()):
        assert theirs.dtype == ours.dtype, name
        np.testing.assert_array_equal(theirs.data, ours.data)


@pytest.mark.parametrize("build, message", [
    (_infinite_leaky_slope, "layer 1 (LeakyReLU) has 'negative_slope' = inf; it must be a "
                            "finite number >= 0"),
    (_zero_elu_alpha, "layer 1 (ELU) has 'alpha' = 0.0; it must be a finite number > 0"),
    (_widths_that_do_not_chain, "layer 2 (Linear) takes 4 inputs but the Linear layer "
                                "before it gives 3"),
], ids=["infinite-leaky-slope", "zero-elu-alpha", "widths"])
def test_save_refuses_settings_that_load_would_refuse(tmp_path, build, message):
    with pytest.raises(descent.DescentValueError) as error:
        descent.save(build(), tmp_path / "m.descent")
    assert str(error.value).startswith(f"cannot save this model: {message}")
    assert list(tmp_path.iterdir()) == []


def test_numpy_scalar_settings_are_saved_as_plain_numbers(tmp_path):
    loaded, _ = _save_and_load(_numpy_scalar_settings(), tmp_path)
    assert type(loaded[1].negative_slope) is float and loaded[1].negative_slope == 0.25
    assert type(loaded[2].axis) is int and loaded[2].axis == 1


@pytest.mark.parametrize("metadata", [[1, 2], "notes", 3])
def test_metadata_that_is_not_a_dictionary_is_refused(tmp_path, metadata):
    with pytest.raises(descent.DescentTypeError, match="metadata must be a dictionary"):
        descent.save(nn.MLP([2, 3, 1], rng=0), tmp_path / "m.descent", metadata=metadata)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ loading bad files
def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array, **kwargs):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, **kwargs)
    return buffer.getvalue()


@pytest.fixture
def model_file(tmp_path):
    model = nn.MLP([3, 4, 2], activation="tanh", rng=0)
    path = tmp_path / "good.descent"
    descent.save(model, path, metadata={"note": "good"})
    return path


def _assert_load_fails(path, match=None):
    with pytest.raises(ModelFileError, match=match) as info:
        descent.load(path)
    assert isinstance(info.value, descent.DescentError)
    assert str(info.value)
    return info.value


def test_model_file_error_is_exported():
    assert descent.ModelFileError is ModelFileError
    assert issubclass(ModelFileError, descent.DescentError)


def test_loading_a_missing_file(tmp_path):
    _assert_load_fails(tmp_path / "nope.descent", "does not exist")


def test_loading_a_folder(tmp_path):
    (tmp_path / "folder.descent").mkdir()
    _assert_load_fails(tmp_path / "folder.descent")


def test_loading_an_empty_file(tmp_path):
    path = tmp_path / "empty.descent"
    path.write_bytes(b"")
    _assert_load_fails(path, "not a descent model file")


@pytest.mark.parametrize("seed", range(5))
def test_loading_random_bytes(tmp_path, seed):
    path = tmp_path / "random.descent"
    path.write_bytes(np.random.default_rng(seed).bytes(2000))
    _assert_load_fails(path)


def test_loading_random_bytes_with_a_zip_signature(tmp_path):
    path = tmp_path / "random.descent"
    path.write_bytes(b"PK\x03\x04" + np.random.default_rng(0).bytes(500) + b"PK\x05\x06"
                     + bytes(18))
    _assert_load_fails(path)


def test_loading_a_text_file(tmp_path):
    path = tmp_path / "notes.descent"
    path.write_text("sepal_length,species\n5.1,setosa\n", encoding="utf-8")
    _assert_load_fails(path, "not a descent model file")


def test_loading_a_zip_without_descent_json(tmp_path):
    path = _write_zip(tmp_path / "other.zip", {"readme.txt": b"hello",
                                               "params/0.weight.npy": _npy(np.zeros(3))})
    _assert_load_fails(path, "descent.json")


def test_loading_a_plain_npz_file(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, weight=np.zeros((3, 4)))
    _assert_load_fails(path, "descent.json")


@pytest.mark.parametrize("header, match", [
    (b"{this is not json", "damaged"),
    (b"\xff\xfe\x00garbage", "damaged"),
    (b"", "damaged"),
    (b"[1, 2, 3]", "not a descent model file"),
    (b'"descent-model"', "not a descent model file"),
    (b'{"format": "keras", "format_version": 1}', "not a descent model file"),
    (b'{"format_version": 1}', "not a descent model file"),
    (b'{"format": "descent-model", "format_version": 2}', "version 2"),
    (b'{"format": "descent-model", "format_version": 999}', "version 999"),
    (b'{"format": "descent-model"}', "version"),
    (b'{"format": "descent-model", "format_version": "1"}', "version"),
], ids=["not-json", "not-utf8", "empty", "json-list", "json-string", "other-format",
        "no-format", "format-version-2", "future-format-version", "no-format-version",
        "string-format-version"])
def test_loading_a_bad_description(model_file, tmp_path, header, match):
    members = _members(model_file)
    members["descent.json"] = header
    _assert_load_fails(_write_zip(tmp_path / "bad.descent", members), match)


def test_loading_an_implausibly_large_description(model_file, tmp_path):
    members = _members(model_file)
    header = json.loads(members["descent.json"])
    header["metadata"] = {"padding": " " * (17 * 1024 * 1024)}
    members["descent.json"] = json.dumps(header).encode()
    _assert_load_fails(_write_zip(tmp_path / "big.descent", members), "large")


def _valid_model_bytes(tmp_path):
    model = nn.Sequential(nn.Linear(6, 10, rng=0), nn.LeakyReLU(0.2), nn.Dropout(0.2),
                          nn.Linear(10, 3, bias=False, rng=1), nn.Softmax())
    path = tmp_path / "valid.descent"
    descent.save(model, path, metadata={"classes": ["a", "b", "c"]})
    return path.read_bytes()


def test_truncated_files_raise_model_file_error(tmp_path):
    data = _valid_model_bytes(tmp_path)
    path = tmp_path / "truncated.descent"
    wrong = []
    for size in range(len(data)):
        path.write_bytes(data[:size])
        try:
            descent.load(path)
        except ModelFileError:
            continue
        except Exception as error:  # noqa: BLE001 - the point is to catch everything
            wrong.append((size, type(error).__name__, str(error)[:80]))
        else:
            wrong.append((size, "loaded", ""))
    assert not wrong, f"{len(wrong)} truncations did not raise ModelFileError: {wrong[:10]}"


def test_byte_flips_raise_model_file_error_or_load(tmp_path):
    """A flipped byte anywhere gives ModelFileError, or (when it hit bytes that do not
    matter, or compressed data that still decodes) a loaded model — never any other
    exception type."""
    data = _valid_model_bytes(tmp_path)
    path = tmp_path / "flipped.descent"
    wrong = {}
    outcomes = {"error": 0, "loaded": 0}
    for offset in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[offset] ^= mask
            path.write_bytes(bytes(damaged))
            try:
                loaded = descent.load(path)
            except ModelFileError:
                outcomes["error"] += 1
                continue
            except Exception as error:  # noqa: BLE001 - the point is to catch everything
                key = f"{type(error).__module__}.{type(error).__name__}"
                wrong.setdefault(key, []).append((offset, hex(mask), str(error)[:60]))
                continue
            outcomes["loaded"] += 1
            assert isinstance(loaded, nn.Module)
            assert isinstance(loaded.metadata, dict)
    summary = {kind: (len(cases), cases[:3]) for kind, cases in wrong.items()}
    assert not wrong, f"byte flips raised other exceptions than ModelFileError: {summary}"
    assert outcomes["error"] > 0


# ------------------------------------------------------------------ tampered contents
def _tampered(model_file, tmp_path, change, members_change=None):
    members = _members(model_file)
    header = json.loads(members["descent.json"])
    change(header)
    members["descent.json"] = json.dumps(header).encode()
    if members_change:
        members_change(members)
    return _write_zip(tmp_path / "tampered.descent", members)


def _set_layer(index, **values):
    return lambda header: header["architecture"][index].update(values)


def _set_declared(name, value):
    return lambda header: header["parameters"].__setitem__(name, value)


TAMPERINGS = {
    "unknown-layer-type": (_set_layer(1, type="Conv2d"), "unknown layer type"),
    "python-class-as-type": (_set_layer(1, type="Module"), "unknown layer type"),
    "sequential-as-type": (_set_layer(1, type="Sequential"), "unknown layer type"),
    "missing-type": (lambda h: h["architecture"][1].pop("type"), "unknown layer type"),
    "list-type": (_set_layer(1, type=["Tanh"]), None),
    "dict-type": (_set_layer(1, type={"name": "Tanh"}), None),
    "huge-in-features": (_set_layer(0, in_features=10 ** 12), None),
    "huge-out-features": (_set_layer(0, out_features=10 ** 12), None),
    "negative-in-features": (_set_layer(0, in_features=-3), None),
    "negative-out-features": (_set_layer(2, out_features=-2), None),
    "zero-features": (_set_layer(0, out_features=0), None),
    "float-features": (_set_layer(0, in_features=3.0), None),
    "string-features": (_set_layer(0, in_features="3"), None),
    "bool-features": (_set_layer(0, in_features=True), None),
    "null-features": (_set_layer(0, in_features=None), None),
    "architecture-shape-mismatch": (_set_layer(0, out_features=5), "shape"),
    "declared-shape-mismatch": (_set_declared("0.weight", [3, 5]), "shape"),
    "declared-shape-transposed": (_set_declared("0.weight", [4, 3]), "shape"),
    "declared-shape-int": (_set_declared("0.weight", 12), None),
    "declared-shape-null": (_set_declared("0.weight", None), None),
    "declared-shape-string": (_set_declared("0.weight", "34"), None),
    "declared-extra-parameter": (_set_declared("9.weight", [1, 1]), None),
    "declared-missing-parameter": (lambda h: h["parameters"].pop("2.bias"), None),
    "parameters-not-a-dict": (lambda h: h.update(parameters=[[3, 4]]), None),
    "architecture-missing": (lambda h: h.pop("architecture"), "architecture"),
    "architecture-empty": (lambda h: h.update(architecture=[]), "architecture"),
    "architecture-not-a-list": (lambda h: h.update(architecture={"0": "Linear"}),
                                "architecture"),
    "layer-not-an-object": (lambda h: h["architecture"].__setitem__(1, "Tanh"), None),
    "too-many-layers": (lambda h: h.update(architecture=[{"type": "Tanh"}] * 10_001),
                        "architecture"),
    "unsupported-dtype": (lambda h: h.update(dtype="float16"), "dtype"),
    "object-dtype": (lambda h: h.update(dtype="object"), "dtype"),
    "dtype-not-a-string": (lambda h: h.update(dtype=["float32"]), "dtype"),
    "non-sequential-with-several-layers": (lambda h: h.update(sequential=False), None),
    "dropout-p-one": (lambda h: h["architecture"].insert(2, {"type": "Dropout", "p": 1}),
                      "'p'"),
    "dropout-p-negative": (lambda h: h["architecture"].insert(2, {"type": "Dropout",
                                                                  "p": -0.5}), "'p'"),
    "dropout-p-string": (lambda h: h["architecture"].insert(2, {"type": "Dropout",
                                                                "p": "0.5"}), "'p'"),
    "leaky-relu-negative-slope": (
        lambda h: h["architecture"].insert(2, {"type": "LeakyReLU", "negative_slope": -1}),
        "negative_slope"),
    "elu-zero-alpha": (lambda h: h["architecture"].insert(2, {"type": "ELU", "alpha": 0}),
                       "alpha"),
    "softmax-absurd-axis": (lambda h: h["architecture"].append({"type": "Softmax",
                                                                "axis": 10 ** 6}), "axis"),
}


def _insert_layer(**description):
    return lambda header: header["architecture"].insert(2, description)


# json.dumps writes float("inf") and float("nan") as the non-standard Infinity and NaN,
# which json.loads reads back; 10 ** 400 is an integer no float can hold
_SETTING_TAMPERINGS = {
    "leaky-relu-infinite-slope": ({"type": "LeakyReLU", "negative_slope": float("inf")},
                                  "'negative_slope' = inf; it must be a finite number"),
    "leaky-relu-nan-slope": ({"type": "LeakyReLU", "negative_slope": float("nan")},
                             "'negative_slope' = nan"),
    "leaky-relu-huge-integer-slope": ({"type": "LeakyReLU", "negative_slope": 10 ** 400},
                                      "'negative_slope' = 1000"),
    "elu-infinite-alpha": ({"type": "ELU", "alpha": float("inf")}, "'alpha' = inf"),
    "elu-nan-alpha": ({"type": "ELU", "alpha": float("nan")}, "'alpha' = nan"),
    "elu-minus-infinite-alpha": ({"type": "ELU", "alpha": -float("inf")}, "'alpha' = -inf"),
    "dropout-p-nan": ({"type": "Dropout", "p": float("nan")}, "'p' = nan"),
    "dropout-p-infinite": ({"type": "Dropout", "p": float("inf")}, "'p' = inf"),
    "dropout-p-true": ({"type": "Dropout", "p": True}, "'p' = True"),
    "dropout-p-list": ({"type": "Dropout", "p": [0.5]}, r"'p' = \[0.5\]"),
    "softmax-axis-float": ({"type": "Softmax", "axis": 1.0}, "'axis' = 1.0; it must be an "
                                                             "integer from -8 to 8"),
    "softmax-axis-true": ({"type": "Softmax", "axis": True}, "'axis' = True"),
    "dropout-without-p": ({"type": "Dropout"}, r"\(Dropout\) has the settings \[\]; a "
                                               r"Dropout has \['p'\]"),
    "tanh-with-a-setting": ({"type": "Tanh", "slope": 2}, r"has the settings \['slope'\]"),
}
for _name, (_description, _match) in _SETTING_TAMPERINGS.items():
    TAMPERINGS[_name] = (_insert_layer(**_description), f"layer 2 .*{_match}")

TAMPERINGS.update({
    "linear-bias-string": (_set_layer(0, bias="no"), "'bias' = 'no'; it must be true or "
                                                     "false"),
    "linear-bias-null": (_set_layer(0, bias=None), "'bias' = None"),
    "linear-without-bias": (lambda h: h["architecture"][0].pop("bias"),
                            r"has the settings \['in_features', 'out_features'\]"),
    "linear-with-an-extra-setting": (_set_layer(0, init="zeros"), "has the settings"),
    "sequential-string": (lambda h: h.update(sequential="yes"), "sequential must be true or "
                                                                "false"),
    "sequential-null": (lambda h: h.update(sequential=None), "sequential"),
    "metadata-list": (lambda h: h.update(metadata=[1, 2]), "the metadata must be a JSON "
                                                           "object"),
    "metadata-missing": (lambda h: h.pop("metadata"), "the header lacks metadata"),
    "dtype-missing": (lambda h: h.pop("dtype"), "the header lacks dtype"),
    "unknown-header-field": (lambda h: h.update(loader="os.system"),
                             r"the header has unknown fields \['loader'\]"),
    "descent-version-number": (lambda h: h.update(descent_version=1), "descent_version"),
    "format-version-true": (lambda h: h.update(format_version=True), "version True"),
    "format-version-float": (lambda h: h.update(format_version=1.0), "version 1.0"),
    "declared-shape-floats": (_set_declared("0.weight", [3.0, 4]), r"shape \[3.0, 4\]"),
    "declared-shape-bools": (_set_declared("2.bias", [True, True]), "shape"),
})


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampered_description_raises_model_file_error(model_file, tmp_path, name):
    change, match = TAMPERINGS[name]
    _assert_load_fails(_tampered(model_file, tmp_path, change), match)


def _replace_member(name, data):
    return lambda members: members.__setitem__(name, data)


def _nochange(header):
    return None


@pytest.mark.parametrize("member, data, match", [
    ("params/0.weight.npy", _npy(np.full((3, 4), np.nan, np.float32)), "NaN"),
    ("params/0.bias.npy", _npy(np.array([0, np.inf, 0, 0], np.float32)), "infinite"),
    ("params/2.weight.npy", _npy(np.full((4, 2), -np.inf, np.float32)), "infinite"),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), np.float64)), "dtype"),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), ">f4")), "dtype"),
    ("params/0.weight.npy", _npy(np.zeros((4, 3), np.float32)), "shape"),
    ("params/0.weight.npy", _npy(np.zeros(12, np.float32)), "shape"),
    ("params/0.weight.npy", _npy(np.asfortranarray(np.ones((3, 4), np.float32))), None),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), np.float32))[:-4], "bytes"),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), np.float32)) + b"\0" * 8, "bytes"),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), np.float32)) + b"\0" * 10_000,
     "larger"),
    ("params/0.weight.npy", b"", None),
    ("params/0.weight.npy", b"not an npy file at all", None),
    ("params/0.weight.npy", b"\x93NUMPY\x09\x00garbage", None),
    ("params/0.weight.npy", _npy(np.zeros((3, 4), np.float32), version=(3, 0)), None),
], ids=["nan-weights", "inf-bias", "minus-inf-weights", "float64-in-float32-model",
        "big-endian", "transposed", "flat", "fortran-order", "too-short", "too-long",
        "far-too-long", "empty-member", "not-npy", "bad-npy-version", "npy-version-3"])
def test_bad_parameter_members_raise_model_file_error(model_file, tmp_path, member, data,
                                                      match):
    path = _tampered(model_file, tmp_path, _nochange, _replace_member(member, data))
    _assert_load_fails(path, match)


def test_linear_widths_that_do_not_chain_are_refused(model_file, tmp_path):
    """Layer 2 rewritten to take 5 inputs, with a matching declared shape and array: every
    part agrees with itself, but layer 0 gives 4 outputs."""
    def change(header):
        header["architecture"][2]["in_features"] = 5
        header["parameters"]["2.weight"] = [5, 2]

    path = _tampered(model_file, tmp_path, change,
                     _replace_member("params/2.weight.npy", _npy(np.ones((5, 2), "float32"))))
    _assert_load_fails(path, "layer 2 \\(Linear\\) takes 5 inputs but the Linear layer "
                             "before it gives 4")


def test_missing_parameter_member(model_file, tmp_path):
    path = _tampered(model_file, tmp_path, _nochange,
                     lambda members: members.pop("params/2.bias.npy"))
    _assert_load_fails(path, "missing")


def test_uncompressed_copy_of_a_model_loads(model_file, tmp_path):
    path = _write_zip(tmp_path / "stored.descent", _members(model_file),
                      compression=zipfile.ZIP_STORED)
    reference = descent.load(model_file)
    _assert_same_model(reference, descent.load(path), _inputs(3, "float32"))


def _npy_header_only(shape, descr):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize("shape, descr", [
    ((10 ** 6, 10 ** 6), "<f4"),
    ((2 ** 40,), "<f4"),
    ((3, 4), "|O"),
    ((10 ** 9, 10 ** 9), "|O"),
    ((3, 4), "<U100000000"),
], ids=["huge-2d", "huge-1d", "object", "huge-object", "huge-unicode"])
def test_npy_header_with_huge_shape_or_object_dtype_is_refused_without_allocating(
        model_file, tmp_path, monkeypatch, shape, descr):
    data = _npy_header_only(shape, descr) + pickle.dumps([1, 2, 3])
    path = _tampered(model_file, tmp_path, _nochange,
                     _replace_member("params/0.weight.npy", data))
    _forbid_pickle(monkeypatch)
    tracemalloc.start()
    try:
        _assert_load_fails(path, "shape|dtype")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_declared_sizes_far_beyond_the_file_are_refused_before_allocating(tmp_path):
    """A few hundred bytes declaring a 5000x5000 float64 layer (25 million parameters,
    under the 2**31 cap) whose data is absent: the file cannot hold the weights, so load
    must refuse it without allocating the 200 MB they would need."""
    header = {"format": "descent-model", "format_version": 1, "descent_version": "0.1.0",
              "architecture": [{"type": "Linear", "in_features": 5000,
                                "out_features": 5000, "bias": True}],
              "sequential": True, "dtype": "float64",
              "parameters": {"0.weight": [5000, 5000], "0.bias": [5000]}, "metadata": {}}
    path = _write_zip(tmp_path / "bomb.descent", {
        "descent.json": json.dumps(header).encode(),
        "params/0.weight.npy": _npy_header_only((5000, 5000), "<f8"),
        "params/0.bias.npy": _npy(np.zeros(5000)),
    })
    assert path.stat().st_size < 2000
    tracemalloc.start()
    try:
        _assert_load_fails(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, f"load allocated {peak / 2 ** 20:.0f} MiB"


# ------------------------------------------------------------------ no pickle, ever
_UNPICKLED = []


def _record(value):
    _UNPICKLED.append(value)
    return value


class _Payload:
    def __reduce__(self):
        return (_record, ("code ran while loading",))


def _forbid_pickle(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used while loading a model file")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(np, "load", refuse)
    format_module = getattr(np.lib, "_format_impl", np.lib.format)
    monkeypatch.setattr(format_module, "read_array", refuse)
    monkeypatch.setattr(np.lib.format, "read_array", refuse)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loading_never_uses_pickle(tmp_path, monkeypatch, dtype):
    model = nn.Sequential(nn.Linear(4, 6, dtype=dtype, rng=0), nn.ELU(0.5), nn.Dropout(0.1),
                          nn.Linear(6, 2, bias=False, dtype=dtype, rng=1), nn.Softmax())
    path = tmp_path / "m.descent"
    descent.save(model, path, metadata={"classes": ["x", "y"]})
    _forbid_pickle(monkeypatch)
    loaded = descent.load(path)
    monkeypatch.undo()
    _assert_same_model(model, loaded, _inputs(4, dtype))
    assert loaded.metadata == {"classes": ["x", "y"]}


def test_pickled_object_array_member_is_rejected_without_unpickling(model_file, tmp_path):
    _UNPICKLED.clear()
    payload = np.empty((3, 4), dtype=object)
    payload[...] = _Payload()
    data = _npy(payload, allow_pickle=True)
    assert b"_record" in data  # the member really is a pickle that would run code
    path = _tampered(model_file, tmp_path, _nochange,
                     _replace_member("params/0.weight.npy", data))
    _assert_load_fails(path, "object")
    assert _UNPICKLED == []


def test_pickled_object_array_member_with_pickle_forbidden(model_file, tmp_path,
                                                           monkeypatch):
    payload = np.array([[_Payload()] * 4] * 3, dtype=object)
    path = _tampered(model_file, tmp_path, _nochange,
                     _replace_member("params/0.weight.npy", _npy(payload,
                                                                 allow_pickle=True)))
    _forbid_pickle(monkeypatch)
    _assert_load_fails(path)


def test_object_dtype_declared_in_description_is_rejected(model_file, tmp_path):
    payload = np.array([[_Payload()] * 4] * 3, dtype=object)

    def change(header):
        header["dtype"] = "object"

    path = _tampered(model_file, tmp_path, change,
                     _replace_member("params/0.weight.npy", _npy(payload,
                                                                 allow_pickle=True)))
    _UNPICKLED.clear()
    _assert_load_fails(path, "dtype")
    assert _UNPICKLED == []


def test_a_failed_load_leaves_the_file_untouched(model_file):
    before = model_file.read_bytes()
    damaged = before[: len(before) // 2]
    model_file.write_bytes(damaged)
    _assert_load_fails(model_file)
    assert model_file.read_bytes() == damaged


def test_tampering_helper_round_trips_unchanged(model_file, tmp_path):
    """The tampering helper itself writes loadable files when nothing is changed."""
    path = _tampered(model_file, tmp_path, _nochange)
    loaded = descent.load(path)
    _assert_same_model(descent.load(model_file), loaded, _inputs(3, "float32"))
    assert loaded.metadata == {"note": "good"}
