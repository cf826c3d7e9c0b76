"""The ``descent`` command line: a thin face over the library (no maths here).

Every error descent raises becomes one line on stderr and exit status 2; nothing is
written when a command fails.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from descent.teach import demo
from descent._version import __version__
from descent.files.archive import write_atomically
from descent.errors import DescentError
from descent.teach.examples import EXAMPLES, build_example
from descent.teach.explain import explain, load_spec, trace_report
from descent.training.history import History
from descent.files.model import load, save
from descent.nn.summary import summary
from descent.optim.optimizers import OPTIMIZERS
from descent.teach.report import RENDERERS, Report, Table
from descent.autograd.functional import ACTIVATIONS
from descent.losses.functions import LOSSES


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must be integers like 64,32, got "
                                         f"{text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("hidden sizes must be positive integers like 64,32")
    return sizes


def build_parser():
    parser = argparse.ArgumentParser(
        prog="descent",
        description="Train neural networks with gradient descent and backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"descent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a 2-4-1 network on XOR and show it learn")

    train = commands.add_parser(
        "train", help="train a network on a CSV, TSV or Parquet file",
        description="Train an MLP on a table. Numeric columns are standardised and other "
                    "columns one-hot encoded; both are stored in the model file. Without "
                    "DATA, trains on scikit-learn's handwritten digits.")
    train.add_argument("data", nargs="?", metavar="DATA", help="CSV, TSV or Parquet file")
    train.add_argument("--target", help="the column to predict (default: the last one)")
    train.add_argument("--task", choices=["auto", "classification", "regression"],
                       default="auto")
    train.add_argument("--hidden", type=_hidden, default=(64,), metavar="SIZES",
                       help="hidden layer sizes, e.g. 64,32 (default 64)")
    train.add_argument("--activation", choices=sorted(set(ACTIVATIONS) - {"softmax"}),
                       default="relu")
    train.add_argument("--loss", choices=sorted(LOSSES), help="default: cross_entropy for "
                       "classification, mse for regression")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    train.add_argument("--lr", type=float, help="learning rate (default: the optimiser's)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="examples per update (default 32); 0 for batch gradient "
                            "descent")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--validation", type=float, default=0.2,
                       help="held-out fraction (0 for none)")
    train.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                       help="stop when validation loss has not improved for PATIENCE epochs")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    train.add_argument("-o", "--output", default="model.descent", help="model file to write")
    train.add_argument("--plot", metavar="PNG", help="write the loss curves here")
    train.add_argument("--history", metavar="FILE", help="write the history (.csv or .json)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--checkpoint", metavar="FILE",
                       help="save the run's full state here every --checkpoint-every epochs")
    train.add_argument("--checkpoint-every", type=int, default=1, metavar="N")
    train.add_argument("--resume", action="store_true",
                       help="continue from --checkpoint if it exists (same data and options)")

    evaluate = commands.add_parser("evaluate", help="metrics of a model on labelled data")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.add_argument("--format", choices=sorted(RENDERERS), default="text")

    predict = commands.add_parser("predict", help="predict every row of a data file")
    predict.add_argument("model")
    predict.add_argument("data")
    predict.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="class probabilities")

    info = commands.add_parser("info", help="architecture, preprocessing and training summary")
    info.add_argument("model")

    plot = commands.add_parser("plot", help="plot a training history or decision regions")
    plot.add_argument("source", metavar="HISTORY|MODEL",
                      help="a history file (.csv/.json), or a model with --boundary DATA")
    plot.add_argument("-o", "--output", required=True, help="image file to write")
    plot.add_argument("--kind", choices=["loss", "gradients"], default="loss")
    plot.add_argument("--boundary", metavar="DATA", help="plot the model's decision regions "
                      "over this two-feature data")

    explain_parser = commands.add_parser(
        "explain", help="write out one step of backpropagation, number by number",
        description="Show the forward pass, error terms, gradients and updated weights of a "
                    "small network, as the lecture notes do, or one of the notes' examples.")
    source = explain_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", metavar="NAME", help="a built-in example (see --list)")
    source.add_argument("--spec", metavar="FILE.json", help="a network described in JSON")
    source.add_argument("--list", action="store_true", help="list the built-in examples")
    explain_parser.add_argument("--steps", type=int, default=1, help="training steps (1)")
    explain_parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    return parser


# ---------------------------------------------------------------------------- helpers
def _check_writable(path, what="output"):
    """Fail before any work when ``path`` cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise DescentError(f"cannot write the {what} {path}: it is a folder")
    if not folder.is_dir():
        raise DescentError(f"cannot write the {what} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise DescentError(f"cannot write the {what} {path}: folder {folder} is not writable")
    return path


def _write_atomically(path, text):
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


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


def _metrics_table(history):
    last = history.last
    names = [m for m in ("loss", "accuracy", "error_rate", "mse", "mae", "r2")
             if last.get(m) is not None]
    rows = [[name, f"{last[name]:.4f}",
             "" if last.get(f"val_{name}") is None else f"{last[f'val_{name}']:.4f}"]
            for name in names]
    return Table(["metric", "training", "validation"], rows)


# ---------------------------------------------------------------------------- commands
def run_train(args, out):
    from descent.tabular import fit_table, read_table

    output = _check_writable(args.output, "model file")
    if args.resume and not args.checkpoint:
        raise DescentError("--resume needs --checkpoint FILE")
    if args.checkpoint:
        _check_writable(args.checkpoint, "checkpoint")
    for extra, what in ((args.plot, "plot"), (args.history, "history file")):
        if extra:
            _check_writable(extra, what)
    if args.plot:
        from descent.plot import require_matplotlib

        require_matplotlib()
    if args.history and Path(args.history).suffix not in (".csv", ".json"):
        raise DescentError("--history must end in .csv or .json")
    if args.data is None:
        frame, target, description = _builtin_digits()
        target = args.target or target
    else:
        frame = read_table(args.data)
        target = args.target or str(frame.columns[-1])
        description = f"{args.data} ({len(frame)} rows, {frame.shape[1]} columns)"
    out.write(f"Training on {description}; target column {target!r}\n")
    model, history = fit_table(
        frame, target, task=args.task, hidden=args.hidden, activation=args.activation,
        loss=args.loss, optimizer=args.optimizer, lr=args.lr,
        batch_size=args.batch_size, epochs=args.epochs,
        validation=args.validation or None, early_stopping=args.early_stopping,
        seed=args.seed, dropna=args.dropna, progress=False if args.no_progress else None,
        checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
        resume=args.resume)
    model.metadata["training"]["data"] = description
    save(model, output)
    if args.history:
        text = history.to_json() if args.history.endswith(".json") else history.to_csv()
        _write_atomically(args.history, text)
    if args.plot:
        from descent.plot import plot_history

        plot_history(history, args.plot)
    report = Report(f"Trained {len(history)} epochs: {history.stop_reason}")
    report.add(_metrics_table(history), f"Model written to {output}")
    out.write(report.render("text"))
    return 0


def run_evaluate(args, out):
    from descent.tabular import evaluate_table, read_table

    model = load(args.model)
    result = evaluate_table(model, read_table(args.data))
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

    from descent.tabular import predict_table, read_table

    if args.output:
        _check_writable(args.output)
    model = load(args.model)
    frame = read_table(args.data)
    predictions = predict_table(model, frame, proba=args.proba)
    target = model.metadata["target"]
    if args.proba:
        if target["task"] != "classification":
            raise DescentError("--proba needs a classification model")
        table = pandas.DataFrame(predictions,
                                 columns=[f"p({c})" for c in target["classes"]])
    else:
        table = pandas.DataFrame({target["name"]: predictions})
    text = table.to_csv(index=False)
    if args.output:
        _write_atomically(args.output, text)
    else:
        out.write(text)
    return 0


def run_info(args, out):
    model = load(args.model)
    metadata = model.metadata
    report = Report(f"Model {args.model}", data=metadata)
    report.add(summary(model))
    target = metadata.get("target")
    if target:
        line = f"Task: {target['task']}, target column {target['name']!r}"
        if target.get("classes") is not None:
            line += f", classes {target['classes']}"
        report.add(line)
    columns = (metadata.get("preprocessing") or {}).get("columns", [])
    if columns:
        report.add(Table(["feature", "kind", "preprocessing"], [
            [c["name"], c["kind"], f"(x - {c['mean']:.4g}) / {c['scale']:.4g}"
             if c["kind"] == "numeric" else f"one-hot over {len(c['categories'])} values"]
            for c in columns]))
    training = metadata.get("training")
    if training:
        report.add(Table(["training", "value"], [[k, json.dumps(v)] for k, v in
                                                 training.items() if k != "final"]))
        report.add(Table(["final metric", "value"], [[k, f"{v:.4f}"] for k, v in
                                                     training.get("final", {}).items()]))
    out.write(report.render("text"))
    return 0


def run_plot(args, out):
    from descent import plot

    _check_writable(args.output, "image")
    if args.boundary:
        from descent.tabular import encode_features, predict_table, read_table

        model = load(args.source)
        frame = read_table(args.boundary)
        columns = encode_features(model, frame.iloc[:0]).shape[1]
        kinds = [c["kind"] for c in model.metadata["preprocessing"]["columns"]]
        if columns != 2 or kinds != ["numeric", "numeric"]:
            raise DescentError(f"--boundary needs a model with two numeric features; "
                               f"{args.source} has {len(kinds)} feature(s) of kinds {kinds}")
        labels = np.unique(predict_table(model, frame), return_inverse=True)[1]
        plot.plot_decision_boundary(model, encode_features(model, frame), labels, args.output)
    else:
        history = History.read(args.source)
        drawer = plot.plot_history if args.kind == "loss" else plot.plot_gradient_norms
        drawer(history, args.output)
    out.write(f"wrote {args.output}\n")
    return 0


def run_explain(args, out):
    if args.list:
        width = max(len(name) for name in EXAMPLES)
        for name, (description, _) in EXAMPLES.items():
            out.write(f"{name.ljust(width)}  {description}\n")
        return 0
    if args.steps < 1:
        raise DescentError(f"--steps must be at least 1, got {args.steps}")
    if args.example:
        report = build_example(args.example, steps=args.steps)
    else:
        model, x, target, loss, lr, frozen = load_spec(args.spec)
        traces = explain(model, x, target, loss, lr, args.steps, frozen)
        report = trace_report(traces, title=f"Backpropagation for {args.spec}")
    out.write(report.render(args.format))
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict,
            "info": run_info, "plot": run_plot, "explain": run_explain}


def main(argv=None, out=None):
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return 0 if demo.main(out=lambda line: out.write(line + "\n")) == 4 else 1
        if args.command in COMMANDS:
            return COMMANDS[args.command](args, out)
    except DescentError as error:
        sys.stderr.write(f"descent: error: {error}\n")
        return 2
    parser.print_help(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
