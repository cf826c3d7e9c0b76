"""One page's playground: its settings, points, network and optimiser, and the worker
thread that trains the network with ``descent.train`` and sends the page what to draw.

The worker owns the network: every command the page sends (play, a new setting, a
click on a weight) waits in a queue and is carried out between two epochs, so that no
handler ever touches an array while training changes it. Training is one call of
``descent.train`` that runs until a stopping criterion fires; a callback after each
epoch sends a frame when one is due, carries out the commands, waits while the page
is paused, and ends the call (by raising ``_Interrupted``) when a setting changed that
``train`` holds fixed (the data, the batch size, the loss, the stopping criteria).
"""

import concurrent.futures
import json
import queue
import secrets
import threading
import time

import numpy as np

from descent.errors import DescentError, DescentValueError
from descent.files.archive import json_safe
from descent.losses.functions import get_loss
from descent.playground import datasets, views
from descent.playground.commands import check
from descent.playground.explanation import (MAX_EXAMPLES, explained, notes_for, spec_of,
                                            step_for)
from descent.playground.export import (architecture_of, copy_weights, model_bytes,
                                       python_script, read_model, stop_code)
from descent.playground.features import feature_matrix
from descent.playground.network import build, layers_of, linear_names, output_for
from descent.playground.settings import (DATA_FIELDS, LOSSES, MAX_EPOCHS, MAX_POINTS,
                                         NETWORK_FIELDS, changed, classes_of, validate)
from descent.playground.training import criteria_for, loss_for, optimizer_for
from descent.nn.activations import Step
from descent.training.callbacks import Callback
from descent.training.loop import Targets, evaluate_model, train
from descent.training.stopping import EarlyStopping, TrainingDiverged

FRAME_RATE = 30  # frames a second at most, while playing
_WAIT = 0.25  # seconds between looks at a closing session while idle
# Settings that take effect without ending the call of descent.train.
_LIVE = ("learning_rate", "speed")


class _Interrupted(Exception):
    """Ends a call of ``descent.train`` from its callback, between two epochs."""


class _Closed(_Interrupted):
    """The page went away."""


class _Control(Callback):
    def __init__(self, session):
        self.session = session

    def on_epoch_end(self, record):
        self.session._after_epoch(record)


