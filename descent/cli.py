"""The ``descent`` command line: a thin face over the library (no maths here).

Every error descent raises becomes one line on stderr and exit status 2; nothing is
written when a command fails.
"""

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path


from descent.teach import demo, exercise
from descent.teach.derive import NOTES_ROUNDING
from descent._version import __version__
from descent.files.archive import check_output_path, write_atomically
from descent.data.streaming import DEFAULT_MEMORY_MB
from descent.errors import DescentError
from descent.teach.examples import EXAMPLES, build_example
from descent.teach.explain import load_spec, trace_report
from descent.training.history import History
from descent.files.model import load, save
from descent.nn.summary import summary
from descent.optim.optimizers import OPTIMIZERS
from descent.teach.report import RENDERERS, STANDALONE_FORMATS, Report, Table
from descent.autograd.functional import ACTIVATIONS
from descent.losses.functions import LOSSES

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line and a pointer to ``--help`` (argparse's
    own prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help' for more.\n")


def _short(text, limit=40):
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _hidden(text):
    parts = text.split(",")
    if not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive integers separated "
                                         f"by commas, like 64,32; got {text!r}")
    sizes = tuple(int(part) for part in parts)
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be at least 1, got {text!r}")
    return sizes


def _names(text):
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"give column names separated by commas, like "
                                         f"a,b; got {text!r}")
    return names


def _integer(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {_short(text)}") \
                from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


def _number(low, high=math.inf, low_open=True, high_open=True):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {_short(text)}") from None
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if not math.isfinite(value) or below or above:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"must be a finite number in {bounds}, got "
                                             f"{text!r}")
        return value
    return parse