class Session:
    """The playground of one page. ``post(kind, text)`` sends the page a JSON message
    (``kind`` is its type, "frame" for the frames that a newer one may replace); it is
    called from the worker thread."""

    def __init__(self, post, frame_rate=FRAME_RATE):
        self.id = secrets.token_urlsafe(12)
        self._post = post
        self._period = 1.0 / frame_rate
        self._commands = queue.Queue()
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"descent-playground-{self.id[:6]}")
        self.settings = validate({})
        self.playing = self._step = False
        self._restart = self._in_training = False
        self.table, self.columns, self.added = None, None, []
        self.epoch = 0
        self._since_frame, self._last_frame = 0, 0.0
        self._record, self._new_records = None, []
        self.stop_reason = None

    # ------------------------------------------------------------ from other threads
    def start(self):
        self._thread.start()

    def submit(self, message):
        """Queue a message from the page (checked here; a bad one raises
        ``DescentValueError``); the returned future holds what the command answers."""
        command = check(message)
        return self._queue(command)

    def request(self, kind, data=None):
        """Queue one of the HTTP requests: ``"upload"`` (CSV bytes), ``"load"`` (model
        file bytes), ``"save"``, ``"spec"``, ``"python"``; the future holds the answer."""
        return self._queue({"type": kind, "data": data})

    def close(self):
        self._commands.put(({"type": "close"}, None))

    def join(self, timeout=None):
        self._thread.join(timeout)

    def _queue(self, command):
        future = concurrent.futures.Future()
        self._commands.put((command, future))
        return future

    # --------------------------------------------------------------------- the worker
    def _work(self):
        try:
            self._send_settings()
            self._rebuild(data=True)
            while True:
                self._wait(lambda: not (self.playing or self._step))
                self._train()
        except _Closed:
            pass
        except Exception as error:  # noqa: BLE001 (the page hears of it; the server stays up)
            self._send("error", message=f"internal error: {type(error).__name__}: {error}")
            raise

    def _wait(self, condition, until=None):
        """Carry out commands while ``condition()`` holds (and, with ``until``, until that
        moment of ``time.perf_counter``)."""
        while condition():
            left = _WAIT if until is None else until - time.perf_counter()
            if left <= 0:
                return
            try:
                command, future = self._commands.get(timeout=min(left, _WAIT))
            except queue.Empty:
                continue
            self._carry_out(command, future)

    def _carry_out_queued(self):
        while True:
            try:
                command, future = self._commands.get_nowait()
            except queue.Empty:
                return
            self._carry_out(command, future)

    def _carry_out(self, command, future):
        if command["type"] == "close":
            raise _Closed
        try:
            result = getattr(self, f"_do_{command['type']}")(command)
        except DescentError as error:
            if future is not None:
                future.set_exception(error)
            self._send_error(error)
        except Exception as error:  # noqa: BLE001 (a bug of ours: the page hears of it)
            if future is not None:
                future.set_exception(error)
            self._send("error", message=f"internal error: {type(error).__name__}: {error}")
        else:
            if future is not None:
                future.set_result(result)
        if self._restart and self._in_training:
            self._restart = False
            raise _Interrupted
        self._restart = False

    def _train(self):
        if not len(self.X_train):
            self.playing = self._step = False
            self._send("notice", message="There are no training points: click on the "
                                         "output to add some.")
            self._frame()
            return
        limit = self.settings["max_epochs"] or MAX_EPOCHS
        if self.epoch >= limit:
            self.playing = self._step = False
            self._send("notice", message=f"The network has trained the maximum of {limit} "
                                         "epochs: raise it, or reset.")
            self._frame()
            return
        try:
            stop = criteria_for(self.settings, len(self.X_test) > 0)
        except DescentError as error:
            self.playing = self._step = False
            self._send_error(error)
            return
        batch = self.settings["batch_size"] or None
        if batch is not None and batch > len(self.X_train):
            batch = None
        has_test = len(self.X_test) > 0
        if any(isinstance(module, Step) for module in self.model):
            self._send("notice", message="No gradient passes through a step unit (its "
                                         "derivative is 0): the layers below it never learn.")
        self._in_training, self._restart, self._run_start = True, False, self.epoch
        try:
            history = train(
                self.model, self.F_train, self.y_train, loss=self.loss,
                optimizer=self.optimizer, batch_size=batch, epochs=limit - self.epoch,
                seed=self._shuffle, stop=stop,
                validation=(self.F_test, self.y_test) if has_test else None,
                callbacks=[_Control(self)], progress=False, task=self.output.task,
                classes=self._class_codes())
        except _Closed:
            raise
        except _Interrupted:
            return
        except TrainingDiverged as error:
            self.stop_reason = str(error)
        except DescentError as error:
            self._send_error(error)
        except Exception as error:  # noqa: BLE001 (a bug, or a warning made an error)
            self._send("error", message=f"internal error: {type(error).__name__}: {error}")
        else:
            self.stop_reason = self._reason(history, stop, limit)
        finally:
            self._in_training = False
        self.playing = self._step = False
        self._record = None  # the weights may be the best epoch's: measure them afresh
        self._frame()

    def _reason(self, history, stop, limit):
        if history.stopped_by == "MaxEpochs":
            return f"reached the maximum of {limit} epochs"
        for criterion in stop:
            if isinstance(criterion, EarlyStopping) and history.stopped_by == "EarlyStopping":
                return (f"the test loss did not improve for {criterion.patience} epochs; "
                        f"the weights of its best epoch, {self._run_start + criterion.best_epoch}"
                        f" (test loss {criterion.best:.4g}), are back")
        return history.stop_reason

    def _after_epoch(self, record):
        """After each epoch of ``descent.train``: count it, send a frame when one is due,
        carry out the page's commands, and wait while paused."""
        self.epoch += 1
        self._record = record
        self._new_records.append(self._summary(record))
        self._since_frame += 1
        if self._step:
            self._step = self.playing = False
        speed = self.settings["speed"]
        due = self._since_frame >= speed if speed else \
            time.perf_counter() - self._last_frame >= self._period
        if self.playing and due:
            self._frame()
            if speed:  # that many epochs a frame, at FRAME_RATE frames a second at most
                self._wait(lambda: self.playing, until=self._last_frame + self._period)
        self._carry_out_queued()
        if not self.playing:
            self._frame()
            self._wait(lambda: not (self.playing or self._step))

    def _summary(self, record):
        return [self.epoch, record["loss"], record.get("val_loss")]

    # ------------------------------------------------------------------------ commands
    def _do_configure(self, command):
        before = self.settings
        after = validate(command["settings"], before)
        if after == before:
            return self._send_settings()
        self.settings = after
        try:
            if changed(before, after, DATA_FIELDS):
                self._rebuild(data=True, keep_added=not changed(
                    before, after, ("dataset", "problem", "classes")))
            elif changed(before, after, NETWORK_FIELDS):
                self._rebuild()
            elif before["optimizer"] != after["optimizer"]:
                self.optimizer = optimizer_for(after, self.model)
            elif before["learning_rate"] != after["learning_rate"]:
                self.optimizer.lr = after["learning_rate"]
            if before["regularization"] != after["regularization"] or \
                    before["regularization_rate"] != after["regularization_rate"]:
                self.loss = loss_for(after, self.model, self.output)
        except DescentError:
            self.settings = before
            self._rebuild(data=True)
            self._send_settings()
            raise
        self._restart = changed(before, after, set(after) - set(_LIVE))
        self._send_settings()
        return None

    def _do_play(self, command):
        self.playing, self.stop_reason = True, None

    def _do_pause(self, command):
        self.playing = self._step = False
        if not self._in_training:  # (in training, the epoch's end sends the frame)
            self._frame()

    def _do_step(self, command):
        self.playing, self._step, self.stop_reason = False, True, None

    def _do_reset(self, command):
        """New initial weights (a new seed, which the page's link records), epoch 0."""
        self.settings = {**self.settings, "init_seed": secrets.randbelow(1 << 30)}
        self.playing = self._step = False
        self._rebuild()
        self._send_settings()

    def _do_add_point(self, command):
        x1_from, x1_to, x2_from, x2_to = self.domain
        if not (x1_from <= command["x"] <= x1_to and x2_from <= command["y"] <= x2_to):
            raise DescentValueError("the point lies outside the picture")
        if len(self.added) >= MAX_POINTS:
            raise DescentValueError(f"at most {MAX_POINTS} points may be added")
        label = command["label"]
        if self.output.task != "regression":
            if label != int(label) or not 0 <= label < self.classes:
                raise DescentValueError(f"the class must be a whole number from 0 to "
                                        f"{self.classes - 1}, got {label:g}")
            label = int(label)
        self.added.append((command["x"], command["y"], label))
        self.X_train = np.vstack([self.X_train, [[command["x"], command["y"]]]])
        self.y_train = np.append(self.y_train, label).astype(self.y_train.dtype)
        self.F_train = feature_matrix(self.X_train, self.settings["features"])
        self._send_data()
        self._record = None
        self._frame()
        self._restart = True

    def _do_set_weight(self, command):
        layer = self._layer(command["layer"])
        if not (command["from"] < layer.in_features and command["to"] < layer.out_features):
            raise DescentValueError(f"layer {command['layer']} has no weight from unit "
                                    f"{command['from']} to unit {command['to']}")
        layer.weight.data[command["from"], command["to"]] = command["value"]
        self._edited()

    def _do_set_bias(self, command):
        layer = self._layer(command["layer"])
        if command["to"] >= layer.out_features or layer.bias is None:
            raise DescentValueError(f"layer {command['layer']} has no unit {command['to']}")
        layer.bias.data[command["to"]] = command["value"]
        self._edited()

    def _layer(self, number):
        layers = layers_of(self.model)
        if not 1 <= number <= len(layers):
            raise DescentValueError(f"the network has layers 1 to {len(layers)} (of weights), "
                                    f"not {number}")
        return layers[number - 1]

    def _edited(self):
        self._record = None
        self._frame()

    def _do_explain(self, command):
        example = command["example"]
        if not len(self.X_train):
            raise DescentValueError("there are no training points to explain a step on")
        if example == "batch":
            size = min(self.settings["batch_size"] or len(self.X_train), MAX_EXAMPLES,
                       len(self.X_train))
            rows = np.arange(size)
            title = f"The update for a batch: training points 0 to {size - 1}"
        else:
            if example >= len(self.X_train):
                raise DescentValueError(f"there are {len(self.X_train)} training points; "
                                        f"point {example} is not one of them")
            rows = np.array([example])
            title = f"The update for training point {example}"
        step = step_for(self.model, self.output, self.settings, self.F_train[rows],
                        self.y_train[rows])
        result = explained(step, notes_for(self.model, self.settings,
                                           self.settings["features"], len(rows)), title)
        self._send("explanation", example=example, rows=rows.tolist(), **result)
        return result

    def _do_columns(self, command):
        if self.table is None:
            raise DescentValueError("upload a CSV file first")
        self._use_table(self.table, {key: command[key] for key in
                                     ("x1", "x2", "label", "standardise")})

    def _do_upload(self, command):
        table = datasets.read_table(command["data"])
        guess = datasets.guess_columns(table)
        self._use_table(table, {**guess, "standardise": True})
        return {"columns": table.names, "numeric": table.numeric(), "rows": len(table.cells[0]),
                "picked": self.columns}

    def _use_table(self, table, columns):
        datasets.table_data(table, columns["x1"], columns["x2"], columns["label"],
                            columns["standardise"])  # fails here, before anything changes
        self.table, self.columns = table, columns
        data = datasets.table_data(table, **columns)
        loss = self.settings["loss"] if self.settings["loss"] in LOSSES[data.problem] \
            else LOSSES[data.problem][0]
        if loss == "binary_cross_entropy" and len(data.classes or ()) != 2:
            loss = "cross_entropy"
        self.settings = validate({"dataset": "csv", "problem": data.problem, "loss": loss,
                                  "error_threshold": 0.0 if data.problem == "regression"
                                  else self.settings["error_threshold"]}, self.settings)
        self._rebuild(data=True)
        self._send_settings()
        self._restart = True

    def _do_save(self, command):
        return model_bytes(self.model, self._metadata())

    def _do_load(self, command):
        model = read_model(command["data"])
        hidden, activations, dropout, final, outputs, inputs = architecture_of(model)
        stored = (model.metadata or {}).get("playground", {})
        features = stored.get("features") if isinstance(stored, dict) else None
        if features is None:
            features = self.settings["features"] if inputs == len(self.settings["features"]) \
                else ["x1", "x2"]
        if len(features) != inputs:
            raise DescentValueError(f"the model takes {inputs} inputs; without the "
                                    "playground's metadata the page can show a model of 2 "
                                    "inputs (x1, x2) or of the chosen features")
        settings = validate({"hidden": hidden, "activations": activations,
                             "dropout": dropout, "features": features}, self.settings)
        problem = settings["problem"]
        fitting = [loss for loss in LOSSES[problem]
                   if _ends(output_for(problem, loss, self.classes)) == (outputs, final)]
        if not fitting:
            wanted = output_for(problem, settings["loss"], self.classes)
            raise DescentValueError(f"the model ends in {outputs} output(s) with {final}; "
                                    f"this data needs {wanted.units} with {wanted.activation}")
        saved = stored.get("loss") if isinstance(stored, dict) else None
        loss = next((name for name in (saved, settings["loss"]) if name in fitting),
                    fitting[0])
        self.settings = validate({"loss": loss}, settings)
        self._rebuild()
        copy_weights(model, self.model)
        self._send_settings()
        self._record = None
        self._frame()
        self._restart = True

    def _do_spec(self, command):
        if not len(self.X_train):
            raise DescentValueError("there are no training points for the spec's example")
        step = step_for(self.model, self.output, self.settings, self.F_train[:1],
                        self.y_train[:1])
        return json.dumps(spec_of(step), indent=2) + "\n"

    def _do_python(self, command):
        epochs = self.epoch or self.settings["max_epochs"] or 500
        return python_script(self.settings, self.model, self.output,
                             (self.X_train, self.y_train, self.X_test, self.y_test),
                             epochs, stop_code(self.settings))

    # ----------------------------------------------------------- data and the network
    def _rebuild(self, data=False, keep_added=False):
        """New points (with ``data``), then a new network of the settings, at epoch 0."""
        if data:
            self._make_data(keep_added)
        s = self.settings
        if s["loss"] == "binary_cross_entropy" and self.classes != 2:
            raise DescentValueError(f"binary_cross_entropy is for two classes; the data has "
                                    f"{self.classes}")
        self.output = output_for(s["problem"], s["loss"], self.classes)
        self.model = build(len(s["features"]), s["hidden"], s["activations"], s["dropout"],
                           self.output, s["init_seed"])
        self.optimizer = optimizer_for(s, self.model)
        self.loss = loss_for(s, self.model, self.output)
        self.F_train = feature_matrix(self.X_train, s["features"])
        self.F_test = feature_matrix(self.X_test, s["features"])
        self._shuffle = np.random.default_rng(s["init_seed"])
        self.epoch, self.stop_reason, self._record, self._new_records = 0, None, None, []
        self._restart = True
        self._send_network()
        self._frame()

    def _make_data(self, keep_added=False):
        s = self.settings
        self.mean, self.scale, self.names = [0.0, 0.0], [1.0, 1.0], ["x1", "x2"]
        if s["dataset"] == "csv":
            if self.table is None:
                raise DescentValueError("the uploaded data is not part of the link: upload "
                                        "the CSV file again")
            table = datasets.table_data(self.table, **self.columns)
            X, y, self.class_names = table.X, table.y, table.classes
            self.mean, self.scale, self.names = table.mean, table.scale, table.names
            self.domain = datasets.domain_of(X)
        else:
            self.domain = datasets.DOMAIN
            self.class_names = None
            if s["dataset"] == "custom":
                X = np.zeros((0, 2))
                y = np.zeros(0, dtype=np.intp if s["problem"] == "classification"
                             else np.float64)
            else:
                X, y = datasets.generate(s["dataset"], s["points"], s["noise"], s["data_seed"],
                                         classes_of(s) or 2)
        classification = s["problem"] == "classification"
        self.classes = (len(self.class_names) if self.class_names else classes_of(s)) \
            if classification else None
        if self.class_names is None and classification:
            self.class_names = [str(k) for k in range(self.classes)]
        train_rows, test_rows = datasets.split(X, y, s["train_ratio"], s["data_seed"],
                                               classification)
        self.added = self.added if keep_added else []
        added = np.array([[x, y_] for x, y_, _ in self.added]).reshape(-1, 2)
        labels = np.array([label for _, _, label in self.added], dtype=y.dtype)
        self.X_train = np.vstack([X[train_rows], added])
        self.y_train = np.concatenate([y[train_rows], labels])
        self.X_test, self.y_test = X[test_rows], y[test_rows]
        everything = np.concatenate([self.y_train, self.y_test])
        self.target_range = (-1.0, 1.0) if classification or not len(everything) else \
            (float(everything.min()), float(everything.max()))
        if self.target_range[0] == self.target_range[1]:
            self.target_range = (self.target_range[0] - 1, self.target_range[1] + 1)
        self._send_data()

    def _class_codes(self):
        return None if self.output.task == "regression" else list(range(self.classes))

    def _metadata(self):
        return {"features": self.settings["features"], "inputs": self.names,
                "input_mean": [float(v) for v in self.mean],
                "input_scale": [float(v) for v in self.scale],
                "problem": self.settings["problem"], "loss": self.settings["loss"],
                "classes": self.class_names, "epoch": self.epoch,
                "settings": self.settings}

    # ---------------------------------------------------------------- to the page
    def _send(self, kind, **fields):
        self._post(kind, json.dumps(json_safe({"type": kind, **fields}), allow_nan=False,
                                    default=_plain))

    def _send_error(self, error):
        self._send("error", message=str(error))

    def _send_settings(self):
        self._send("settings", settings=self.settings)

    def _send_data(self):
        def rows(X, y):
            return [[round(float(a), 5), round(float(b), 5),
                     int(t) if self.settings["problem"] == "classification" else float(t)]
                    for (a, b), t in zip(X, y)]
        self._send("data", train=rows(self.X_train, self.y_train),
                   test=rows(self.X_test, self.y_test), problem=self.settings["problem"],
                   classes=self.class_names, domain=list(self.domain),
                   target_range=list(self.target_range), inputs=self.names,
                   columns=None if self.table is None else {
                       "names": self.table.names, "numeric": self.table.numeric(),
                       "picked": self.columns})

    def _send_network(self):
        s = self.settings
        self._send("network", features=s["features"],
                   sizes=[len(s["features"]), *s["hidden"], self.output.units],
                   activations=[*s["activations"], self.output.activation],
                   dropout=s["dropout"], task=self.output.task)

    def _frame(self):
        """Send what the page draws now: the numbers of the last epoch (or of the weights
        as they are, after an edit or at epoch 0), the maps and the weights."""
        self._last_frame = time.perf_counter()  # frames are paced from start to start
        classification = self.output.task != "regression"
        metrics = self._metrics()
        weights, biases = views.weights(self.model)
        record = self._record or {}
        norms = record.get("grad_norm")
        frame = {
            "epoch": self.epoch, "playing": self.playing, "stop_reason": self.stop_reason,
            "metrics": metrics, "history": self._new_records,
            "gradient_norms": None if not norms else
            [norms.get(f"{name}.weight") for name in linear_names(self.model)],
            "dead_fraction": record.get("dead_fraction"),
            "weights": weights, "biases": biases,
            "output": views.output_map(self.model, self.settings["features"], self.domain,
                                       classification, self.target_range),
            "units": views.unit_maps(self.model, self.settings["features"], self.domain),
            "confusion": None if not classification else views.confusion(
                self.model, *((self.F_test, self.y_test) if len(self.X_test)
                              else (self.F_train, self.y_train)), self.classes),
            "confusion_of": "test" if len(self.X_test) else "training",
        }
        self._new_records, self._since_frame = [], 0
        self._send("frame", **frame)

    def _metrics(self):
        """Training and test loss and accuracy (or R²): the last epoch's, as
        ``descent.train`` recorded them, or — before the first epoch and after an edit —
        ``descent.training.loop.evaluate_model``'s on the weights as they are."""
        regression = self.output.task == "regression"
        score = "r2" if regression else "accuracy"
        if self._record is not None:
            r = self._record
            return {"loss": r["loss"], "test_loss": r.get("val_loss"), "score": score,
                    "train_score": r.get(score), "test_score": r.get(f"val_{score}"),
                    "measured": "epoch"}
        values = {"loss": None, "test_loss": None, "score": score, "train_score": None,
                  "test_score": None, "measured": "now"}
        one_hot = self.output.units if self.output.task == "multiclass" and \
            self.settings["loss"] in ("mse", "sse") else None
        for prefix, F, y in (("", self.F_train, self.y_train), ("test_", self.F_test,
                                                                self.y_test)):
            if not len(F):
                continue
            targets = Targets(y, self.output.task, self._class_codes(),
                              one_hot if isinstance(self.loss, str) else None)
            with np.errstate(over="ignore", invalid="ignore"):
                result = evaluate_model(self.model, F, targets, get_loss(self.loss))
            values[f"{prefix}loss"] = result["loss"]
            values[f"{'train_' if not prefix else prefix}score"] = result.get(score)
        return values


def _ends(output):
    return output.units, output.activation


def _plain(value):
    """NumPy numbers as Python numbers for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON data")