def build_parser():
    parser = _Parser(
        prog="descent",
        description="Train neural networks with gradient descent and backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"descent {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an internal error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a 2-4-1 network on XOR and show it learn")

    train = commands.add_parser(
        "train", help="train a network on a CSV, TSV or Parquet file",
        description="Train an MLP on a table. Numeric columns are standardised and other "
                    "columns one-hot encoded; both are stored in the model file. Without "
                    "DATA, trains on scikit-learn's handwritten digits.")
    train.add_argument("data", nargs="?", metavar="DATA",
                       help="CSV, TSV or Parquet file, a folder of them, or a glob in quotes "
                            "('data/*.parquet')")
    train.add_argument("--target", help="the column to predict (default: the last one)")
    train.add_argument("--features", type=_names, metavar="COLS",
                       help="the feature columns, e.g. a,b,c (default: all but the target)")
    train.add_argument("--drop", type=_names, default=(), metavar="COLS",
                       help="columns not to train on, e.g. id,date")
    train.add_argument("--task", choices=["auto", "classification", "regression"],
                       default="auto")
    train.add_argument("--hidden", type=_hidden, default=(64,), metavar="SIZES",
                       help="hidden layer sizes, e.g. 64,32 (default 64)")
    train.add_argument("--activation", choices=sorted(set(ACTIVATIONS) - {"softmax"}),
                       default="relu")
    train.add_argument("--loss", choices=sorted(set(LOSSES) - {"poisson"}),
                       help="default: cross_entropy for "
                       "classification, mse for regression")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    train.add_argument("--lr", type=_number(0), help="learning rate (default: the "
                       "optimiser's)")
    train.add_argument("--batch-size", type=_integer(0), default=None,
                       help="examples per update (default 32; all of them for lbfgs); 0 "
                            "for batch gradient descent")
    train.add_argument("--epochs", type=_integer(1), default=100)
    train.add_argument("--validation", type=_number(0, 1, low_open=False), default=0.2,
                       help="held-out fraction (0 for none)")
    train.add_argument("--early-stopping", type=_integer(1), metavar="PATIENCE",
                       help="stop when validation loss has not improved for PATIENCE epochs")
    train.add_argument("--seed", type=_integer(0), default=0)
    train.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    train.add_argument("-o", "--output", default="model.descent",
                       help="model file to write ('-' for standard output)")
    train.add_argument("--plot", metavar="IMAGE", help="write the loss curves here (.png, "
                       ".svg, .pdf, ...)")
    train.add_argument("--history", metavar="FILE", help="write the history (.csv or .json)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--checkpoint", metavar="FILE",
                       help="save the run's full state here every --checkpoint-every epochs")
    train.add_argument("--checkpoint-every", type=_integer(1), default=1, metavar="N")
    train.add_argument("--memory", type=_number(0), default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory budget for the data (default {DEFAULT_MEMORY_MB} MB): "
                            "data that fits is read whole, as always; a larger table is "
                            "read a block at a time within the budget, its statistics "
                            "from one streaming pass, blocks and rows shuffled in a buffer, "
                            "validation rows held out by a hash of their position")
    train.add_argument("--resume", action="store_true",
                       help="continue from --checkpoint if it exists (same data and options)")
    cluster = train.add_mutually_exclusive_group()
    cluster.add_argument("--dask", metavar="ADDRESS",
                         help="train on the Dask cluster whose scheduler is at ADDRESS "
                              "(tcp://host:8786); its workers read DATA")
    cluster.add_argument("--workers", type=_integer(1), metavar="N",
                         help="train on a local Dask cluster of N worker processes")
    train.add_argument("--sync-every", type=_integer(1), metavar="H",
                       help="with --dask or --workers: local SGD, averaging the workers' "
                            "weights every H steps (default: one synchronous step a batch)")

    evaluate = commands.add_parser("evaluate", help="metrics of a model on labelled data")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.add_argument("--format", choices=sorted(RENDERERS), default="text")
    evaluate.add_argument("--memory", type=_number(0), default=DEFAULT_MEMORY_MB, metavar="MB",
                          help=f"memory budget for the data (default {DEFAULT_MEMORY_MB} MB); "
                               "a larger table is read a block at a time")

    predict = commands.add_parser("predict", help="predict every row of a data file")
    predict.add_argument("model")
    predict.add_argument("data")
    predict.add_argument("-o", "--output", help="CSV file to write (default, or '-': "
                         "standard output)")
    predict.add_argument("--proba", action="store_true", help="class probabilities")
    predict.add_argument("--memory", type=_number(0), default=DEFAULT_MEMORY_MB, metavar="MB",
                         help=f"memory budget for the data (default {DEFAULT_MEMORY_MB} MB); "
                              "a larger table is read a block at a time, each block's "
                              "predictions written as they are made")

    info = commands.add_parser("info", help="architecture, preprocessing and training summary")
    info.add_argument("model")

    plot = commands.add_parser("plot", help="plot a training history or decision regions")
    plot.add_argument("source", metavar="HISTORY|MODEL",
                      help="a history file (.csv/.json), or a model with --boundary DATA")
    plot.add_argument("-o", "--output", required=True, help="image file to write (.png, "
                      ".svg, .pdf, ...; '-' for PNG on standard output)")
    plot.add_argument("--kind", choices=["loss", "gradients"], default="loss")
    plot.add_argument("--boundary", metavar="DATA", help="plot the model's decision regions "
                      "over this data, in its two feature columns' units, with each point "
                      "coloured by its true class (DATA needs the target column)")

    explain_parser = commands.add_parser(
        "explain", help="write out one step of backpropagation, number by number",
        description="Show the forward pass, error terms, gradients and updated weights of a "
                    "small network, as the lecture notes do, or one of the notes' examples.")
    source = explain_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", metavar="NAME", help="a built-in example (see --list)")
    source.add_argument("--spec", metavar="FILE.json", help="a network described in JSON")
    source.add_argument("--list", action="store_true", help="list the built-in examples")
    explain_parser.add_argument("--steps", type=_integer(1), default=1,
                                help="training steps (1)")
    explain_parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    explain_parser.add_argument("--digits", type=_integer(2), default=4,
                                help="decimals shown, 2 to 15 (4; trailing zeros dropped)")
    explain_parser.add_argument("--round-as-notes", action="store_true",
                                help="round as the notes do as they go (z and o to 3 "
                                     "decimals, error terms and gradients to 4, ...), each "
                                     "value from the rounded ones before it, so that the "
                                     "digits match the slides")
    explain_parser.add_argument("--standalone", action="store_true",
                                help="LaTeX, Beamer or HTML as a whole document")
    explain_parser.add_argument("--beamer", action="store_true",
                                help="Beamer frames (the same as --format beamer)")

    exercise_parser = commands.add_parser(
        "exercise", help="a backpropagation exercise with fresh numbers, to do by hand",
        description="Write a question sheet: a small network with numbers that can be worked "
                    "by hand, one example, and what to compute (net inputs, activations, the "
                    "error, error terms, gradients, new weights). The same seed gives the "
                    "same sheet on any machine.")
    exercise_parser.add_argument("--seed", type=_integer(0), required=True,
                                 help="which exercise: a whole number >= 0")
    exercise_parser.add_argument(
        "--layers", default="3,2,1", metavar="SIZES",
        help=f"unit counts from the inputs to the outputs (default 3,2,1); at most "
             f"{exercise.MAX_LAYERS} layers of {exercise.MAX_UNITS} units")
    exercise_parser.add_argument(
        "--activation", default="sigmoid", metavar="NAME",
        help=f"the hidden units' activation: {', '.join(exercise.ACTIVATION_NAMES)} "
             "(default sigmoid)")
    exercise_parser.add_argument(
        "--loss", default="sse", metavar="NAME",
        help=f"{', '.join(exercise.LOSS_NAMES)} (default sse)")
    exercise_parser.add_argument("--steps", type=_integer(1), default=1,
                                 help=f"steps to compute, 1 to {exercise.MAX_STEPS} "
                                      "(default 1)")
    exercise_parser.add_argument("--format", choices=exercise.SHEET_FORMATS,
                                 help="of the sheet (default text)")
    shown = exercise_parser.add_mutually_exclusive_group()
    shown.add_argument("--solutions", action="store_true",
                       help="add the worked solution after the questions")
    shown.add_argument("--spec", action="store_true",
                       help="write instead the network as JSON, for 'descent explain --spec "
                            "FILE --steps N'")
    exercise_parser.add_argument("--standalone", action="store_true",
                                 help="with --format latex: a whole document (pdflatex)")
    exercise_parser.add_argument("-o", "--output", help="file to write (default, or '-': "
                                 "standard output)")
    export = commands.add_parser(
        "export", help="write a model as an ONNX file, to serve with ONNX Runtime",
        description="Write MODEL as an ONNX graph. A model trained on a table takes its raw "
                    "columns (one input each) and gives label and probabilities, or the "
                    "prediction, as 'descent predict' does. Needs pip install "
                    "'descent[onnx]'.")
    export.add_argument("model")
    export.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    playground = commands.add_parser(
        "playground", help="a page in the browser where a network learns, step by step",
        description="Start the playground's local server, print its URL and open it in the "
                    "browser: build a small network, watch it learn, and see the numbers "
                    "behind any update. Needs pip install 'descent[playground]'.")
    playground.add_argument("--port", type=_integer(0), default=0,
                            help="the port to listen on (default 0: a free one)")
    playground.add_argument("--host", default="127.0.0.1",
                            help="the address to listen on (default 127.0.0.1: this machine "
                                 "only)")
    playground.add_argument("--no-browser", action="store_true",
                            help="print the URL without opening a browser")
    for command in commands.choices.values():  # --debug after the command name too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the Python traceback of an internal error")
    return parser


# ---------------------------------------------------------------------------- helpers
STDOUT = "-"


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def _check_paths(inputs, outputs):
    """Refuse, before any work, an output that cannot be written or that would replace
    an input or another output. ``inputs`` and ``outputs`` are ``(what, path)`` pairs;
    a path of None is not used, ``-`` is standard output."""
    inputs = [(what, path) for what, path in inputs if path not in (None, STDOUT)]
    outputs = [(what, path) for what, path in outputs if path not in (None, STDOUT)]
    for index, (what, path) in enumerate(outputs):
        check_output_path(path, what)
        for other, other_path in inputs:
            if _same_file(path, other_path):
                raise DescentError(f"the {what} {path} is the {other} {other_path}: writing "
                                   f"it would destroy the {other}; choose another file name")
        for other, other_path in outputs[:index]:
            if _same_file(path, other_path):
                raise DescentError(f"the {what} and the {other} are both {path}; give them "
                                   "different file names")


def _write_atomically(path, text):
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


def _write_output(path, write, out, suffix=""):
    """``write(path)`` to ``path``, or, for ``-``, to a temporary file whose bytes then
    go to standard output."""
    if path != STDOUT:
        return write(path)
    stream = getattr(out, "buffer", None)
    if stream is None:
        raise DescentError("-o - needs a binary standard output")
    with tempfile.TemporaryDirectory() as folder:
        temporary = Path(folder) / f"output{suffix}"
        write(temporary)
        with open(temporary, "rb") as handle:
            out.flush()
            shutil.copyfileobj(handle, stream)
            stream.flush()
    return path


def _builtin_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DescentError("the built-in data set needs scikit-learn: pip install "
                           "'descent[cli]', or give a data file") from None
    import pandas

    digits = load_digits()
    frame = pandas.DataFrame(digits.data, columns=[f"pixel_{i}" for i in range(64)])
    frame["digit"] = digits.target
    return frame, "digit", "scikit-learn's handwritten digits (1,797 images of 8x8 pixels)"


def _metrics_table(record, regression):
    names = [m for m in ("loss", "accuracy", "error_rate", "mse", "mae", "r2")
             if record.get(m) is not None]
    rows = [[("loss (standardised target)" if regression and name == "loss" else name),
             f"{record[name]:.4f}",
             "" if record.get(f"val_{name}") is None else f"{record[f'val_{name}']:.4f}"]
            for name in names]
    return Table(["metric", "training (epoch mean)", "validation"], rows)


# ---------------------------------------------------------------------------- commands
def _check_train_options(args):
    if args.resume and not args.checkpoint:
        raise DescentError("--resume needs --checkpoint FILE")
    if (args.dask or args.workers) and args.data is None:
        raise DescentError("--dask and --workers train on a data file: give DATA")
    if args.sync_every and not (args.dask or args.workers):
        raise DescentError("--sync-every is for training on a cluster (--dask or --workers)")
    if args.early_stopping is not None and not args.validation:
        raise DescentError("--early-stopping watches the validation loss: it needs "
                           "--validation above 0 (e.g. 0.2)")
    if args.features is not None and args.drop:
        raise DescentError("give either --features or --drop, not both")
    if args.history and Path(args.history).suffix not in (".csv", ".json"):
        raise DescentError("--history must end in .csv or .json")
    if args.plot:
        from descent.plot import check_image_path

        check_image_path(args.plot)
    if args.plot == STDOUT or args.history == STDOUT or args.checkpoint == STDOUT:
        raise DescentError("only -o can be '-' (standard output)")
    _check_paths([("data file", args.data)],
                 [("model file", args.output), ("history file", args.history),
                  ("checkpoint", args.checkpoint), ("plot", args.plot)])


def _described(path, table, memory):
    """``path`` and the size of the table read from it, for the report and the model."""
    if hasattr(table, "parts"):  # a TableSource: read a block at a time
        return f"{table.describe()}, read in blocks within --memory {memory:g} MB"
    return f"{path} ({len(table)} rows, {table.shape[1]} columns)"


def _check_parts(path, outputs):
    """Refuse an output that is one of the files of a table in several (a folder or a
    glob), as ``_check_paths`` refuses one that is the data file."""
    from descent.data.streaming import data_files

    parts = data_files(path)
    if len(parts) > 1:
        _check_paths([("data file", str(part)) for part in parts], outputs)


def run_train(args, out):
    from descent.tabular import fit_table, load_table

    _check_train_options(args)
    report_out = sys.stderr if args.output == STDOUT else out
    options = dict(task=args.task, features=args.features, drop=args.drop,
                   hidden=args.hidden, activation=args.activation,
                   loss=args.loss, optimizer=args.optimizer, lr=args.lr,
                   batch_size=args.batch_size, epochs=args.epochs,
                   validation=args.validation or None, early_stopping=args.early_stopping,
                   seed=args.seed, dropna=args.dropna,
                   progress=False if args.no_progress else None,
                   checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                   resume=args.resume)
    if args.data is not None:
        _check_parts(args.data, [("model file", args.output), ("history file", args.history),
                                 ("checkpoint", args.checkpoint), ("plot", args.plot)])
    if args.dask or args.workers:
        from descent.distributed import cli_train

        # it reports what it trains on and records the data in the model itself
        model, history = cli_train(args.data, args.target, address=args.dask,
                                   workers=args.workers, sync_every=args.sync_every,
                                   out=report_out, **options)
    else:
        if args.data is None:
            frame, target, description = _builtin_digits()
            target = args.target or target
        else:
            frame = load_table(args.data, memory=args.memory)
            target = args.target or str(frame.columns[-1])
            description = _described(args.data, frame, args.memory)
        report_out.write(f"Training on {description}; target column {target!r}\n")
        model, history = fit_table(frame, target, memory=args.memory, **options)
        model.metadata["training"]["data"] = description
    _write_output(args.output, lambda path: save(model, path), out, ".descent")
    if args.history:
        text = history.to_json() if args.history.endswith(".json") else history.to_csv()
        _write_atomically(args.history, text)
    if args.plot:
        from descent.plot import plot_history

        plot_history(history, args.plot)
    saved = model.metadata["training"]
    title = f"Trained {len(history)} epochs: {history.stop_reason}"
    report = Report(title)
    if saved["saved_epoch"] != saved["epochs"]:
        report.add(f"The model written is epoch {saved['saved_epoch']}'s, the best by the "
                   "validation loss; its metrics:")
    regression = model.metadata["target"]["task"] == "regression"
    notes = ["Regression metrics are in the target's own units."] if regression else []
    where = "standard output" if args.output == STDOUT else args.output
    engine = [f"Engine: {history.engine} ({history.engine_reason})."] if history.engine \
        else []
    report.add(_metrics_table(saved["final"], regression), *notes, *engine,
               f"Model written to {where}")
    report_out.write(report.render("text"))
    return 0


def run_evaluate(args, out):
    from descent.tabular import evaluate_table, load_table

    model = load(args.model)
    result = evaluate_table(model, load_table(args.data, memory=args.memory),
                            memory=args.memory)
    report = Report(f"Evaluation of {args.model} on {args.data} ({result['rows']} rows)",
                    data=result)
    if result["task"] == "regression":
        report.add(Table(["metric", "value"], [["MSE", f"{result['mse']:.6g}"],
                                               ["MAE", f"{result['mae']:.6g}"],
                                               ["R2", f"{result['r2']:.4f}"]]))
    else:
        classes = [str(c) for c in result["classes"]]
        report.add(Table(["metric", "value"], [["accuracy", f"{result['accuracy']:.4f}"],
                                               ["error rate", f"{result['error_rate']:.4f}"]]))
        report.add(Table(["true \\ predicted", *classes],
                         [[c, *row] for c, row in zip(classes, result["confusion_matrix"])],
                         caption="Confusion matrix"))
        report.add(Table(["class", "precision", "recall"],
                         [[c, f"{p:.4f}", f"{r:.4f}"] for c, p, r in
                          zip(classes, result["precision"], result["recall"])]))
    out.write(report.render(args.format))
    return 0


def run_predict(args, out):
    import pandas

    from descent.tabular import load_table, predict_blocks, predict_table, table_metadata

    _check_paths([("model file", args.model), ("data file", args.data)],
                 [("predictions file", args.output)])
    _check_parts(args.data, [("predictions file", args.output)])
    model = load(args.model)
    frame = load_table(args.data, memory=args.memory)

    def csv_text(predictions, header=True):
        target = model.metadata["target"]
        if args.proba:
            if target["task"] != "classification":
                raise DescentError("--proba needs a classification model")
            table = pandas.DataFrame(predictions,
                                     columns=[f"p({c})" for c in target["classes"]])
        else:
            table = pandas.DataFrame({target["name"]: predictions})
        return table.to_csv(index=False, header=header)

    if not hasattr(frame, "parts"):  # read whole
        text = csv_text(predict_table(model, frame, proba=args.proba))
        if args.output in (None, STDOUT):
            out.write(text)
        else:
            _write_atomically(args.output, text)
        return 0
    # a table read a block at a time: each block's predictions are written as they are
    # made (to a temporary file renamed at the end, unless to standard output)
    _, target = table_metadata(model)
    if args.proba and target["task"] != "classification":
        raise DescentError("--proba needs a classification model")
    texts = (csv_text(predictions, header=index == 0) for index, predictions in
             enumerate(predict_blocks(model, frame, args.proba, args.memory)))
    if args.output in (None, STDOUT):
        for text in texts:
            out.write(text)
    else:
        write_atomically(args.output, lambda handle: handle.writelines(
            text.encode("utf-8") for text in texts))
    return 0


def _shown(value):
    return f"{value:.4f}" if isinstance(value, float) else json.dumps(value)


def run_info(args, out):
    from descent.tabular import table_metadata

    model = load(args.model)
    metadata = model.metadata
    report = Report(f"Model {args.model}", data=metadata)
    report.add(summary(model))
    if "target" in metadata or "preprocessing" in metadata:
        encoder, target = table_metadata(model)
        line = f"Task: {target['task']}, target column {target['name']!r}"
        if target["task"] == "classification":
            line += f", classes {target['classes']}"
        else:
            line += (f"; the network predicts (y - {target['mean']:.6g}) / "
                     f"{target['scale']:.6g}, y in the target's units")
        report.add(line)
        report.add(Table(["feature", "kind", "preprocessing"], [
            [c["name"], c["kind"], f"(x - {c['mean']:.4g}) / {c['scale']:.4g}"
             if c["kind"] == "numeric" else f"one-hot over {len(c['categories'])} values"]
            for c in encoder.columns]))
    training = metadata.get("training")
    if training is not None:
        if not isinstance(training, dict) or not isinstance(training.get("final", {}), dict):
            raise DescentError(f"{args.model}: the stored training summary is malformed")
        report.add(Table(["training", "value"], [[k, _shown(v)] for k, v in
                                                 training.items() if k != "final"]))
        report.add(Table(["metric of the saved model", "value"],
                         [[k, _shown(v)] for k, v in training.get("final", {}).items()]))
    out.write(report.render("text"))
    return 0


def run_plot(args, out):
    from descent import plot

    plot.check_image_path("image.png" if args.output == STDOUT else args.output)
    _check_paths([("history or model file", args.source), ("data file", args.boundary)],
                 [("image", args.output)])
    if args.boundary:
        import pandas

        from descent.tabular import (encode_features, read_table, table_metadata,
                                     true_class_codes)

        model = load(args.source)
        encoder, target = table_metadata(model)
        names = [c["name"] for c in encoder.columns]
        kinds = [c["kind"] for c in encoder.columns]
        if kinds != ["numeric", "numeric"]:
            raise DescentError(f"--boundary needs a model with two numeric features; "
                               f"{args.source} has {len(kinds)} feature(s) of kinds {kinds}")
        if target["task"] != "classification":
            raise DescentError(f"--boundary draws a classifier's decision regions; "
                               f"{args.source} predicts the number {target['name']!r}")
        frame = read_table(args.boundary)
        encode_features(model, frame)  # the feature columns are there and usable
        codes = true_class_codes(model, frame)  # the points' true classes

        def encode(points):  # points in the columns' own units -> the network's inputs
            return encode_features(model, pandas.DataFrame(points, columns=names))

        _write_output(args.output, lambda path: plot.plot_decision_boundary(
            model, frame[names].to_numpy(dtype=float), codes, path, feature_names=names,
            class_names=target["classes"], encode=encode), out, ".png")
    else:
        history = History.read(args.source)
        drawer = plot.plot_history if args.kind == "loss" else plot.plot_gradient_norms
        _write_output(args.output, lambda path: drawer(history, path), out, ".png")
    if args.output != STDOUT:
        out.write(f"wrote {args.output}\n")
    return 0


def run_explain(args, out):
    if args.list:
        width = max(len(name) for name in EXAMPLES)
        for name, (description, _) in EXAMPLES.items():
            out.write(f"{name.ljust(width)}  {description}\n")
        return 0
    fmt = "beamer" if args.beamer else args.format
    if args.beamer and args.format not in ("text", "beamer"):
        raise DescentError(f"--beamer writes Beamer frames; it cannot be combined with "
                           f"--format {args.format}")
    if args.standalone and fmt not in STANDALONE_FORMATS:
        raise DescentError(f"--standalone makes a whole LaTeX, Beamer or HTML document; "
                           f"--format {fmt} has no standalone form")
    if not 2 <= args.digits <= 15:
        raise DescentError(f"--digits must be from 2 to 15, got {args.digits}")
    if args.round_as_notes and args.digits != 4:
        raise DescentError("--round-as-notes prints the digits the notes print; it cannot be "
                           "combined with --digits")
    if args.example:
        report = build_example(args.example, steps=args.steps, digits=args.digits,
                               round_as_notes=args.round_as_notes)
    else:
        traces = load_spec(args.spec).trace(args.steps)
        report = trace_report(traces, title=f"Backpropagation for {args.spec}",
                              digits=args.digits,
                              rounding=NOTES_ROUNDING if args.round_as_notes else None)
    out.write(report.render(fmt, standalone=args.standalone))
    return 0


def run_exercise(args, out):
    if args.spec and args.format is not None:
        raise DescentError("--spec writes the network as JSON; --format is for the "
                           "question sheet")
    _check_paths([], [("spec file" if args.spec else "exercise sheet", args.output)])
    sheet = exercise.make_exercise(args.seed, layers=args.layers, activation=args.activation,
                             loss=args.loss, steps=args.steps)
    if args.spec:
        text = sheet.spec_json()
    else:
        text = sheet.render(args.format or "text", solutions=args.solutions,
                            standalone=args.standalone)
    if args.output in (None, STDOUT):
        out.write(text)
    else:
        _write_atomically(args.output, text)
    return 0


def run_export(args, out):
    from descent.interop.onnx_export import to_onnx

    proto = to_onnx(args.model, args.output)  # refuses the model file and non-.onnx names
    names = [value.name for value in proto.graph.input]
    inputs = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
    outputs = ", ".join(value.name for value in proto.graph.output)
    out.write(f"Wrote {args.output} (ONNX opset {proto.opset_import[0].version}): inputs "
              f"{inputs}; outputs {outputs}\n")
    return 0


def run_playground(args, out):
    if args.port > 65535:
        raise DescentError(f"--port must be from 0 to 65535, got {args.port}")
    try:
        from descent.playground.server import serve
    except ImportError as error:
        raise DescentError(f"the playground needs its extra ({error.name} is missing): pip "
                           "install 'descent[playground]'") from None
    try:
        serve(args.host, args.port, open_browser=not args.no_browser, out=out)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): the server has shut down cleanly
        pass
    out.write("descent playground: stopped\n")
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict,
            "info": run_info, "plot": run_plot, "explain": run_explain,
            "exercise": run_exercise, "export": run_export, "playground": run_playground}


_SIGNALLED = []  # a SIGTERM arrived during this run


def _terminated(signum, frame):
    _SIGNALLED.append(signum)
    raise KeyboardInterrupt


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line, without the source line Python would show."""
    sys.stderr.write(f"descent: warning: {message}\n")


def main(argv=None, out=None):
    """Run the command line; return the exit status (0 fine, 2 the user's input, 3 an
    internal error, 130 interrupted). Never a traceback, unless ``--debug``."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM ends a run as Ctrl-C does: files being written are cleaned up (signals can
    # only be handled in the main thread)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    _SIGNALLED.clear()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            if args.command == "demo":
                return 0 if demo.main(out=lambda line: out.write(line + "\n")) == 4 else 1
            if args.command in COMMANDS:
                return COMMANDS[args.command](args, out)
    except DescentError as error:
        sys.stderr.write(f"descent: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("descent: interrupted; nothing was written after the last "
                         "completed file\n")
        return 130
    except MemoryError:
        sys.stderr.write("descent: error: not enough memory for this run; use a smaller "
                         "network, fewer rows or a smaller batch\n")
        return 2
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        where = f"cannot use {error.filename}: " if error.filename else ""
        sys.stderr.write(f"descent: error: {where}{error.strerror or error}\n")
        return 2
    except Exception as error:  # noqa: BLE001  (the last line of defence: no traceback)
        if _SIGNALLED and not args.debug:  # what the interruption broke on its way out
            sys.stderr.write("descent: interrupted; nothing was written after the last "
                             f"completed file ({type(error).__name__} on the way out)\n")
            return 130
        if args.debug:
            traceback.print_exc()
        else:
            sys.stderr.write(
                f"descent: internal error: {type(error).__name__}: {error}. This is a bug in "
                "descent, not in your input: please report it on descent's issue tracker "
                "with the command you ran and the traceback that --debug shows "
                f"(descent --debug {args.command} ...)\n")
        return 3
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    parser.print_help(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
